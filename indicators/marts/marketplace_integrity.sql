-- marketplace_integrity: one row per seller with orders or reviews on the run date.
-- Parameters: $run_date, $pipeline_version, $schema_version.
WITH cr AS (SELECT * FROM work.ind__integrity__concentrate_rate),
     rb AS (SELECT * FROM work.ind__integrity__rating_burst),
     al AS (SELECT * FROM work.ind__integrity__answer_latency),
     bc AS (SELECT * FROM work.ind__integrity__buyer_concentration),
sellers AS (
    SELECT shop_id, platform, uscc, region_code FROM cr
    UNION SELECT shop_id, platform, uscc, region_code FROM rb
    UNION SELECT shop_id, platform, uscc, region_code FROM al
    UNION SELECT shop_id, platform, uscc, region_code FROM bc
)
SELECT
    $run_date::DATE                          AS dt,
    s.shop_id, s.platform, s.uscc, s.region_code,
    coalesce(cr.orders_on_day, bc.orders_on_day, 0) AS orders_on_day,
    cr.concentrate_rate,
    cr.concentrate_window_orders,
    cr.concentrate_window_buyers,
    cr.concentrate_window_first_at,
    cr.concentrate_window_last_at,
    coalesce(rb.five_star_reviews, 0)         AS five_star_reviews,
    coalesce(rb.reviews_answered, 0)          AS reviews_answered,
    rb.rating_baseline_mean,
    rb.rating_modified_z,
    rb.rating_poisson_p,
    rb.rating_burst_score,
    rb.five_star_share,
    rb.baseline_five_star_share,
    rb.coreviewer_share,
    al.category                              AS latency_category,
    al.latency_reviews::BIGINT AS latency_reviews,
    al.latency_fast::BIGINT AS latency_fast,
    al.latency_before_delivery::BIGINT AS latency_before_delivery,
    al.latency_share,
    al.latency_share_threshold,
    bc.orders_window::BIGINT AS orders_window,
    bc.buyers_window,
    bc.top_buyer_share,
    bc.buyer_hhi,
    coalesce(cr.violates, false)             AS flag_concentrate_rate,
    coalesce(rb.violates, false)             AS flag_rating_burst,
    coalesce(al.violates, false)             AS flag_answer_latency,
    coalesce(bc.violates, false)             AS flag_buyer_concentration,
    -- schema 2: more of the indicators' evidence figures as typed columns
    (rb.evidence ->> 'share_z')::DOUBLE      AS rating_share_z,
    (rb.evidence ->> 'coreviewers')::BIGINT  AS rating_coreviewers,
    (al.evidence ->> 'category_rate_excluding_seller')::DOUBLE AS latency_category_rate,
    (al.evidence ->> 'category_sellers')::BIGINT AS latency_category_sellers,
    (bc.evidence ->> 'top_buyer_orders')::BIGINT AS top_buyer_orders,
    $pipeline_version::VARCHAR               AS pipeline_version,
    $schema_version::INTEGER                 AS schema_version
FROM sellers AS s
LEFT JOIN cr USING (shop_id)
LEFT JOIN rb USING (shop_id)
LEFT JOIN al USING (shop_id)
LEFT JOIN bc USING (shop_id)
ORDER BY s.shop_id
