-- collusion.parallelism: seller pairs of a market cell (same SKU and region) moving prices together far more than
-- control pairs (the same SKU's sellers in other regions). Days on which a large share of the category's sellers
-- move at once (platform campaigns, common cost shocks) are left out. Screen, not a finding.
-- Bounded plan (issue 23): the pairs of a cell grow with the square of its sellers (200 sellers: 19,900 pairs x 28
-- days), but a pair can only be parallel with at least min_matched co-move days (parallel_floor, co_move_days), so
-- only pairs found by a self-join of the price changes are scored, exactly as before; controls are drawn from a pool
-- of about control_pair_pool cross-region pairs (control_sellers, control_pool).
-- Parameters: $run_date, $window_days, $min_change, $common_move_share, $min_events, $par_threshold, $r_threshold,
-- $control_quantile, $max_control_pairs, $max_control_sellers_per_region, $control_pair_pool.
WITH usable_observations AS (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date > $run_date - to_days(CAST($window_days AS INTEGER) + 1)
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
      AND price_type IN ('list', 'promo') AND account_cohort IS NULL
),
daily_groups AS (
    -- min(category), not any_value(): when observations (or a cell's sellers) disagree on the category, every run
    -- picks the same one, so a lead is the same on a rerun of its date (any_value depends on thread timing)
    SELECT shop_id, sku_id, region_code, observed_date AS d, min(category) AS category,
           count(*) AS n_obs, min(price) AS min_price
    FROM usable_observations
    GROUP BY shop_id, sku_id, region_code, observed_date
),
daily_multi AS (
    -- a window, not a GROUP BY: a median() state per group (millions of seller-days) is not spilled; at 30 M
    -- observations a day it wrote 7.6 GB at scale 30 and ran the 30 M day out of its spill budget (50 GB) here.
    -- A window partition is sorted and spills; the same value (docs/BENCHMARKS.md, "Bounded plans")
    SELECT u.shop_id, u.sku_id, u.region_code, u.observed_date AS d,
           median(u.price) OVER (PARTITION BY u.shop_id, u.sku_id, u.region_code, u.observed_date)::DOUBLE AS price
    FROM usable_observations AS u
    SEMI JOIN daily_groups AS g
           ON g.shop_id = u.shop_id AND g.sku_id = u.sku_id AND g.region_code IS NOT DISTINCT FROM u.region_code
          AND g.d = u.observed_date AND g.n_obs > 1
    QUALIFY row_number() OVER (PARTITION BY u.shop_id, u.sku_id, u.region_code, u.observed_date) = 1
),
daily AS (
    SELECT g.shop_id, g.sku_id, g.region_code, g.d, g.category,
           CASE WHEN g.n_obs = 1 THEN g.min_price::DOUBLE ELSE m.price END AS price
    FROM daily_groups AS g
    LEFT JOIN daily_multi AS m
           ON m.shop_id = g.shop_id AND m.sku_id = g.sku_id AND m.region_code IS NOT DISTINCT FROM g.region_code
          AND m.d = g.d
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
parallel_floor AS (
    -- the fewest matched events a parallel pair can have. A parallel pair has PAR > control_par_q >= 0 (a quantile
    -- of PARs in [0, 1]), so matched >= 1 and events >= 1; it is a candidate, so events >= min_events and
    -- matched / events > par_threshold; as events >= m = greatest(1, ceil(min_events)) and matched / events <=
    -- matched / m, matched / m > par_threshold too. The floor is the least such matched (k / m, the very division the
    -- candidate test makes; m + 1 when no k <= m passes, i.e. par_threshold >= 1: no pair can be parallel):
    -- 4 with the defaults (3 / 4 = 0.75 is not above 0.75)
    SELECT coalesce(min(k), min(m) + 1) AS min_matched
    FROM (SELECT greatest(1, ceil(CAST($min_events AS DOUBLE)))::BIGINT AS m) AS e,
         range(1, e.m + 1) AS r(k)
    WHERE k::DOUBLE / e.m > $par_threshold
),
cell_changes AS (
    -- price changes (dir <> 0, so never on a common-move day) of the sellers listed in a cell today, tagged with the
    -- cell: in the window and on the day before it (a change there would match one on the window's first day)
    SELECT l.sku_id, l.region_code, s.shop_id, s.d, s.dir
    FROM steps AS s
    JOIN listings_today AS l ON l.shop_id = s.shop_id AND l.sku_id = s.sku_id
    WHERE s.dir <> 0 AND s.d >= $run_date - to_days(CAST($window_days AS INTEGER))
),
co_move_days AS (
    -- a co-move day of a pair: a day d in the window on which one seller changed price and the other changed in the
    -- same direction on d - 1, d or d + 1 (equi-join on the other seller's change day shifted by -1, 0, +1).
    -- Necessary condition: every matched event of cell_pair_days below is such a day. A matched pair-day d has
    -- dir <> 0 for one seller on d and the same dir for the other on d (dir), d - 1 (dir_prev: only when that step is
    -- the day before) or d + 1 (dir_next: only the day after); steps hold at most one row per seller, SKU and day
    -- (gap_days = 1), so the matched events are distinct co-move days: matched >= min_matched needs at least
    -- min_matched co-move days. The join reads only changes (~5 % of steps), never the pairs that did not co-move.
    SELECT x.sku_id, x.region_code, least(x.shop_id, y.shop_id) AS shop_a, greatest(x.shop_id, y.shop_id) AS shop_b,
           x.d
    FROM cell_changes AS x
    JOIN (SELECT c.*, c.d + o.shift AS d_near FROM cell_changes AS c, (VALUES (-1), (0), (1)) AS o(shift)) AS y
      ON y.sku_id = x.sku_id AND y.region_code = x.region_code AND y.dir = x.dir AND y.d_near = x.d
     AND y.shop_id <> x.shop_id
    WHERE x.d > $run_date - to_days(CAST($window_days AS INTEGER))
),
cell_pair_list AS (
    -- the screened pairs of a cell: those with at least min_matched co-move days (the only ones that can be
    -- parallel); their events, PAR and r are computed exactly below
    SELECT sku_id, shop_a, shop_b, region_code AS region_a, true AS in_cell
    FROM co_move_days
    GROUP BY sku_id, region_code, shop_a, shop_b
    HAVING count(DISTINCT d) >= (SELECT min_matched FROM parallel_floor)
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
control_sellers AS (
    -- the sellers control pairs are drawn from, only for SKUs with a candidate cell pair, in md5 order of the shop id (a
    -- fixed pseudo-random order: the same on every rerun and DuckDB version, whatever the row order), at most
    -- max_control_sellers_per_region of them in a region; k = rank in the SKU, k_region = rank in its region
    SELECT sku_id, shop_id, region_code,
           row_number() OVER (PARTITION BY sku_id ORDER BY md5(shop_id), shop_id, region_code) AS k,
           k_region
    FROM (SELECT sku_id, shop_id, region_code,
                 row_number() OVER (PARTITION BY sku_id, region_code ORDER BY md5(shop_id), shop_id) AS k_region
          FROM listings_today
          WHERE sku_id IN (SELECT sku_id FROM scored_cell_pairs WHERE candidate))
    WHERE k_region <= $max_control_sellers_per_region
),
control_pool AS (
    -- the first sellers whose cross-region pairs reach control_pair_pool: the pairs of all the SKU's sellers grow with
    -- the square of them (3,000 sellers: 4 million pairs to rank), the pool's stay near control_pair_pool. Seller k
    -- is kept while the k - 1 before it have fewer cross-region pairs, ((k - 1)^2 - sum over regions of n_r^2) / 2,
    -- n_r counting region r's sellers among them (the running sum adds k_region^2 - (k_region - 1)^2 = 2 k_region - 1
    -- per seller). A SKU with fewer cross-region pairs (and no more than max_control_sellers_per_region sellers in a
    -- region) keeps all its sellers: its controls are all its cross-region pairs, as when none were left out
    SELECT sku_id, shop_id, region_code
    FROM (SELECT *, sum(2 * k_region - 1) OVER (PARTITION BY sku_id ORDER BY k ROWS UNBOUNDED PRECEDING)
                    - (2 * k_region - 1) AS same_region_sq_before
          FROM control_sellers)
    WHERE ((k - 1) * (k - 1) - same_region_sq_before) / 2 < $control_pair_pool
),
control_pair_list AS (
    -- control pairs: the pool's pairs in different regions
    SELECT a.sku_id, a.shop_id AS shop_a, b.shop_id AS shop_b
    FROM control_pool AS a
    JOIN control_pool AS b ON a.sku_id = b.sku_id AND a.region_code <> b.region_code AND a.shop_id < b.shop_id
    -- at most max_control_pairs per SKU, a fixed sample (md5 of the pair: the same pairs on every rerun and DuckDB
    -- version); each is joined to its 28 days of moves
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
control_spread AS (
    -- the SKU's control quantile as a window over its control pairs, not a quantile_cont() per SKU in `controls`: a
    -- holistic state per group is never spilled, a window partition is sorted and spills; the row_number beside it
    -- keeps it a window (alone, DuckDB would plan it as a GROUP BY again: docs/BENCHMARKS.md, "Bounded plans")
    SELECT sku_id,
           quantile_cont(coalesce(matched_events::DOUBLE / nullif(events, 0), 0), $control_quantile) OVER sku AS control_par_q,
           row_number() OVER (sku ORDER BY shop_a, shop_b) AS pair_rank
    FROM control_pair_stats
    WINDOW sku AS (PARTITION BY sku_id)
),
controls AS (
    SELECT sku_id, count(*) AS control_pairs, min(control_par_q) AS control_par_q
    FROM control_spread GROUP BY sku_id
),
cell_pairs AS (
    SELECT *,
           -- the evidence lists at most 50 parallel pairs of a cell (their count is `parallel_pairs`): ranked here so
           -- that the list is capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans")
           row_number() OVER (PARTITION BY sku_id, region_a, parallel ORDER BY shop_a, shop_b) AS pair_rank
    FROM (SELECT p.*, c.control_pairs, c.control_par_q,
                 coalesce(p.candidate AND p.par > c.control_par_q, false) AS parallel
          FROM scored_cell_pairs AS p LEFT JOIN controls AS c USING (sku_id))
),
cell_sellers AS (
    -- every cell with at least two sellers listed today is screened, whether or not a pair of it moved together
    SELECT sku_id, region_code, count(*) AS sellers FROM listings_today GROUP BY ALL HAVING count(*) >= 2
),
screened_cells AS (
    SELECT sku_id, region_a AS region_code,
           count(*) FILTER (WHERE parallel)           AS parallel_pairs,
           max(par)                                   AS max_par,
           max(r)                                     AS max_r,
           list(json_object('shop_a', shop_a, 'shop_b', shop_b, 'events', events, 'par', round(par, 3), 'r', round(r, 3))
                ORDER BY shop_a, shop_b) FILTER (WHERE parallel AND pair_rank <= 50) AS parallel_pair_list
    FROM cell_pairs
    GROUP BY ALL
),
cells AS (
    -- pairs: all pairs of the cell's sellers listed today, n (n - 1) / 2; max_par and max_r: over the screened
    -- pairs (at least min_matched co-move days, the only ones that can be parallel), max_par 0 and max_r NULL when
    -- the cell has none
    SELECT k.sku_id, k.region_code, k.sellers * (k.sellers - 1) // 2 AS pairs,
           coalesce(p.parallel_pairs, 0)             AS parallel_pairs,
           coalesce(p.max_par, 0)                    AS max_par,
           p.max_r, c.control_pairs, c.control_par_q, p.parallel_pair_list
    FROM cell_sellers AS k
    LEFT JOIN screened_cells AS p ON p.sku_id = k.sku_id AND p.region_code = k.region_code
    LEFT JOIN controls AS c ON c.sku_id = k.sku_id
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
