-- inspection_sample: the 双随机 spot-check draw for the run date (一公开: reproducible from the seed).
-- Strata: tier x region_code of work.mart__merchant_credit_tiers. In each stratum of N firms the first
-- ceil(ratio_tier x N) firms are drawn, in the order: firms not drawn in a published draw of the last
-- $recent_inspection_days days first, then by sha256($seed || ':' || uscc) (hex, ascending).
-- Parameters: $run_date, $seed, $ratio_a..$ratio_d, $recent_inspection_days, $pipeline_version, $schema_version.
WITH firms AS (
    SELECT uscc, company_name, tier, coalesce(region_code, '000000') AS region_code, score
    FROM work.mart__merchant_credit_tiers
),
ratios AS (
    SELECT * FROM (VALUES ('A', CAST($ratio_a AS DECIMAL(9, 6))), ('B', CAST($ratio_b AS DECIMAL(9, 6))),
                          ('C', CAST($ratio_c AS DECIMAL(9, 6))), ('D', CAST($ratio_d AS DECIMAL(9, 6))))
        AS t(tier, sampling_ratio)
),
recent_draws AS (
    -- firms in a draw that was published (meta.published_partitions) in the last 12 months before the run date
    SELECT d.uscc, max(d.dt) AS last_drawn_dt
    FROM meta.inspection_draws AS d
    JOIN meta.published_partitions AS p ON p.mart = 'inspection_sample' AND p.dt = d.dt
    WHERE d.dt < $run_date
      AND d.dt >= $run_date - CAST($recent_inspection_days AS INTEGER)
    GROUP BY d.uscc
),
keyed AS (
    SELECT f.*, r.sampling_ratio,
           sha256($seed || ':' || f.uscc)           AS draw_key,
           rd.last_drawn_dt,
           rd.uscc IS NOT NULL                      AS drawn_last_12m
    FROM firms AS f
    JOIN ratios AS r USING (tier)
    LEFT JOIN recent_draws AS rd USING (uscc)
),
ordered AS (
    SELECT *,
        count(*) OVER (PARTITION BY tier, region_code)                                       AS stratum_size,
        row_number() OVER (PARTITION BY tier, region_code ORDER BY drawn_last_12m, draw_key) AS draw_order
    FROM keyed
),
sized AS (
    SELECT *, CAST(ceil(sampling_ratio * stratum_size) AS BIGINT) AS stratum_sample_size
    FROM ordered
)
SELECT
    $run_date::DATE                  AS dt,
    uscc, company_name, region_code, tier, score,
    CAST(sampling_ratio AS DOUBLE)   AS sampling_ratio,
    stratum_size, stratum_sample_size, draw_order, draw_key,
    drawn_last_12m, last_drawn_dt,
    $seed::VARCHAR                   AS seed,
    $seed_source::VARCHAR            AS seed_source,
    $pipeline_version::VARCHAR       AS pipeline_version,
    $schema_version::INTEGER         AS schema_version
FROM sized
WHERE draw_order <= stratum_sample_size
ORDER BY tier DESC, region_code, draw_order
