-- price.sustained_below_market (低价排挤 proxy): a seller priced below the 10th percentile of its peers (other sellers
-- of the SKU in the same region, same day) on most days of 28, while its share of the cell's orders rises
-- significantly. Parameters: $run_date, $window_days, $peer_quantile, $below_share_threshold, $min_peers, $share_z,
-- $min_orders, $excluded_order_statuses.
-- Enough peers for the percentile: a day counts only with at least max(min_peers, ceil(1 / peer_quantile)) peers.
-- With n peers the interpolated q-quantile sits at rank (n - 1) q; below n = 1 / q it lies between the lowest and
-- the second-lowest peer, i.e. it is the minimum, and an ordinary seller drawn from the same prices falls below it
-- with probability about (1 + (n - 1) q) / (n + 1): 26 % for 4 peers against the 10 % the rule means to single out.
WITH usable_observations AS NOT MATERIALIZED (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date > $run_date - to_days(CAST($window_days AS INTEGER))
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
    -- a window, not a GROUP BY: a median() state per group (millions of groups) is not spilled and ran the step out
    -- of memory, a window partition is sorted and spills; the same value (docs/BENCHMARKS.md, "Bounded plans")
    SELECT u.shop_id, u.sku_id, u.observed_date AS d,
           median(u.price) OVER (PARTITION BY u.shop_id, u.sku_id, u.observed_date)::DOUBLE AS price
    FROM usable_observations AS u
    SEMI JOIN daily_groups AS g ON g.shop_id = u.shop_id AND g.sku_id = u.sku_id AND g.d = u.observed_date AND g.n_obs > 1
    QUALIFY row_number() OVER (PARTITION BY u.shop_id, u.sku_id, u.observed_date) = 1
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
cells AS (
    -- the cell's (SKU x region x day) offers in price order, one list per cell-day. Offers without a shop are
    -- nobody's peers. A cell of fewer than min_peers + 1 offers (min_peers at least 1 / peer_quantile, or of one)
    -- gives nobody peers that are counted.
    SELECT sku_id, region_code, d, count(*) AS n_cell,
           CASE WHEN count(*) > greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9), 1) THEN list_sort(list(price)) END AS prices
    FROM daily
    WHERE shop_id IS NOT NULL AND (sku_id, region_code) IN (SELECT (sku_id, region_code) FROM candidates)
    GROUP BY sku_id, region_code, d
),
cell_positions AS (
    -- peer rank (0-based) of the lower neighbour of each interpolation, as quantile_cont takes it over n_peers values:
    -- floor((n_peers - 1) * q)
    SELECT *, n_cell - 1 AS n_peers,
           floor((n_cell - 2)::DOUBLE * $peer_quantile::DOUBLE)::BIGINT AS lo_q,
           floor((n_cell - 2)::DOUBLE * 0.5)::BIGINT                    AS lo_m
    FROM cells
),
cell_values AS (
    -- a seller's peers are its cell without one offer at its own price. Which one does not matter, and the two
    -- peer values an interpolation reads (ranks lo and lo + 1) depend only on where the seller's price falls against
    -- the cell's ranks lo and lo + 1 (1-based lo + 1, lo + 2): at or below the first, the peers are the cell without
    -- its first offer; above the second, without its last; in between, without the offer at rank lo + 1. So three
    -- peer lists per cell-day stand for every seller of it, and each quantile is quantile_cont's own over a real peer
    -- list, bit for bit (this DuckDB build interpolates doubles with a fused multiply-add, which SQL arithmetic cannot
    -- reproduce), without one list per seller (millions of lists of ~100 prices, up to thousands, at province scale).
    SELECT sku_id, region_code, d, n_peers,
           prices[lo_q + 1] AS q_at_lo, prices[lo_q + 2] AS q_at_hi, prices[lo_m + 1] AS m_at_lo, prices[lo_m + 2] AS m_at_hi,
           list_aggregate(prices[2:], 'quantile_cont', $peer_quantile)                             AS q_low,
           list_aggregate(list_concat(prices[:lo_q + 1], prices[lo_q + 3:]), 'quantile_cont', $peer_quantile) AS q_mid,
           list_aggregate(prices[:-2], 'quantile_cont', $peer_quantile)                           AS q_high,
           list_aggregate(prices[2:], 'median')                                                   AS m_low,
           list_aggregate(list_concat(prices[:lo_m + 1], prices[lo_m + 3:]), 'median')            AS m_mid,
           list_aggregate(prices[:-2], 'median')                                                  AS m_high
    FROM cell_positions
),
seller_day AS (
    -- every offer of a candidate cell in the window with the peer P10 and median of its cell without it (a seller
    -- alone in its cell that day has no peers; cells below min_peers + 1 offers are not counted)
    SELECT p.shop_id, p.sku_id, p.region_code, p.d, p.platform, p.price, v.n_peers,
           CASE WHEN p.price <= v.q_at_lo THEN v.q_low WHEN p.price <= v.q_at_hi THEN v.q_mid ELSE v.q_high END AS peer_p10,
           CASE WHEN p.price <= v.m_at_lo THEN v.m_low WHEN p.price <= v.m_at_hi THEN v.m_mid ELSE v.m_high END AS peer_median
    FROM daily AS p
    JOIN cell_values AS v USING (sku_id, region_code, d)
    WHERE p.shop_id IS NOT NULL
),
below_groups AS (
    -- per seller x SKU x region, kept when it is observed on the run date (the HAVING is the candidates' key, without
    -- joining millions of candidates back). Most such groups have one day in the window (a new listing, or a thin
    -- history): a holistic median per group does not fit a small server's memory, so, as in daily_groups, the medians
    -- are taken only where a group has several values (the median of one value is that value)
    SELECT shop_id, sku_id, region_code,
           any_value(platform) FILTER (WHERE d = $run_date)                     AS platform,
           count(*)                                                             AS n_days,
           count(*) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9)))                        AS days_with_peers,
           count(*) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9)) AND price < peer_p10)   AS days_below,
           min(price)                                                           AS min_price,
           min(peer_p10) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9)))                   AS min_peer_p10,
           min(peer_median) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9)))                AS min_peer_median,
           max(n_peers)                                                         AS max_peers
    FROM seller_day
    GROUP BY shop_id, sku_id, region_code
    HAVING count(*) FILTER (WHERE d = $run_date) > 0
),
below_multi_rows AS (
    -- the groups with several days. Even these are millions of small groups at province scale with history, and
    -- holistic median() states for all of them do not fit a small server's memory either, so the medians are read off
    -- sorted ranks (window sorts spill to disk): the middle value, or for an even count the two middle values
    -- averaged as quantile_cont does (lo * 0.5 + hi * 0.5: both products exact, one rounding, as median() gives)
    SELECT s.shop_id, s.sku_id, s.region_code, s.price, s.peer_p10, s.peer_median,
           s.n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9)) AND s.peer_p10 IS NOT NULL    AS p10_counted,
           s.n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9)) AND s.peer_median IS NOT NULL AS median_counted
    FROM seller_day AS s
    SEMI JOIN below_groups AS g
           ON g.shop_id = s.shop_id AND g.sku_id = s.sku_id AND g.region_code = s.region_code AND g.n_days > 1
),
below_multi_ranked AS (
    SELECT shop_id, sku_id, region_code, price, peer_p10, peer_median, p10_counted, median_counted,
           row_number() OVER (PARTITION BY shop_id, sku_id, region_code ORDER BY price) - 1                 AS r_price,
           count(*) OVER (PARTITION BY shop_id, sku_id, region_code)                                         AS n_price,
           row_number() OVER (PARTITION BY shop_id, sku_id, region_code, p10_counted ORDER BY peer_p10) - 1 AS r_p10,
           count(*) OVER (PARTITION BY shop_id, sku_id, region_code, p10_counted)                            AS n_p10,
           row_number() OVER (PARTITION BY shop_id, sku_id, region_code, median_counted ORDER BY peer_median) - 1 AS r_med,
           count(*) OVER (PARTITION BY shop_id, sku_id, region_code, median_counted)                         AS n_med
    FROM below_multi_rows
),
below_multi AS (
    SELECT shop_id, sku_id, region_code,
           max(price) FILTER (WHERE r_price = (n_price - 1) // 2) * 0.5
             + max(price) FILTER (WHERE r_price = n_price // 2) * 0.5                                        AS median_price,
           max(peer_p10) FILTER (WHERE p10_counted AND r_p10 = (n_p10 - 1) // 2) * 0.5
             + max(peer_p10) FILTER (WHERE p10_counted AND r_p10 = n_p10 // 2) * 0.5                         AS median_peer_p10,
           max(peer_median) FILTER (WHERE median_counted AND r_med = (n_med - 1) // 2) * 0.5
             + max(peer_median) FILTER (WHERE median_counted AND r_med = n_med // 2) * 0.5                   AS median_peer_median
    FROM below_multi_ranked
    GROUP BY shop_id, sku_id, region_code
),
below AS (
    SELECT g.shop_id, g.sku_id, g.region_code, g.platform, g.days_with_peers, g.days_below,
           CASE WHEN g.n_days = 1 THEN g.min_price ELSE m.median_price END                  AS median_price,
           CASE WHEN g.n_days = 1 THEN g.min_peer_p10 ELSE m.median_peer_p10 END            AS median_peer_p10,
           CASE WHEN g.n_days = 1 THEN g.min_peer_median ELSE m.median_peer_median END      AS median_peer_median,
           g.max_peers
    FROM below_groups AS g
    LEFT JOIN below_multi AS m USING (shop_id, sku_id, region_code)
),
sku_orders AS (
    -- orders of the SKU across the province (an online market is not confined to the seller's prefecture),
    -- per seller, in the recent and the prior half of the window
    SELECT i.seller_id AS shop_id, i.product_id AS sku_id,
           count(*) FILTER (WHERE o.order_purchase_timestamp >= $run_date - to_days(CAST($window_days AS INTEGER) // 2 - 1)) AS recent,
           count(*) FILTER (WHERE o.order_purchase_timestamp <  $run_date - to_days(CAST($window_days AS INTEGER) // 2 - 1)) AS prior
    FROM order_items_as_of($run_date) AS i
    JOIN orders_as_of($run_date, purchased_from := $run_date - to_days(CAST($window_days AS INTEGER) - 1)) AS o
      USING (order_id)
    WHERE NOT list_contains($excluded_order_statuses, lower(o.order_status))
      AND i.product_id IN (SELECT sku_id FROM candidates)
    GROUP BY ALL
),
sku_totals AS (
    SELECT sku_id, sum(recent) AS cell_recent, sum(prior) AS cell_prior FROM sku_orders GROUP BY sku_id
),
shares AS (
    -- the candidates that have a cell (the rows of below), with their orders and their SKU's
    SELECT b.*, coalesce(s.recent, 0) AS own_recent, coalesce(s.prior, 0) AS own_prior,
           t.cell_recent, t.cell_prior
    FROM below AS b
    LEFT JOIN sku_orders AS s USING (shop_id, sku_id)
    LEFT JOIN sku_totals AS t USING (sku_id)
),
share_test AS (
    SELECT *,
           own_recent::DOUBLE / nullif(cell_recent, 0) AS share_recent,
           own_prior::DOUBLE / nullif(cell_prior, 0)   AS share_prior,
           -- two-proportion z statistic of the seller's share, recent half against prior half (one-sided test at
           -- alpha = 0.001: share_z >= 3.09)
           (own_recent::DOUBLE / nullif(cell_recent, 0) - own_prior::DOUBLE / nullif(cell_prior, 0)) /
           nullif(sqrt(((own_recent + own_prior)::DOUBLE / nullif(cell_recent + cell_prior, 0))
                       * (1 - (own_recent + own_prior)::DOUBLE / nullif(cell_recent + cell_prior, 0))
                       * (1.0 / nullif(cell_recent, 0) + 1.0 / nullif(cell_prior, 0))), 0) AS share_z
    FROM shares
),
judged AS (
    SELECT s.*, m.uscc,
           s.days_below::DOUBLE / $window_days AS below_share,
           coalesce(s.days_below::DOUBLE / $window_days >= $below_share_threshold
                    AND s.own_recent + s.own_prior >= $min_orders
                    AND s.share_z >= $share_z, false) AS violates
    FROM share_test AS s
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = s.shop_id
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
    -- evidence is what a flag carries to the lead list (indicator_flags); the price_anomalies mart publishes the
    -- figures of every listing in typed columns, so the JSON is built for the flagged rows only (building and
    -- storing it for millions of unflagged listings was a third of this step at province scale)
    CASE WHEN violates THEN json_object(
        'days_below_peer_p10', days_below, 'days_with_peers', days_with_peers, 'window_days', $window_days,
        'median_price', round(median_price, 2), 'median_peer_p10', round(median_peer_p10, 2),
        'median_peer_median', round(median_peer_median, 2), 'max_peers', max_peers,
        'orders_recent', own_recent, 'orders_prior', own_prior, 'cell_orders_recent', cell_recent,
        'cell_orders_prior', cell_prior, 'share_recent', round(share_recent, 4), 'share_prior', round(share_prior, 4),
        'share_z', round(share_z, 3)
    )::VARCHAR END                                         AS evidence,
    days_below, days_with_peers, round(below_share, 4) AS below_share, median_peer_p10,
    round(share_recent, 4) AS share_recent, round(share_prior, 4) AS share_prior, round(share_z, 3) AS share_z, violates
FROM judged
-- no ORDER BY: one row per listing observed on the run date (millions at province scale); a sort of every row with
-- its evidence text does not fit a small server, and the mart and the flags are ordered where they are written
