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
    -- min(), not any_value(): the same platform and region on every rerun when a listing's observations disagree
    SELECT shop_id, sku_id, observed_date AS d, min(platform) AS platform, min(region_code) AS region_code,
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
candidate_cells AS (
    -- the (SKU, region) pairs observed on the run date: only their cells can hold a listing judged below (every day
    -- of a listing is in its own SKU and region), so the rest are not ranked. Taken from the observations of the day,
    -- a superset of the daily rows' pairs, which narrows the work without changing a result
    SELECT DISTINCT sku_id, region_code
    FROM usable_observations
    WHERE observed_date = $run_date AND shop_id IS NOT NULL AND sku_id IS NOT NULL AND region_code IS NOT NULL
),
ranked_offers AS (
    -- every offer of a candidate cell (SKU x region x day) in the window, ranked by price in its cell. Offers without
    -- a shop are nobody's peers; without a SKU or region they have no cell. Windows over the cell, not a price list per
    -- cell joined back to its offers: a window partition is sorted and spills (docs/BENCHMARKS.md, "Bounded plans")
    SELECT shop_id, sku_id, region_code, d, platform, price,
           row_number() OVER (PARTITION BY sku_id, region_code, d ORDER BY price) AS r,
           count(*) OVER (PARTITION BY sku_id, region_code, d)                    AS n_cell
    FROM daily
    WHERE shop_id IS NOT NULL AND sku_id IS NOT NULL AND region_code IS NOT NULL
      AND (sku_id, region_code) IN (SELECT (sku_id, region_code) FROM candidate_cells)
),
cell_positions AS (
    -- peer rank (0-based) of the lower neighbour of each interpolation, as quantile_cont takes it over n_peers values:
    -- floor((n_peers - 1) * q). A cell of fewer than min_peers + 1 offers (min_peers at least 1 / peer_quantile, or of
    -- one) gives nobody peers that are counted
    SELECT *, n_cell - 1 AS n_peers,
           n_cell > greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9), 1) AS enough,
           floor((n_cell - 2)::DOUBLE * $peer_quantile::DOUBLE)::BIGINT AS lo_q,
           floor((n_cell - 2)::DOUBLE * 0.5)::BIGINT                    AS lo_m
    FROM ranked_offers
),
seller_day AS (
    -- every offer of a candidate cell with the peer P10 and median of its cell without it. A seller's peers are its
    -- cell without one offer at its own price. Which one does not matter, and the two peer values an interpolation
    -- reads (ranks lo and lo + 1) depend only on where the seller's price falls against the cell's ranks lo + 1 and
    -- lo + 2 (1-based): at or below the first, the peers are the cell without its first offer; above the second,
    -- without its last; in between, without the offer at rank lo + 2. So three peer sets per cell-day stand for every
    -- seller of it, each a quantile_cont over the cell's window with a FILTER on the rank: quantile_cont's own value
    -- over a real peer set, bit for bit (this DuckDB build interpolates doubles with a fused multiply-add, which SQL
    -- arithmetic cannot reproduce), without one list per seller or per cell
    SELECT shop_id, sku_id, region_code, d, platform, price, n_peers,
           CASE WHEN NOT enough THEN NULL
                WHEN price <= max(price) FILTER (WHERE r = lo_q + 1) OVER cell
                    THEN quantile_cont(price, $peer_quantile) FILTER (WHERE r > 1) OVER cell
                WHEN price <= max(price) FILTER (WHERE r = lo_q + 2) OVER cell
                    THEN quantile_cont(price, $peer_quantile) FILTER (WHERE r <> lo_q + 2) OVER cell
                ELSE quantile_cont(price, $peer_quantile) FILTER (WHERE r < n_cell) OVER cell END AS peer_p10,
           CASE WHEN NOT enough THEN NULL
                WHEN price <= max(price) FILTER (WHERE r = lo_m + 1) OVER cell
                    THEN median(price) FILTER (WHERE r > 1) OVER cell
                WHEN price <= max(price) FILTER (WHERE r = lo_m + 2) OVER cell
                    THEN median(price) FILTER (WHERE r <> lo_m + 2) OVER cell
                ELSE median(price) FILTER (WHERE r < n_cell) OVER cell END AS peer_median
    FROM cell_positions
    WINDOW cell AS (PARTITION BY sku_id, region_code, d)
),
below AS (
    -- per listing (seller x SKU x region) observed on the run date, over its days in the window: one window partition
    -- per listing (sorted, spills) read at its run-date row, instead of groups, a median per group (holistic states
    -- of millions of groups do not spill) and joins back to them. The median of one value is that value
    SELECT shop_id, sku_id, region_code, platform,
           count(*) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9))) OVER listing                      AS days_with_peers,
           count(*) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9)) AND price < peer_p10) OVER listing AS days_below,
           median(price) OVER listing                                                                                                     AS median_price,
           median(peer_p10) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9))) OVER listing              AS median_peer_p10,
           median(peer_median) FILTER (WHERE n_peers >= greatest($min_peers, ceil(1.0 / $peer_quantile - 1e-9))) OVER listing           AS median_peer_median,
           max(n_peers) OVER listing                                                                                                      AS max_peers
    FROM seller_day
    WINDOW listing AS (PARTITION BY shop_id, sku_id, region_code)
    QUALIFY d = $run_date
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
      AND i.product_id IN (SELECT sku_id FROM candidate_cells)
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
