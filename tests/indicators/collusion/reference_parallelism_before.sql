-- Reference fixture (tests/indicators/collusion/test_parallelism_bounded.py): indicators/collusion/parallelism.sql as
-- it was before issue 23 (every pair of a cell enumerated). The bounded SQL must give the same parallel pairs, PAR,
-- r and flags. Not read by the product.
-- collusion.parallelism: seller pairs of a market cell (same SKU and region) moving prices together far more than
-- control pairs (the same SKU's sellers in other regions). Days on which a large share of the category's sellers
-- move at once (platform campaigns, common cost shocks) are left out. Screen, not a finding.
-- Parameters: $run_date, $window_days, $min_change, $common_move_share, $min_events, $par_threshold, $r_threshold,
-- $control_quantile.
WITH usable_observations AS (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date > $run_date - to_days(CAST($window_days AS INTEGER) + 1)
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
      AND price_type IN ('list', 'promo') AND account_cohort IS NULL
),
daily AS (
    SELECT shop_id, sku_id, region_code, observed_date AS d, any_value(category) AS category, median(price)::DOUBLE AS price
    FROM usable_observations
    GROUP BY shop_id, sku_id, region_code, observed_date
),
moves AS (
    SELECT *, ln(price / lag(price) OVER w) AS dlog, d - lag(d) OVER w AS gap_days
    FROM daily
    WINDOW w AS (PARTITION BY shop_id, sku_id ORDER BY d)
),
common_days AS (
    -- a day when at least common_move_share of the category's sellers change price is a platform-wide move
    SELECT category, d FROM moves WHERE dlog IS NOT NULL
    GROUP BY category, d HAVING avg((abs(dlog) > $min_change)::INTEGER) >= $common_move_share
),
steps0 AS (
    SELECT m.shop_id, m.sku_id, m.region_code, m.d, m.dlog,
           CASE WHEN c.d IS NOT NULL THEN 0
                WHEN m.dlog > $min_change THEN 1 WHEN m.dlog < -$min_change THEN -1 ELSE 0 END AS dir,
           c.d IS NOT NULL AS common_day
    FROM moves AS m
    LEFT JOIN common_days AS c ON c.category = m.category AND c.d = m.d
    WHERE m.dlog IS NOT NULL AND m.gap_days = 1
),
steps AS MATERIALIZED (
    SELECT *,
           CASE WHEN d - lag(d) OVER w = 1 THEN lag(dir) OVER w ELSE 0 END  AS dir_prev,
           CASE WHEN lead(d) OVER w - d = 1 THEN lead(dir) OVER w ELSE 0 END AS dir_next
    FROM steps0
    WINDOW w AS (PARTITION BY shop_id, sku_id ORDER BY d)
),
listings_today AS MATERIALIZED (
    SELECT DISTINCT shop_id, sku_id, region_code FROM daily WHERE d = $run_date
),
cell_pair_list AS (
    -- pairs of the SKU's sellers in the same region observed today (the market cell)
    SELECT a.sku_id, a.shop_id AS shop_a, b.shop_id AS shop_b, a.region_code AS region_a, true AS in_cell
    FROM listings_today AS a
    JOIN listings_today AS b ON a.sku_id = b.sku_id AND a.region_code = b.region_code AND a.shop_id < b.shop_id
),
cell_pair_steps AS MATERIALIZED (
    -- each pair with the first seller's days, materialised so that the pair list is joined first: left to itself the
    -- optimizer joined the two sellers' days on (SKU, day) before the pair list, i.e. every pair of the SKU's sellers
    -- in the province x 28 days (120 M rows for 2,000 sellers of one SKU) to keep the few in one region
    SELECT p.sku_id, p.shop_a, p.shop_b, p.in_cell, p.region_a, sa.d, sa.dlog, sa.dir, sa.dir_prev, sa.dir_next
    FROM cell_pair_list AS p
    JOIN steps AS sa ON sa.shop_id = p.shop_a AND sa.sku_id = p.sku_id
    WHERE NOT sa.common_day AND sa.d > $run_date - to_days(CAST($window_days AS INTEGER))
),
cell_pair_days AS (
    SELECT a.sku_id, a.shop_a, a.shop_b, a.in_cell, a.region_a, a.d, a.dlog AS dlog_a, sb.dlog AS dlog_b,
           a.dir AS dir_a, sb.dir AS dir_b,
           -- a move matched by a same-direction move of the other seller within +-1 day
           (a.dir <> 0 AND a.dir IN (sb.dir, sb.dir_prev, sb.dir_next))
           OR (sb.dir <> 0 AND sb.dir IN (a.dir, a.dir_prev, a.dir_next)) AS matched
    FROM cell_pair_steps AS a
    JOIN steps AS sb ON sb.shop_id = a.shop_b AND sb.sku_id = a.sku_id AND sb.d = a.d
),
cell_pair_stats AS (
    SELECT sku_id, shop_a, shop_b, region_a,
           count(*) FILTER (WHERE dir_a <> 0 OR dir_b <> 0)                   AS events,
           count(*) FILTER (WHERE (dir_a <> 0 OR dir_b <> 0) AND matched)     AS matched_events,
           -- rounded (and -0.0 made 0.0): corr sums in thread order, and the last bits (or the sign of an
           -- exact 0) would otherwise differ between runs of the same data
           round(corr(dlog_a, dlog_b), 6) + 0.0                               AS r
    FROM cell_pair_days
    GROUP BY ALL
),
scored_cell_pairs AS MATERIALIZED (
    SELECT *, matched_events::DOUBLE / nullif(events, 0) AS par,
           events >= $min_events AND matched_events::DOUBLE / nullif(events, 0) > $par_threshold
             AND corr_ok AS candidate
    FROM (SELECT *, coalesce(r > $r_threshold, false) AS corr_ok FROM cell_pair_stats)
),
control_pair_list AS (
    -- control pairs (the same SKU's sellers in different regions), only for SKUs with a candidate cell pair
    SELECT a.sku_id, a.shop_id AS shop_a, b.shop_id AS shop_b
    FROM listings_today AS a
    JOIN listings_today AS b ON a.sku_id = b.sku_id AND a.region_code <> b.region_code AND a.shop_id < b.shop_id
    WHERE a.sku_id IN (SELECT sku_id FROM scored_cell_pairs WHERE candidate)
    -- at most max_control_pairs per SKU, a fixed sample (md5 of the pair: the same pairs on every rerun and DuckDB
    -- version): the pairs grow with the square of the SKU's sellers, and each is joined to its 28 days of moves
    QUALIFY row_number() OVER (PARTITION BY a.sku_id ORDER BY md5(a.shop_id || chr(31) || b.shop_id), a.shop_id, b.shop_id)
            <= $max_control_pairs
),
control_pair_steps AS MATERIALIZED (
    -- (the pair list joined first, as for the cell pairs)
    SELECT p.sku_id, p.shop_a, p.shop_b, sa.d, sa.dir, sa.dir_prev, sa.dir_next
    FROM control_pair_list AS p
    JOIN steps AS sa ON sa.shop_id = p.shop_a AND sa.sku_id = p.sku_id
    WHERE NOT sa.common_day AND sa.d > $run_date - to_days(CAST($window_days AS INTEGER))
),
control_pair_stats AS (
    SELECT a.sku_id, a.shop_a, a.shop_b,
           count(*) FILTER (WHERE a.dir <> 0 OR sb.dir <> 0) AS events,
           count(*) FILTER (WHERE (a.dir <> 0 AND a.dir IN (sb.dir, sb.dir_prev, sb.dir_next))
                               OR (sb.dir <> 0 AND sb.dir IN (a.dir, a.dir_prev, a.dir_next))) AS matched_events
    FROM control_pair_steps AS a
    JOIN steps AS sb ON sb.shop_id = a.shop_b AND sb.sku_id = a.sku_id AND sb.d = a.d
    GROUP BY ALL
),
controls AS (
    SELECT sku_id, count(*) AS control_pairs,
           quantile_cont(coalesce(matched_events::DOUBLE / nullif(events, 0), 0), $control_quantile) AS control_par_q
    FROM control_pair_stats GROUP BY sku_id
),
cell_pairs AS (
    SELECT *,
           -- the evidence lists at most 50 parallel pairs of a cell (their count is `parallel_pairs`): ranked here so
           -- that the list is capped inside the aggregate (a cell's pairs grow with the square of its sellers;
           -- docs/BENCHMARKS.md, "Bounded plans")
           row_number() OVER (PARTITION BY sku_id, region_a, parallel ORDER BY shop_a, shop_b) AS pair_rank
    FROM (SELECT p.*, c.control_pairs, c.control_par_q,
                 coalesce(p.candidate AND p.par > c.control_par_q, false) AS parallel
          FROM scored_cell_pairs AS p LEFT JOIN controls AS c USING (sku_id))
),
cells AS (
    SELECT sku_id, region_a AS region_code,
           count(*)                                   AS pairs,
           count(*) FILTER (WHERE parallel)           AS parallel_pairs,
           max(par)                                   AS max_par,
           max(r)                                     AS max_r,
           any_value(control_pairs)                   AS control_pairs,
           any_value(control_par_q)                   AS control_par_q,
           list(json_object('shop_a', shop_a, 'shop_b', shop_b, 'events', events, 'par', round(par, 3), 'r', round(r, 3))
                ORDER BY shop_a, shop_b) FILTER (WHERE parallel AND pair_rank <= 50) AS parallel_pair_list
    FROM cell_pairs
    GROUP BY ALL
)
SELECT
    'market_cell'                                          AS entity_type,
    sku_id || ':' || region_code || ':' || strftime($run_date::DATE, '%G-W%V') AS entity_id,
    NULL::VARCHAR AS platform, NULL::VARCHAR AS shop_id, NULL::VARCHAR AS uscc, sku_id, region_code,
    ($run_date - to_days(CAST($window_days AS INTEGER) - 1))::DATE AS window_start,
    $run_date::DATE                                        AS window_end,
    round(max_par, 4)                                      AS value,
    $par_threshold::DOUBLE                                 AS threshold,
    CASE WHEN parallel_pairs >= 3 THEN 'medium' ELSE 'low' END AS severity,
    parallel_pairs > 0                                     AS flagged,
    json_object(
        'screen', 'parallelism', 'window_days', $window_days, 'pairs', pairs, 'parallel_pairs', parallel_pairs,
        'max_par', round(max_par, 4), 'max_r', round(max_r, 4), 'control_pairs', control_pairs,
        'control_par_quantile', round(control_par_q, 4), 'parallel_pair_list', parallel_pair_list
    )::VARCHAR                                             AS evidence,
    date_trunc('week', $run_date::DATE)::DATE AS week_start, pairs, parallel_pairs, round(max_par, 4) AS max_par,
    round(max_r, 4) AS max_r, control_pairs, round(control_par_q, 4) AS control_par_quantile,
    parallel_pairs > 0 AS violates
FROM cells
ORDER BY entity_id
