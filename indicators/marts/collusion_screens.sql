-- collusion_screens: one row per market cell (sku_id x region_code x ISO week of the run date, across platforms)
-- with the screens' evidence fields. Wording: screens, never a finding of collusion.
-- Parameters: $run_date, $pipeline_version, $schema_version.
WITH v AS (SELECT * FROM work.ind__collusion__variance_screen),
c AS (SELECT * FROM work.ind__collusion__cover_distance),
p AS (SELECT * FROM work.ind__collusion__parallelism),
cells AS (
    SELECT entity_id, sku_id, region_code FROM v
    UNION SELECT entity_id, sku_id, region_code FROM c
    UNION SELECT entity_id, sku_id, region_code FROM p
)
SELECT
    $run_date::DATE                                        AS dt,
    k.entity_id                                            AS cell_id,
    k.sku_id, k.region_code,
    date_trunc('week', $run_date::DATE)::DATE              AS week_start,
    v.category,
    v.n_sellers, round(v.mean_price, 2) AS mean_price, round(v.sd_price, 4) AS sd_price, v.cv, v.price_level,
    round(v.category_cv_median, 5)                         AS category_cv_median,
    round(v.category_cv_low_quantile, 5)                   AS category_cv_low_quantile,
    coalesce(v.flagged, false)                             AS screen_variance,
    c.skewness, c.kurtosis, c.diffp, c.rd, c.rdnor, c.spread,
    round(c.category_rd_high_quantile, 4)                  AS category_rd_high_quantile,
    coalesce(c.flagged, false)                             AS screen_cover_distance,
    round(c.market_rd_median, 4)                           AS market_rd_median,
    (c.evidence ->> 'rd_benchmark')::DOUBLE                AS rd_benchmark,
    p.pairs AS seller_pairs, p.parallel_pairs, p.max_par,
    CASE WHEN isnan(p.max_r) THEN NULL ELSE p.max_r END AS max_r,  -- corr of a flat series is undefined: NULL, not NaN
    p.control_pairs, p.control_par_quantile,
    coalesce(p.flagged, false)                             AS screen_parallelism,
    $pipeline_version::VARCHAR                             AS pipeline_version,
    $schema_version::INTEGER                               AS schema_version
FROM cells AS k
LEFT JOIN v USING (entity_id)
LEFT JOIN c USING (entity_id)
LEFT JOIN p USING (entity_id)
ORDER BY cell_id
