-- entity_matches: how every penalty, list entry and code-less shop that may feed the credit score was
-- tied to a registered legal entity on the run date (by 统一社会信用代码, else by an exact normalised
-- name with a recorded confidence), or why it was not. Unmatched records are listed, never guessed.
-- Reads work.credit__records (indicators/credit/records.sql).
SELECT
    $run_date::DATE              AS dt,
    source, record_key, record_date, removed_date,
    source_uscc, source_uscc_valid, source_name,
    match_method, match_confidence, matched_uscc, name_candidates, unmatched_reason,
    used_in_score,
    source_file, source_row,
    $pipeline_version::VARCHAR   AS pipeline_version,
    $schema_version::INTEGER     AS schema_version
FROM work.credit__records
ORDER BY source, record_key
