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
cell_ranked AS (
    -- the cell's (SKU x region x day) offers in price order: a seller's peers are the cell without it, so the peer
    -- quantiles are read off the cell's order with the seller's own rank left out (no per-seller peer lists: those do
    -- not fit in memory at millions of offers a day). Offers without a shop are nobody's peers.
    SELECT shop_id, sku_id, region_code, d, price,
           row_number() OVER cell_order - 1                                                          AS r,
           count(*) OVER (cell_order ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS n_peers
    FROM daily
    WHERE shop_id IS NOT NULL AND (sku_id, region_code) IN (SELECT (sku_id, region_code) FROM candidates)
    WINDOW cell_order AS (PARTITION BY sku_id, region_code, d ORDER BY price)
),
cell_positions AS (
    -- quantile_cont of the n_peers peer prices interpolates between peer ranks floor and ceil of (n_peers - 1) * q
    SELECT *,
           floor((n_peers - 1)::DOUBLE * $peer_quantile::DOUBLE)::BIGINT AS lo_q,
           ceil((n_peers - 1)::DOUBLE * $peer_quantile::DOUBLE)::BIGINT  AS hi_q,
           floor((n_peers - 1)::DOUBLE * 0.5)::BIGINT                    AS lo_m,
           ceil((n_peers - 1)::DOUBLE * 0.5)::BIGINT                     AS hi_m
    FROM cell_ranked
),
cell_values AS (
    -- peer rank j is cell rank j below the seller and j + 1 from it on: the cell prices at ranks lo, lo + 1, lo + 2
    SELECT sku_id, region_code, d,
           [max(price) FILTER (WHERE r = lo_q), max(price) FILTER (WHERE r = lo_q + 1), max(price) FILTER (WHERE r = lo_q + 2)] AS at_q,
           [max(price) FILTER (WHERE r = lo_m), max(price) FILTER (WHERE r = lo_m + 1), max(price) FILTER (WHERE r = lo_m + 2)] AS at_m
    FROM cell_positions
    GROUP BY sku_id, region_code, d
),
seller_ranks AS (
    SELECT p.shop_id, p.sku_id, p.region_code, p.d, p.price, p.n_peers,
           p.lo_q, p.hi_q, p.lo_m, p.hi_m,
           v.at_q[p.lo_q + (p.lo_q >= p.r)::BIGINT - p.lo_q + 1] AS q_lo,
           v.at_q[p.hi_q + (p.hi_q >= p.r)::BIGINT - p.lo_q + 1] AS q_hi,
           v.at_m[p.lo_m + (p.lo_m >= p.r)::BIGINT - p.lo_m + 1] AS m_lo,
           v.at_m[p.hi_m + (p.hi_m >= p.r)::BIGINT - p.lo_m + 1] AS m_hi
    FROM cell_positions AS p
    JOIN candidates AS k USING (shop_id, sku_id, region_code)
    JOIN cell_values AS v USING (sku_id, region_code, d)
),
seller_day AS (
    -- the P10 interpolation is left to quantile_cont itself (over a stand-in list of n_peers prices with the same two
    -- neighbours at the same ranks: its rounding is not a plain lo + d * (hi - lo)), so the value is bit for bit the
    -- one over the peer list; the median of an even count is the mean of the two middle values, as median() computes
    -- it. A seller alone in its cell that day has no peers.
    SELECT shop_id, sku_id, region_code, d, price, n_peers,
           CASE WHEN n_peers = 0 THEN NULL WHEN lo_q = hi_q THEN q_lo
                ELSE list_aggregate(list_concat(list_resize([q_lo], lo_q + 1, q_lo), list_resize([q_hi], n_peers - lo_q - 1, q_hi)),
                                    'quantile_cont', $peer_quantile) END AS peer_p10,
           CASE WHEN n_peers = 0 THEN NULL WHEN lo_m = hi_m THEN m_lo
                ELSE m_lo * 0.5 + m_hi * 0.5 END AS peer_median
    FROM seller_ranks
),
below AS (
    SELECT shop_id, sku_id, region_code,
           count(*) FILTER (WHERE n_peers >= $min_peers)                        AS days_with_peers,
           count(*) FILTER (WHERE n_peers >= $min_peers AND price < peer_p10)   AS days_below,
           median(price)                                                        AS median_price,
           median(peer_p10) FILTER (WHERE n_peers >= $min_peers)                AS median_peer_p10,
           median(peer_median) FILTER (WHERE n_peers >= $min_peers)             AS median_peer_median,
           max(n_peers)                                                         AS max_peers
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
