-- price_reference_checks: one row per promotion x seller x SKU seen on the run date, checked against the CN 7-day
-- lowest transaction price (price.cn_reference_7d) and the EU 30-day lowest offered price (price.eu_prior_30d).
-- Parameters: $run_date, $pipeline_version, $schema_version.
WITH cn AS (
    SELECT * FROM work.ind__price__cn_reference_7d
),
eu AS (
    SELECT * FROM work.ind__price__eu_prior_30d
)
SELECT
    $run_date::DATE                                        AS dt,
    coalesce(cn.entity_id, eu.entity_id)                   AS promotion_id,
    coalesce(cn.platform, eu.platform)                     AS platform,
    coalesce(cn.shop_id, eu.shop_id)                       AS shop_id,
    coalesce(cn.uscc, eu.uscc)                             AS uscc,
    coalesce(cn.sku_id, eu.sku_id)                         AS sku_id,
    coalesce(cn.region_code, eu.region_code)               AS region_code,
    coalesce(cn.promo_start, eu.promo_start)               AS promo_start,
    coalesce(cn.first_seen_date, eu.first_seen_date)       AS first_seen_date,
    coalesce(cn.reference_price_shown, eu.reference_price_shown) AS reference_price_shown,
    coalesce(cn.promo_price, eu.promo_price)               AS promo_price,
    coalesce(cn.basis_disclosed, eu.basis_disclosed)       AS basis_disclosed,
    cn.lowest_tx_price_7d, cn.tx_count_7d, cn.last_tx_price,
    cn.cn_basis_price, cn.cn_basis_source,
    cn.implied_discount, cn.true_discount_cn, cn.rpi_cn, cn.disc_gap_cn,
    cn.check_status,
    coalesce(cn.violates, false)                           AS flag_cn_reference_7d,
    eu.prior_price_30d, eu.prior_price_source, eu.days_observed_30d,
    eu.announced_reduction, eu.true_reduction_eu, eu.overstatement_eu, eu.eu_check_status,
    coalesce(eu.violates, false)                           AS flag_eu_prior_30d,
    -- schema 3: the date of the 30-day prior price (from the indicator's evidence), typed
    try_cast(eu.evidence ->> 'prior_price_date' AS DATE)   AS prior_price_date,
    $pipeline_version::VARCHAR                             AS pipeline_version,
    $schema_version::INTEGER                               AS schema_version
FROM cn
FULL OUTER JOIN eu USING (entity_id)
ORDER BY promotion_id
