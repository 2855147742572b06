-- credit records: every penalty / list entry / unlinked shop that may feed the credit score on the run
-- date, tied to a registered legal entity (统一社会信用代码) or listed as unmatched with the reason.
-- Written to work.credit__records by indicators/credit/tiers.py; read by the entity_matches and
-- merchant_credit_tiers marts. Not an indicator (no flags).
-- Parameters: $run_date, $penalty_lookback_days, $list_removal_lookback_days, $min_match_confidence,
-- $revoked_status_patterns, $conf_uscc, $conf_name_exact, $conf_name_normalised.
-- Needs mm_nfkc / mm_name_norm (pipelines/ingest/entity.py) and the as-of macros (indicators/macros.sql): every
-- source row is restricted to rows loaded on or before $run_date and events dated on or before it, so a rerun
-- of an old date gives the same answer.
WITH registry_asof AS (
    -- the register as it stood on the run date (latest row per shop loaded by then), without shops
    -- established after it
    SELECT * FROM registry_as_of($run_date)
    WHERE established_date IS NULL OR established_date <= $run_date
),
entity_names AS (
    -- every name a registered entity is known by (one entity may run several shops)
    SELECT DISTINCT uscc,
           mm_nfkc(trim(company_name)) AS name_exact,
           mm_name_norm(company_name)  AS name_key
    FROM registry_asof
    WHERE uscc IS NOT NULL AND company_name IS NOT NULL
),
registered AS (
    SELECT DISTINCT uscc FROM registry_asof WHERE uscc IS NOT NULL
),
source_records AS (
    SELECT 'penalties' AS source, decision_no AS record_key, decision_date AS record_date,
           CAST(NULL AS DATE) AS removed_date,
           party_uscc AS source_uscc, party_uscc_valid AS source_uscc_valid,
           -- a natural person's name is personal data: never carried further
           CASE WHEN coalesce(party_type, '') LIKE '%自然人%' THEN NULL ELSE party_name END AS source_name,
           concat_ws('|', penalty_category, penalty_category_2, penalty_name) AS penalty_category_text,
           CAST(fine_amount_yuan AS DOUBLE) AS fine_amount_yuan,
           len(list_filter($revoked_status_patterns, lambda p: contains(coalesce(status, ''), p))) > 0 AS revoked,
           _file_name AS source_file, _row AS source_row
    FROM penalties_as_of($run_date)
    WHERE decision_date <= $run_date
      AND decision_date > $run_date - CAST($penalty_lookback_days AS INTEGER)
    UNION ALL
    SELECT 'abnormal_operations', uscc || '|' || strftime(listed_date, '%Y-%m-%d'), listed_date,
           CASE WHEN removed_date <= $run_date THEN removed_date END,
           uscc, uscc_valid, company_name, NULL, NULL, false, _file_name, _row
    FROM abnormal_operations_as_of($run_date)
    WHERE listed_date <= $run_date
      AND (removed_date IS NULL OR removed_date > $run_date - CAST($list_removal_lookback_days AS INTEGER))
    UNION ALL
    SELECT 'serious_violations', uscc || '|' || strftime(listed_date, '%Y-%m-%d'), listed_date,
           CASE WHEN removed_date <= $run_date THEN removed_date END,
           uscc, uscc_valid, company_name, NULL, NULL, false, _file_name, _row
    FROM serious_violations_as_of($run_date)
    WHERE listed_date <= $run_date
      AND (removed_date IS NULL OR removed_date > $run_date - CAST($list_removal_lookback_days AS INTEGER))
    UNION ALL
    -- shops in the register without a 统一社会信用代码: listed, and tied to an entity by name if possible
    SELECT 'registry', shop_id, coalesce(established_date, _business_date), NULL,
           NULL, NULL, company_name, NULL, NULL, false, _file_name, _row
    FROM registry_asof
    WHERE uscc IS NULL
),
by_code AS (
    SELECT s.*, g.uscc IS NOT NULL AS code_registered
    FROM source_records AS s
    LEFT JOIN registered AS g ON g.uscc = s.source_uscc
),
name_exact_hits AS (
    SELECT b.source, b.record_key, count(DISTINCT n.uscc) AS n_candidates, min(n.uscc) AS uscc
    FROM by_code AS b
    JOIN entity_names AS n ON n.name_exact = mm_nfkc(trim(b.source_name))
    WHERE NOT b.code_registered
    GROUP BY b.source, b.record_key
),
name_key_hits AS (
    SELECT b.source, b.record_key, count(DISTINCT n.uscc) AS n_candidates, min(n.uscc) AS uscc
    FROM by_code AS b
    JOIN entity_names AS n ON n.name_key = mm_name_norm(b.source_name)
    WHERE NOT b.code_registered
    GROUP BY b.source, b.record_key
),
matched AS (
    SELECT b.*,
        -- a valid code that is not in the register names another entity: never overridden by a name
        b.source_uscc IS NOT NULL AND coalesce(b.source_uscc_valid, false) AND NOT b.code_registered AS code_elsewhere,
        coalesce(e.n_candidates, 0) AS exact_candidates,
        coalesce(k.n_candidates, 0) AS key_candidates,
        e.uscc AS exact_uscc, k.uscc AS key_uscc
    FROM by_code AS b
    LEFT JOIN name_exact_hits AS e USING (source, record_key)
    LEFT JOIN name_key_hits AS k USING (source, record_key)
),
decided AS (
    SELECT *,
        -- two registered entities behind one normalised name: ambiguous, even if the exact text picks one
        CASE WHEN code_registered THEN 'uscc'
             WHEN code_elsewhere THEN 'unmatched'
             WHEN exact_candidates > 1 OR key_candidates > 1 THEN 'unmatched'
             WHEN exact_candidates = 1 THEN 'name_exact'
             WHEN key_candidates = 1 THEN 'name_normalised'
             ELSE 'unmatched' END AS match_method,
        CASE WHEN code_registered THEN NULL
             WHEN code_elsewhere THEN 'uscc_not_in_register'
             WHEN exact_candidates > 1 OR key_candidates > 1 THEN 'ambiguous_name'
             WHEN exact_candidates = 1 OR key_candidates = 1 THEN NULL
             WHEN source_name IS NULL THEN 'no_uscc_no_name'
             ELSE 'name_not_in_register' END AS unmatched_reason
    FROM matched
)
SELECT
    source, record_key, record_date, removed_date, source_uscc, source_uscc_valid, source_name,
    match_method,
    CASE match_method WHEN 'uscc' THEN $conf_uscc WHEN 'name_exact' THEN $conf_name_exact
                      WHEN 'name_normalised' THEN $conf_name_normalised ELSE 0.0 END::DOUBLE AS match_confidence,
    CASE match_method WHEN 'uscc' THEN source_uscc WHEN 'name_exact' THEN exact_uscc
                      WHEN 'name_normalised' THEN key_uscc END AS matched_uscc,
    greatest(exact_candidates, key_candidates)::INTEGER AS name_candidates,
    unmatched_reason,
    penalty_category_text, fine_amount_yuan, revoked,
    match_method <> 'unmatched' AND source <> 'registry' AND NOT revoked
        AND (CASE match_method WHEN 'uscc' THEN $conf_uscc WHEN 'name_exact' THEN $conf_name_exact
                  WHEN 'name_normalised' THEN $conf_name_normalised ELSE 0.0 END) >= $min_match_confidence
        AS used_in_score,
    source_file, source_row
FROM decided
ORDER BY source, record_key
