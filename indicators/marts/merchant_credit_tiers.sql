-- merchant_credit_tiers: one row per registered legal entity (uscc) on the run date, its risk score as
-- the sum of explainable factor contributions, the hard rules, the tier, and the change from the last
-- computed tier. Built by indicators/credit/tiers.py (weights from indicators/credit/config/scoring.yml).
-- Inputs: staging.registry (as of $run_date), work.credit__records (penalties and list entries tied to
-- entities), the leads: meta.credit_flag_history (published indicator_flags, dt < $run_date) and this run's
-- candidate flags (work.mart__indicator_flags, dt = $run_date), and meta.credit_tier_history (published
-- tiers, dt < $run_date), and the 双随机 spot-check results (inspection_results_as_of: loaded and dated by
-- $run_date). The histories are written at publish only (indicators/credit/tiers.py).
WITH registry_asof AS (
    -- the register as it stood on the run date (indicators/macros.sql), without shops established after it
    SELECT * FROM registry_as_of($run_date)
    WHERE established_date IS NULL OR established_date <= $run_date
),
entity_region AS (
    -- the prefecture where most of the entity's shops are registered (ties: the smallest code)
    SELECT uscc, region_code
    FROM (SELECT uscc, region_code, count(*) AS n FROM registry_asof WHERE uscc IS NOT NULL GROUP BY ALL)
    QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY n DESC, region_code NULLS LAST) = 1
),
merchants AS (
    SELECT r.uscc,
           bool_and(coalesce(r.uscc_valid, false))          AS uscc_valid,
           arg_max(r.company_name, (r._business_date, r.shop_id)) AS company_name,
           count(*)                                          AS n_shops,
           min(g.region_code)                                AS region_code
    FROM registry_asof AS r
    JOIN entity_region AS g USING (uscc)
    GROUP BY r.uscc
),
shop_entity AS (
    -- shops of the register, and shops without a code that were tied to an entity by name
    SELECT shop_id, uscc FROM registry_asof WHERE uscc IS NOT NULL
    UNION ALL
    SELECT record_key, matched_uscc FROM work.credit__records
    WHERE source = 'registry' AND matched_uscc IS NOT NULL AND match_confidence >= $min_match_confidence
),
category_points AS (
    SELECT unnest($category_patterns) AS pattern, unnest($category_points) AS points
),
penalties AS (
    SELECT r.matched_uscc AS uscc, r.record_key, r.record_date,
           coalesce(r.fine_amount_yuan, 0) / 10000.0                       AS fine_wan,
           pow(0.5, ($run_date - r.record_date) / $penalty_half_life_days)  AS decay,
           coalesce(max(c.points), $penalty_other_points)                  AS category_points
    FROM work.credit__records AS r
    LEFT JOIN category_points AS c ON contains(coalesce(r.penalty_category_text, ''), c.pattern)
    WHERE r.source = 'penalties' AND r.used_in_score
    GROUP BY ALL
),
penalty_factor AS (
    SELECT uscc,
           count(*)                                                    AS penalties_3y,
           sum(fine_wan) * 10000                                       AS fines_3y_yuan,
           sum(decay * category_points)                                AS contrib_penalties,
           sum(decay * ($fine_log_points * log2(1 + fine_wan)
                        + CASE WHEN fine_wan >= $large_fine_wan THEN $large_fine_points ELSE 0 END)) AS contrib_fines,
           max(record_date)                                            AS last_penalty_date,
           list(record_key ORDER BY record_date DESC, record_key)      AS penalty_ids
    FROM penalties
    GROUP BY uscc
),
list_factor AS (
    SELECT matched_uscc AS uscc,
           bool_or(source = 'abnormal_operations' AND removed_date IS NULL)     AS abnormal_listed,
           bool_or(source = 'abnormal_operations' AND removed_date IS NOT NULL) AS abnormal_removed,
           bool_or(source = 'serious_violations' AND removed_date IS NULL)      AS serious_listed,
           bool_or(source = 'serious_violations' AND removed_date IS NOT NULL)  AS serious_removed,
           list(record_key ORDER BY record_key) FILTER (WHERE source = 'abnormal_operations') AS abnormal_ids,
           list(record_key ORDER BY record_key) FILTER (WHERE source = 'serious_violations')  AS serious_ids
    FROM work.credit__records
    WHERE source IN ('abnormal_operations', 'serious_violations') AND used_in_score
    GROUP BY matched_uscc
),
flags AS (
    -- each lead once (its latest version), tied to the entity by its uscc, else by its shop: the leads
    -- published before the run date and the run's own candidate leads (blocked at the gate with the tiers)
    SELECT coalesce(f.uscc, s.uscc) AS uscc, f.*
    FROM (SELECT * FROM (SELECT * FROM meta.credit_flag_history WHERE dt < $run_date
                         UNION ALL BY NAME
                         SELECT dt, flag_id, indicator_id, family, entity_id, platform, shop_id, uscc,
                                window_start::DATE AS window_start, window_end::DATE AS window_end,
                                value::DOUBLE AS value, threshold::DOUBLE AS threshold, severity
                         FROM work.mart__indicator_flags WHERE dt = $run_date AND flag_id IS NOT NULL)
          WHERE window_end <= $run_date
            AND window_end > $run_date - CAST($flag_lookback_days AS INTEGER)
          QUALIFY row_number() OVER (PARTITION BY flag_id ORDER BY dt DESC) = 1) AS f
    LEFT JOIN shop_entity AS s ON s.shop_id = f.shop_id AND f.uscc IS NULL
),
flag_by_indicator AS (
    SELECT uscc, indicator_id, count(*) AS n,
           max(CASE severity WHEN 'high' THEN $flag_points_high WHEN 'medium' THEN $flag_points_medium
                             ELSE $flag_points_low END) AS points
    FROM flags
    WHERE uscc IS NOT NULL AND indicator_id <> $complaint_indicator
    GROUP BY uscc, indicator_id
),
flag_factor AS (
    SELECT b.uscc,
           count(*)                                  AS flagged_indicators,
           sum(b.n)                                  AS flags_12m,
           sum(b.points) + least($flag_repeat_cap, $flag_repeat_points * (sum(b.n) - count(*))) AS contrib_flags,
           (SELECT list(f.flag_id ORDER BY f.flag_id) FROM flags AS f
            WHERE f.uscc = b.uscc AND f.indicator_id <> $complaint_indicator) AS flag_ids
    FROM flag_by_indicator AS b
    GROUP BY b.uscc
),
complaint_factor AS (
    -- the complaint posterior: the latest rate_posterior lead, as a multiple of its threshold
    SELECT uscc,
           value / nullif(threshold, 0)              AS complaint_ratio,
           $complaint_points * least($complaint_ratio_cap, coalesce(value / nullif(threshold, 0), 1)) AS contrib_complaints,
           flag_id                                   AS complaint_flag_id
    FROM flags
    WHERE uscc IS NOT NULL AND indicator_id = $complaint_indicator
    QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY window_end DESC, dt DESC, flag_id) = 1
),
inspection_results AS (
    -- 双随机 spot-check results of the last 3 years, tied to the entity by its code (the result names the firm
    -- by 统一社会信用代码); the class from the publication wording (indicators/macros.sql)
    SELECT uscc, task_id, inspection_date,
           inspection_result_class(result)                                  AS result_class,
           pow(0.5, ($run_date - inspection_date) / $penalty_half_life_days)  AS decay
    FROM inspection_results_as_of($run_date)
    WHERE inspection_date > $run_date - CAST($inspection_lookback_days AS INTEGER)
),
inspection_factor AS (
    SELECT uscc,
           count(*) FILTER (WHERE result_class = 'fail')         AS inspection_fails_3y,
           count(*) FILTER (WHERE result_class = 'unreachable')  AS inspection_unreachable_3y,
           sum(decay * CASE result_class WHEN 'fail' THEN $inspection_fail_points
                                         WHEN 'unreachable' THEN $inspection_unreachable_points ELSE 0 END)
                                                                 AS contrib_inspections,
           max(inspection_date)                                  AS last_inspection_date,
           list(task_id ORDER BY inspection_date DESC, task_id)
               FILTER (WHERE result_class IN ('fail', 'unreachable')) AS inspection_tasks
    FROM inspection_results
    GROUP BY uscc
),
contributions AS (
    SELECT m.*,
        coalesce(p.penalties_3y, 0)                              AS penalties_3y,
        round(coalesce(p.fines_3y_yuan, 0), 2)                   AS fines_3y_yuan,
        p.last_penalty_date,
        coalesce(l.abnormal_listed, false)                       AS abnormal_listed,
        coalesce(l.abnormal_removed, false) AND NOT coalesce(l.abnormal_listed, false) AS abnormal_removed,
        coalesce(l.serious_listed, false)                        AS serious_listed,
        coalesce(l.serious_removed, false) AND NOT coalesce(l.serious_listed, false) AS serious_removed,
        coalesce(f.flagged_indicators, 0)                        AS flagged_indicators,
        coalesce(f.flags_12m, 0)                                 AS flags_12m,
        round(c.complaint_ratio, 4)                              AS complaint_ratio,
        round(coalesce(p.contrib_penalties, 0), 2)               AS contrib_penalties,
        round(coalesce(p.contrib_fines, 0), 2)                   AS contrib_fines,
        round(CASE WHEN l.abnormal_listed THEN $abnormal_listed_points
                   WHEN l.abnormal_removed THEN $abnormal_removed_points ELSE 0 END, 2) AS contrib_abnormal,
        round(CASE WHEN l.serious_listed THEN $serious_listed_points
                   WHEN l.serious_removed THEN $serious_removed_points ELSE 0 END, 2)   AS contrib_serious,
        round(coalesce(c.contrib_complaints, 0), 2)              AS contrib_complaints,
        round(coalesce(f.contrib_flags, 0), 2)                   AS contrib_flags,
        round(coalesce(i.contrib_inspections, 0), 2)             AS contrib_inspections,
        coalesce(i.inspection_fails_3y, 0)                       AS inspection_fails_3y,
        coalesce(i.inspection_unreachable_3y, 0)                 AS inspection_unreachable_3y,
        i.last_inspection_date,
        coalesce(i.inspection_tasks, [])                         AS inspection_tasks,
        coalesce(p.penalty_ids, [])                              AS penalty_ids,
        coalesce(l.abnormal_ids, [])                             AS abnormal_ids,
        coalesce(l.serious_ids, [])                              AS serious_ids,
        coalesce(f.flag_ids, [])                                 AS flag_ids,
        c.complaint_flag_id
    FROM merchants AS m
    LEFT JOIN penalty_factor AS p USING (uscc)
    LEFT JOIN list_factor AS l USING (uscc)
    LEFT JOIN flag_factor AS f USING (uscc)
    LEFT JOIN complaint_factor AS c USING (uscc)
    LEFT JOIN inspection_factor AS i USING (uscc)
),
scored AS (
    SELECT *,
        round(contrib_penalties + contrib_fines + contrib_abnormal + contrib_serious
              + contrib_complaints + contrib_flags + contrib_inspections, 2) AS score
    FROM contributions
),
tiered AS (
    SELECT *,
        CASE WHEN score >= $cutoff_d THEN 'D' WHEN score >= $cutoff_c THEN 'C'
             WHEN score >= $cutoff_b THEN 'B' ELSE 'A' END AS score_tier,
        CASE WHEN serious_listed THEN 'serious_violation'
             WHEN abnormal_listed THEN 'abnormal_operations' END AS hard_rule
    FROM scored
),
final AS (
    SELECT *,
        CASE WHEN serious_listed THEN 'D'
             WHEN abnormal_listed AND score_tier IN ('A', 'B') THEN 'C'
             ELSE score_tier END AS tier,
        -- the factor that weighs most (ties: the order listed)
        CASE WHEN score = 0 THEN NULL ELSE
            list_reduce([
                {'f': 'serious', 'v': contrib_serious}, {'f': 'abnormal', 'v': contrib_abnormal},
                {'f': 'penalties', 'v': contrib_penalties}, {'f': 'fines', 'v': contrib_fines},
                {'f': 'flags', 'v': contrib_flags}, {'f': 'complaints', 'v': contrib_complaints},
                {'f': 'inspections', 'v': contrib_inspections}],
                lambda a, b: CASE WHEN b.v > a.v THEN b ELSE a END).f END AS top_factor
    FROM tiered
),
previous AS (
    SELECT * FROM meta.credit_tier_history
    WHERE dt < $run_date
    QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY dt DESC) = 1
),
compared AS (
    SELECT t.*,
        p.tier AS previous_tier,
        p.dt   AS previous_dt,
        list_filter([
            {'k': 'penalties',  'prev': p.contrib_penalties,  'cur': t.contrib_penalties},
            {'k': 'fines',      'prev': p.contrib_fines,      'cur': t.contrib_fines},
            {'k': 'abnormal',   'prev': p.contrib_abnormal,   'cur': t.contrib_abnormal},
            {'k': 'serious',    'prev': p.contrib_serious,    'cur': t.contrib_serious},
            {'k': 'complaints', 'prev': p.contrib_complaints, 'cur': t.contrib_complaints},
            {'k': 'flags',      'prev': p.contrib_flags,      'cur': t.contrib_flags},
            -- meta.credit_tier_history keeps no column for it: the score is the sum of the contributions,
            -- so the previous one is what the others leave of the previous score (0 before the factor existed)
            {'k': 'inspections',
             'prev': round(greatest(p.score - (p.contrib_penalties + p.contrib_fines + p.contrib_abnormal
                                               + p.contrib_serious + p.contrib_complaints + p.contrib_flags), 0), 2),
             'cur': t.contrib_inspections}],
            lambda x: p.uscc IS NOT NULL AND abs(x.cur - x.prev) >= 0.005) AS changes,
        p.hard_rule AS previous_hard_rule
    FROM final AS t
    LEFT JOIN previous AS p USING (uscc)
)
SELECT
    $run_date::DATE                 AS dt,
    uscc, uscc_valid, company_name, region_code, n_shops,
    tier, CAST(score AS DOUBLE) AS score, score_tier, hard_rule,
    CASE WHEN hard_rule IS NOT NULL AND tier <> score_tier THEN 'hard_rule:' || hard_rule
         ELSE 'score' END           AS tier_basis,
    top_factor,
    CAST(contrib_penalties AS DOUBLE) AS contrib_penalties, CAST(contrib_fines AS DOUBLE) AS contrib_fines,
    CAST(contrib_abnormal AS DOUBLE) AS contrib_abnormal, CAST(contrib_serious AS DOUBLE) AS contrib_serious,
    CAST(contrib_complaints AS DOUBLE) AS contrib_complaints, CAST(contrib_flags AS DOUBLE) AS contrib_flags,
    CAST(penalties_3y AS INTEGER) AS penalties_3y, CAST(fines_3y_yuan AS DOUBLE) AS fines_3y_yuan, last_penalty_date,
    abnormal_listed, abnormal_removed, serious_listed, serious_removed,
    CAST(flagged_indicators AS INTEGER) AS flagged_indicators, CAST(flags_12m AS INTEGER) AS flags_12m,
    CAST(complaint_ratio AS DOUBLE) AS complaint_ratio,
    previous_tier, previous_dt,
    previous_tier IS NOT NULL AND previous_tier <> tier AS tier_changed,
    -- {factor: [previous contribution, current contribution]} of every factor that moved
    CASE WHEN previous_dt IS NULL THEN NULL ELSE to_json(map_from_entries(
        list_transform(changes, lambda x: {'key': x.k, 'value': [x.prev, x.cur]})))::VARCHAR
    END                             AS changed_factors,
    json_object(
        'penalty_decisions', penalty_ids,
        'abnormal_entries', abnormal_ids,
        'serious_entries', serious_ids,
        'flag_ids', flag_ids,
        'complaint_flag_id', complaint_flag_id,
        'inspection_tasks', inspection_tasks,
        'previous_hard_rule', previous_hard_rule
    )::VARCHAR                      AS evidence,
    -- schema 2: the spot-check results factor (columns added at the end, before pipeline_version)
    CAST(contrib_inspections AS DOUBLE) AS contrib_inspections,
    CAST(inspection_fails_3y AS INTEGER) AS inspection_fails_3y,
    CAST(inspection_unreachable_3y AS INTEGER) AS inspection_unreachable_3y, last_inspection_date,
    $pipeline_version::VARCHAR      AS pipeline_version,
    $schema_version::INTEGER        AS schema_version
FROM compared
ORDER BY uscc
