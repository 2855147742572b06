-- price_reference_checks: one row per promotion x seller x SKU seen on the run date.
-- Parameters: $run_date, $pipeline_version, $schema_version.
WITH cn AS (
    SELECT * FROM work.ind__price__cn_reference_7d
)
SELECT
    $run_date::DATE                  AS dt,
    entity_id                        AS promotion_id,
    platform, shop_id, uscc, sku_id, region_code,
    promo_start, first_seen_date,
    reference_price_shown, promo_price, basis_disclosed,
    lowest_tx_price_7d, tx_count_7d, last_tx_price,
    cn_basis_price, cn_basis_source,
    implied_discount, true_discount_cn, rpi_cn, disc_gap_cn,
    check_status,
    violates                         AS flag_cn_reference_7d,
    $pipeline_version::VARCHAR       AS pipeline_version,
    $schema_version::INTEGER         AS schema_version
FROM cn
ORDER BY promotion_id
