-- discrimination_screens: one row per price-discrimination check of the run date, from both discrimination
-- indicators, with the figures behind them as typed columns (indicator_flags keeps the full evidence JSON).
--   discrimination.loyalty_premium: repeat vs first-time buyers of one SKU, day and channel
--   discrimination.paired_probe:    a cohort's paired-probe prices against control
-- Parameters: $run_date, $pipeline_version, $schema_version.
WITH loyalty AS (
    SELECT * FROM work.ind__discrimination__loyalty_premium
),
probe AS (
    SELECT * FROM work.ind__discrimination__paired_probe
),
probe_cohorts AS (  -- the cohorts of each probe check, out of the evidence JSON
    SELECT entity_id,
           max(TRY_CAST(c ->> 'median_gap' AS DOUBLE))     AS max_cohort_median_gap,
           max(TRY_CAST(c ->> 'rounds' AS INTEGER))        AS max_cohort_rounds,
           max(TRY_CAST(c ->> 'rounds_above' AS INTEGER))  AS max_cohort_rounds_above
    FROM probe, unnest(CAST(evidence -> '$.cohorts[*]' AS JSON[])) AS t(c)
    WHERE evidence IS NOT NULL
    GROUP BY entity_id
),
checks AS (
    SELECT 'discrimination.loyalty_premium' AS indicator_id, entity_type, entity_id, platform, shop_id, uscc,
           sku_id, region_code, window_start, window_end, value, threshold, flagged, severity,
           repeat_orders, first_orders, repeat_median AS repeat_median_price, first_median AS first_median_price,
           NULL::DOUBLE AS noise_gap_quantile, NULL::INTEGER AS control_pairs, NULL::VARCHAR AS cohorts_charged_more,
           NULL::DOUBLE AS max_cohort_median_gap, NULL::INTEGER AS max_cohort_rounds,
           NULL::INTEGER AS max_cohort_rounds_above
    FROM loyalty
    UNION ALL
    SELECT 'discrimination.paired_probe', p.entity_type, p.entity_id, p.platform, p.shop_id, p.uscc,
           p.sku_id, p.region_code, p.window_start, p.window_end, p.value, p.threshold, p.flagged, p.severity,
           NULL::BIGINT, NULL::BIGINT, NULL::DOUBLE, NULL::DOUBLE,
           TRY_CAST(p.evidence ->> 'noise_gap_quantile' AS DOUBLE),
           TRY_CAST(p.evidence ->> 'control_pairs' AS INTEGER),
           array_to_string(list_sort(CAST(p.evidence -> '$.cohorts_charged_more' AS VARCHAR[])), ','),
           pc.max_cohort_median_gap, pc.max_cohort_rounds, pc.max_cohort_rounds_above
    FROM probe p
    LEFT JOIN probe_cohorts pc USING (entity_id)
)
SELECT
    $run_date::DATE              AS dt,
    indicator_id, entity_type, entity_id, platform, shop_id, uscc, sku_id, region_code,
    window_start, window_end, value, threshold,
    coalesce(flagged, false)     AS flagged,
    severity,
    repeat_orders, first_orders, repeat_median_price, first_median_price,
    noise_gap_quantile, control_pairs, cohorts_charged_more,
    max_cohort_median_gap, max_cohort_rounds, max_cohort_rounds_above,
    $pipeline_version::VARCHAR   AS pipeline_version,
    $schema_version::INTEGER     AS schema_version
FROM checks
ORDER BY indicator_id, entity_id
