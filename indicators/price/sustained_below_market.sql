-- price.sustained_below_market (低价排挤 proxy): a seller priced below the 10th percentile of its peers (other sellers
-- of the SKU in the same region, same day) on most days of 28, while its share of the cell's orders rises.
-- Parameters: $run_date, $window_days, $peer_quantile, $below_share_threshold, $min_peers, $share_z, $min_orders,
-- $excluded_order_statuses.
WITH usable_observations AS (
    SELECT *
    FROM staging.price_observations
    WHERE observed_date <= $run_date
      AND observed_date > $run_date - to_days(CAST($window_days AS INTEGER))
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
      AND price_type IN ('list', 'promo') AND account_cohort IS NULL
),
daily_groups AS (
    -- one observation per seller x SKU x day is the rule: the holistic median only where there are several
    -- (a median per group over millions of groups does not fit a small server's memory)
    SELECT shop_id, sku_id, observed_date AS d, any_value(platform) AS platform, any_value(region_code) AS region_code,
           count(*) AS n_obs, min(price) AS min_price
    FROM usable_observations
    GROUP BY shop_id, sku_id, observed_date
),
daily_multi AS (
    SELECT u.shop_id, u.sku_id, u.observed_date AS d, median(u.price)::DOUBLE AS price
    FROM usable_observations AS u
    SEMI JOIN daily_groups AS g ON g.shop_id = u.shop_id AND g.sku_id = u.sku_id AND g.d = u.observed_date AND g.n_obs > 1
    GROUP BY u.shop_id, u.sku_id, u.observed_date
),
daily AS (
    SELECT g.shop_id, g.sku_id, g.d, g.platform, g.region_code,
           CASE WHEN g.n_obs = 1 THEN g.min_price::DOUBLE ELSE m.price END AS price
    FROM daily_groups AS g
    LEFT JOIN daily_multi AS m USING (shop_id, sku_id, d)
),
candidates AS (
    -- sellers observed on the run date
    SELECT DISTINCT shop_id, sku_id, region_code FROM daily WHERE d = $run_date
),
cell_day AS (
    SELECT sku_id, region_code, d, list({'shop_id': shop_id, 'price': price}) AS offers
    FROM daily
    WHERE (sku_id, region_code) IN (SELECT (sku_id, region_code) FROM candidates)
    GROUP BY ALL
),
seller_day AS (
    SELECT dl.shop_id, dl.sku_id, dl.region_code, dl.d, dl.price,
           list_transform(list_filter(c.offers, lambda x: x.shop_id <> dl.shop_id), lambda x: x.price) AS peer_prices
    FROM daily AS dl
    JOIN candidates AS k USING (shop_id, sku_id, region_code)
    JOIN cell_day AS c USING (sku_id, region_code, d)
),
below AS (
    SELECT shop_id, sku_id, region_code,
           count(*) FILTER (WHERE len(peer_prices) >= $min_peers)                                    AS days_with_peers,
           count(*) FILTER (WHERE len(peer_prices) >= $min_peers
                            AND price < list_aggregate(peer_prices, 'quantile_cont', $peer_quantile))  AS days_below,
           median(price)                                                                               AS median_price,
           median(list_aggregate(peer_prices, 'quantile_cont', $peer_quantile)) FILTER (WHERE len(peer_prices) >= $min_peers) AS median_peer_p10,
           median(list_aggregate(peer_prices, 'median')) FILTER (WHERE len(peer_prices) >= $min_peers) AS median_peer_median,
           max(len(peer_prices))                                                                       AS max_peers
    FROM seller_day
    GROUP BY ALL
),
latest_orders AS (
    SELECT *
    FROM staging.olist_orders
    WHERE order_purchase_timestamp < ($run_date + INTERVAL 1 DAY)
      AND order_purchase_timestamp >= $run_date - to_days(CAST($window_days AS INTEGER) - 1)
    QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY _business_date DESC, _row DESC) = 1
),
sku_orders AS (
    -- orders of the SKU across the province (an online market is not confined to the seller's prefecture),
    -- per seller, in the recent and the prior half of the window
    SELECT i.seller_id AS shop_id, i.product_id AS sku_id,
           count(*) FILTER (WHERE o.order_purchase_timestamp >= $run_date - to_days(CAST($window_days AS INTEGER) // 2 - 1)) AS recent,
           count(*) FILTER (WHERE o.order_purchase_timestamp <  $run_date - to_days(CAST($window_days AS INTEGER) // 2 - 1)) AS prior
    FROM staging.olist_order_items AS i
    JOIN latest_orders AS o USING (order_id)
    WHERE NOT list_contains($excluded_order_statuses, lower(o.order_status))
      AND i.product_id IN (SELECT sku_id FROM candidates)
    GROUP BY ALL
),
sku_totals AS (
    SELECT sku_id, sum(recent) AS cell_recent, sum(prior) AS cell_prior FROM sku_orders GROUP BY sku_id
),
shares AS (
    SELECT k.shop_id, k.sku_id, k.region_code,
           coalesce(s.recent, 0) AS own_recent, coalesce(s.prior, 0) AS own_prior,
           t.cell_recent, t.cell_prior
    FROM candidates AS k
    LEFT JOIN sku_orders AS s USING (shop_id, sku_id)
    LEFT JOIN sku_totals AS t USING (sku_id)
),
share_test AS (
    SELECT *,
           own_recent::DOUBLE / nullif(cell_recent, 0) AS share_recent,
           own_prior::DOUBLE / nullif(cell_prior, 0)   AS share_prior,
           -- two-proportion z statistic of the seller's share, recent half against prior half
           (own_recent::DOUBLE / nullif(cell_recent, 0) - own_prior::DOUBLE / nullif(cell_prior, 0)) /
           nullif(sqrt(((own_recent + own_prior)::DOUBLE / nullif(cell_recent + cell_prior, 0))
                       * (1 - (own_recent + own_prior)::DOUBLE / nullif(cell_recent + cell_prior, 0))
                       * (1.0 / nullif(cell_recent, 0) + 1.0 / nullif(cell_prior, 0))), 0) AS share_z
    FROM shares
),
judged AS (
    SELECT b.*, s.own_recent, s.own_prior, s.cell_recent, s.cell_prior, s.share_recent, s.share_prior, s.share_z,
           d.platform, m.uscc,
           b.days_below::DOUBLE / $window_days AS below_share,
           coalesce(b.days_below::DOUBLE / $window_days >= $below_share_threshold
                    AND s.own_recent + s.own_prior >= $min_orders
                    AND s.share_z >= $share_z, false) AS violates
    FROM below AS b
    JOIN share_test AS s USING (shop_id, sku_id, region_code)
    JOIN daily AS d ON d.shop_id = b.shop_id AND d.sku_id = b.sku_id AND d.d = $run_date
    LEFT JOIN staging.dim_merchant AS m ON m.shop_id = b.shop_id
)
SELECT
    'listing'                                              AS entity_type,
    shop_id || ':' || sku_id                               AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    ($run_date - to_days(CAST($window_days AS INTEGER) - 1))::DATE AS window_start,
    $run_date::DATE                                        AS window_end,
    round(below_share, 4)                                  AS value,
    $below_share_threshold::DOUBLE                         AS threshold,
    CASE WHEN below_share >= 0.95 AND share_z >= 2 * $share_z THEN 'high' ELSE 'medium' END AS severity,
    violates                                               AS flagged,
    json_object(
        'days_below_peer_p10', days_below, 'days_with_peers', days_with_peers, 'window_days', $window_days,
        'median_price', round(median_price, 2), 'median_peer_p10', round(median_peer_p10, 2),
        'median_peer_median', round(median_peer_median, 2), 'max_peers', max_peers,
        'orders_recent', own_recent, 'orders_prior', own_prior, 'cell_orders_recent', cell_recent,
        'cell_orders_prior', cell_prior, 'share_recent', round(share_recent, 4), 'share_prior', round(share_prior, 4),
        'share_z', round(share_z, 3)
    )::VARCHAR                                             AS evidence,
    days_below, days_with_peers, round(below_share, 4) AS below_share, median_peer_p10,
    round(share_recent, 4) AS share_recent, round(share_prior, 4) AS share_prior, round(share_z, 3) AS share_z, violates
FROM judged
ORDER BY entity_id
