-- complaints.untimely_response: share of complaints not answered in time, per merchant, over the
-- trailing $window_days days ending on the run date; also the month-to-date handling figures of the
-- complaint_rates mart (timely-response rate, closed, relief/调解成功 rate, in progress).
-- Parameters: $run_date, $window_days, $untimely_share_threshold, $min_untimely, $closed_status_12315,
-- $relief_results_12315, $cfpb_closed_responses, $cfpb_relief_responses.
WITH bounds AS (
    SELECT $run_date::DATE AS run_date,
           date_trunc('month', $run_date::DATE)::DATE AS month_start,
           ($run_date::DATE - ($window_days::INTEGER - 1))::DATE AS window_start
),
registry_asof AS (
    SELECT platform, shop_id, uscc, region_code FROM registry_as_of($run_date)
),
uscc_single_shop AS (
    SELECT uscc, min(shop_id) AS shop_id
    FROM registry_asof WHERE uscc IS NOT NULL
    GROUP BY uscc HAVING count(*) = 1
),
complaints AS (
    -- one row per complaint in the union of the month to date and the trailing window
    SELECT 'complaints_12315' AS source,
           CASE WHEN s.shop_id IS NOT NULL THEN 'shop' ELSE 'enterprise' END AS entity_type,
           coalesce(s.shop_id, c.respondent_uscc, 'unattributed') AS entity_id,
           r.platform, s.shop_id, coalesce(r.uscc, c.respondent_uscc) AS uscc,
           coalesce(r.region_code, c.region_code) AS region_code,
           c.complaint_no AS complaint_id, c.registered_date AS complaint_date,
           c.responded_on_time AS timely,
           -- closed as of the run date: 已办结 with a 办结日期 not after D (a later 办结日期 is still open on D)
           coalesce(list_contains($closed_status_12315, c.handling_status)
                    AND coalesce(c.closed_date, c.registered_date) <= $run_date, false) AS closed,
           coalesce(list_contains($relief_results_12315, c.mediation_result), false) AS relief,
           coalesce(c.economic_loss_recovered_yuan, 0) AS recovered_yuan
    FROM complaints_12315_as_of($run_date) AS c
    CROSS JOIN bounds AS b
    LEFT JOIN uscc_single_shop AS u ON u.uscc = c.respondent_uscc
    CROSS JOIN LATERAL (SELECT coalesce(nullif(trim(c.shop_id), ''), u.shop_id) AS shop_id) AS s
    LEFT JOIN registry_asof AS r ON r.shop_id = s.shop_id
    WHERE c.registered_date >= least(b.month_start, b.window_start)
    UNION ALL
    -- CFPB: "In progress" and "Untimely response" are not closed; legacy labels mapped by the lists in the yml
    SELECT 'cfpb_complaints', 'company', f.company, NULL, NULL, NULL, NULL,
           f.complaint_id, f.date_received, f.timely,
           coalesce(list_contains($cfpb_closed_responses, f.company_response), false),
           coalesce(list_contains($cfpb_relief_responses, f.company_response), false),
           0
    FROM cfpb_complaints_as_of($run_date) AS f
    CROSS JOIN bounds AS b
    WHERE f.date_received >= least(b.month_start, b.window_start)
),
per_entity AS (
    SELECT c.source, c.entity_type, c.entity_id,
           min(c.platform) AS platform, min(c.shop_id) AS shop_id, mode(c.uscc ORDER BY c.uscc) AS uscc,
           mode(c.region_code ORDER BY c.region_code) AS region_code,
           -- trailing window (the flag)
           count(*) FILTER (WHERE c.complaint_date >= b.window_start)                                   AS window_complaints,
           count(c.timely) FILTER (WHERE c.complaint_date >= b.window_start)                            AS window_timely_known,
           count(*) FILTER (WHERE c.complaint_date >= b.window_start AND NOT c.timely)                  AS window_untimely,
           list(c.complaint_id ORDER BY c.complaint_id)
               FILTER (WHERE c.complaint_date >= b.window_start AND NOT c.timely AND c.untimely_rank <= 20) AS untimely_ids,
           -- month to date (the mart)
           count(*) FILTER (WHERE c.complaint_date >= b.month_start)                                    AS mtd_complaints,
           count(c.timely) FILTER (WHERE c.complaint_date >= b.month_start)                             AS timely_known,
           count(*) FILTER (WHERE c.complaint_date >= b.month_start AND c.timely)                       AS timely_responses,
           count(*) FILTER (WHERE c.complaint_date >= b.month_start AND NOT c.timely)                   AS untimely_responses,
           count(*) FILTER (WHERE c.complaint_date >= b.month_start AND c.closed)                       AS closed_complaints,
           count(*) FILTER (WHERE c.complaint_date >= b.month_start AND c.closed AND c.relief)          AS relief_complaints,
           count(*) FILTER (WHERE c.complaint_date >= b.month_start AND NOT c.closed)                   AS open_complaints,
           sum(c.recovered_yuan) FILTER (WHERE c.complaint_date >= b.month_start AND c.closed)          AS recovered_yuan
    FROM (SELECT c.*, row_number() OVER (PARTITION BY c.source, c.entity_type, c.entity_id,
                                                   c.complaint_date >= b.window_start AND NOT c.timely
                                         ORDER BY c.complaint_id) AS untimely_rank
          FROM complaints AS c CROSS JOIN bounds AS b) AS c  -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    CROSS JOIN bounds AS b
    GROUP BY c.source, c.entity_type, c.entity_id
),
judged AS (
    SELECT *,
           window_untimely / nullif(window_timely_known, 0)::DOUBLE AS untimely_share,
           coalesce(window_untimely >= $min_untimely
                    AND window_untimely / nullif(window_timely_known, 0)::DOUBLE >= $untimely_share_threshold, false) AS violates,
           -- coverage (the complaint_rates mart; pipelines/serve/bulletin/coverage.py counts 'insufficient_complaints'):
           -- with fewer than required_answers = ceil(min_untimely / threshold) answers known, a late share at the
           -- threshold has fewer than min_untimely late answers, so the rule cannot judge it. 'checked': enough
           -- answers, or min_untimely late ones (the share then decides); 'insufficient_complaints': the share is at
           -- or above the threshold on the answers there are, but they are too few; 'few_complaints': too few
           -- answers and the share below the threshold
           ceil($min_untimely::DOUBLE / $untimely_share_threshold - 1e-9)::INTEGER AS required_answers,
           CASE WHEN window_untimely >= $min_untimely
                     OR window_timely_known >= ceil($min_untimely::DOUBLE / $untimely_share_threshold - 1e-9) THEN 'checked'
                WHEN window_timely_known > 0
                     AND window_untimely / window_timely_known::DOUBLE >= $untimely_share_threshold THEN 'insufficient_complaints'
                ELSE 'few_complaints' END AS judgement_status
    FROM per_entity
)
SELECT
    entity_type, entity_id, platform, shop_id, uscc, NULL::VARCHAR AS sku_id, region_code,
    b.window_start                                     AS window_start,
    b.run_date                                         AS window_end,
    round(untimely_share, 4)                           AS value,
    $untimely_share_threshold::DOUBLE                  AS threshold,
    CASE WHEN untimely_share >= 2 * $untimely_share_threshold THEN 'high' ELSE 'medium' END AS severity,
    violates                                           AS flagged,
    json_object(
        'window', json_array(strftime(b.window_start, '%Y-%m-%d'), strftime(b.run_date, '%Y-%m-%d')),
        'complaints', window_complaints,
        'timely_known', window_timely_known,
        'untimely', window_untimely,
        'untimely_share', round(untimely_share, 4),
        'untimely_complaint_ids', coalesce(untimely_ids, [])
    )::VARCHAR                                         AS evidence,
    -- mart detail columns (month to date)
    source, b.month_start AS month, window_complaints, window_timely_known, window_untimely, untimely_share,
    mtd_complaints, timely_known, timely_responses, untimely_responses,
    timely_responses / nullif(timely_known, 0)::DOUBLE AS timely_rate,
    closed_complaints, relief_complaints,
    relief_complaints / nullif(closed_complaints, 0)::DOUBLE AS relief_rate,
    open_complaints, recovered_yuan, judgement_status, required_answers, violates
FROM judged
CROSS JOIN bounds AS b
ORDER BY source, entity_id
