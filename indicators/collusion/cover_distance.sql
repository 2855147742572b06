-- collusion.cover_distance: the gap between the two lowest prices of a market cell is large against the gaps among
-- the rest (cover pricing: the others price just above an agreed "winner"). Screen, not a finding.
-- Parameters: $run_date, $history_weeks, $min_sellers, $diffp_threshold, $rdnor_threshold, $rd_ratio, $rd_quantile (evidence
-- only), $min_history_cells, $campaign_promo_share, $cover_weeks, $markup_tolerance.
-- Benchmark: RD is scale-free (a ratio of price gaps), so the cell's RD is judged against rd_ratio x the MEDIAN RD of all
-- other cells of the province in the history weeks: hundreds of cells, so a few planted or promotion-priced cells cannot
-- drag it (a high quantile of one category's few dozen cells is their maximum, set by any pocket in the category).
WITH usable_observations AS (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date >= date_trunc('week', $run_date::DATE) - to_days(7 * CAST($history_weeks AS INTEGER))
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
      AND price_type IN ('list', 'promo') AND account_cohort IS NULL
),
daily_all AS (
    -- min(category), not any_value(): when observations (or a cell's sellers) disagree on the category, every run
    -- picks the same one, so a lead is the same on a rerun of its date (any_value depends on thread timing)
    -- one offered price per seller x SKU x region x day: the median of its observations that day, read off the
    -- group's window partition at one row. A window partition is sorted and spills; a median() state per group
    -- (millions of groups) does not (docs/BENCHMARKS.md, "Bounded plans")
    SELECT shop_id, sku_id, region_code, observed_date AS d,
           min(category) OVER day_group                AS category,
           (median(price) OVER day_group)::DOUBLE            AS price,
           bool_or(price_type = 'promo') OVER day_group      AS on_promo
    FROM usable_observations
    WINDOW day_group AS (PARTITION BY shop_id, sku_id, region_code, observed_date)
    QUALIFY row_number() OVER day_group = 1
),
campaign_days AS (
    -- a day when a large share of the category's sellers is on promotion at once is a platform campaign (双11, 618
    -- and their run-in days): a platform-wide move, not a cell's own pricing
    SELECT category, d, avg(on_promo::INTEGER) AS promo_share
    FROM daily_all
    GROUP BY category, d
    HAVING avg(on_promo::INTEGER) >= $campaign_promo_share
),
daily AS (
    -- campaign promotion prices are left out; the sellers' own (list) prices on those days stay in
    SELECT a.* FROM daily_all AS a
    WHERE NOT (a.on_promo AND (a.category, a.d) IN (SELECT (category, d) FROM campaign_days))
),
seller_week AS (
    -- the seller's price in the week: the median of its daily prices, a window over the seller-week as daily_all
    SELECT shop_id, sku_id, region_code, week_start,
           min(category) OVER seller_week_group AS category,
           median(price) OVER seller_week_group       AS price
    FROM (SELECT *, date_trunc('week', d)::DATE AS week_start FROM daily)
    WINDOW seller_week_group AS (PARTITION BY shop_id, sku_id, region_code, week_start)
    QUALIFY row_number() OVER seller_week_group = 1
),
cell_prices AS (
    -- the cell's prices, sorted after aggregation (list_sort): an aggregate with its own ORDER BY keeps a sort state
    -- per cell that DuckDB cannot spill. Mean and sd over the sorted list: a fixed summation order gives the same
    -- bytes on every run. One cell's sellers in one week: bounded by the market, not by the history. The cells of
    -- the current week and of the cover_weeks - 1 weeks before it (the rounds) also carry their sellers in (price,
    -- shop) order: only these weeks carry shop lists
    SELECT sku_id, region_code, week_start, min(category) AS category, count(*) AS n_sellers,
           list_sort(list(price)) AS prices,
           list_sort(list({'price': price, 'shop_id': shop_id}) FILTER (
               WHERE week_start >= date_trunc('week', $run_date::DATE) - to_days(7 * (CAST($cover_weeks AS INTEGER) - 1))
           )) AS offers
    FROM seller_week
    GROUP BY sku_id, region_code, week_start
),
cells AS (
    SELECT sku_id, region_code, week_start, category, n_sellers,
           list_aggregate(prices, 'avg') AS mean_price, list_aggregate(prices, 'stddev_samp') AS sd_price, prices, offers
    FROM cell_prices
),
scored_cells AS (
    SELECT c.*, c.sd_price / c.mean_price AS cv,
           c.prices[1] AS p1, c.prices[2] AS p2, c.prices[c.n_sellers] AS pn,
           (c.prices[2] - c.prices[1]) / c.prices[1]                                             AS diffp,
           (c.prices[2] - c.prices[1]) / nullif(list_aggregate(c.prices[2:], 'stddev_samp'), 0)    AS rd,
           (c.prices[2] - c.prices[1]) / nullif((c.prices[c.n_sellers] - c.prices[1]) / (c.n_sellers - 1), 0) AS rdnor,
           (c.prices[c.n_sellers] - c.prices[1]) / c.prices[1]                                   AS spread,
           list_aggregate(c.prices, 'skewness')                                                  AS skewness,
           list_aggregate(c.prices, 'kurtosis')                                                  AS kurtosis
    FROM cells AS c
    WHERE c.n_sellers >= $min_sellers
),
round_cells AS (
    -- prices and shop_ids in the same order (offers sort on price first): shop_ids[i] sells at prices[i]. cover_weeks
    -- - 1 <= history_weeks, so the rounds are scored cells
    SELECT s.* EXCLUDE (offers), list_transform(s.offers, lambda x: x.shop_id) AS shop_ids,
           s.offers[1].shop_id AS lowest_shop_id
    FROM scored_cells AS s
    WHERE s.offers IS NOT NULL
),
current_cells AS (
    SELECT * FROM round_cells WHERE week_start = date_trunc('week', $run_date::DATE)
),
history AS (
    -- the scored cells of the weeks before the current one, ranked by RD over the province and within the category
    -- (rows without an RD last): each benchmark is read off these ranks once, with the current cell's own rows left
    -- out, instead of joining every current cell to every history cell (that does not fit in memory at scale)
    SELECT sku_id, region_code, category, rd,
           row_number() OVER (ORDER BY rd NULLS LAST) - 1                        AS rk,
           row_number() OVER (PARTITION BY category ORDER BY rd NULLS LAST) - 1  AS rk_cat
    FROM scored_cells
    WHERE week_start < date_trunc('week', $run_date::DATE)
),
history_totals AS (
    SELECT count(*) AS n_rows, count(rd) AS n_rd FROM history
),
category_totals AS (
    SELECT category, count(*) AS n_rows, count(rd) AS n_rd FROM history WHERE category IS NOT NULL GROUP BY category
),
own_history AS (
    -- the history rows a current cell leaves out: its own (same SKU and region; a NULL key compares as unknown, so
    -- such rows are left out too, as the NOT (... = ... AND ... = ...) join condition does)
    SELECT c.sku_id, c.region_code, c.category AS current_category, h.category, h.rd, h.rk, h.rk_cat
    FROM current_cells AS c
    JOIN history AS h ON h.sku_id = c.sku_id AND h.region_code = c.region_code
    UNION ALL
    SELECT c.sku_id, c.region_code, c.category AS current_category, h.category, h.rd, h.rk, h.rk_cat
    FROM current_cells AS c
    JOIN (SELECT * FROM history WHERE sku_id IS NULL OR region_code IS NULL) AS h
      ON coalesce(h.sku_id = c.sku_id, true) AND coalesce(h.region_code = c.region_code, true)
),
market_excluded AS (
    -- rank i (0-based) of the remaining RDs is rank i + #{own rank g : g <= i} of all, with g = own rank minus the own
    -- rows ranked before it
    SELECT sku_id, region_code, count(*) AS own_rows, count(rd) AS own_rd,
           list(g) FILTER (WHERE rd IS NOT NULL) AS gs
    FROM (SELECT *, rk - (row_number() OVER (PARTITION BY sku_id, region_code ORDER BY rk) - 1) AS g FROM own_history)
    GROUP BY sku_id, region_code
),
market_positions AS (
    SELECT c.sku_id, c.region_code, t.n_rd - coalesce(e.own_rd, 0) AS n_cells, coalesce(e.gs, []) AS gs,
           floor((t.n_rd - coalesce(e.own_rd, 0) - 1)::DOUBLE * 0.5)::BIGINT AS lo,
           ceil((t.n_rd - coalesce(e.own_rd, 0) - 1)::DOUBLE * 0.5)::BIGINT  AS hi
    FROM current_cells AS c
    CROSS JOIN history_totals AS t
    LEFT JOIN market_excluded AS e USING (sku_id, region_code)
    WHERE t.n_rows - coalesce(e.own_rows, 0) > 0
),
market_history AS (
    -- RD of every OTHER cell of the province in the weeks before the current one: the robust benchmark (median:
    -- the mean of the two middle values, as median() computes it)
    SELECT p.sku_id, p.region_code, p.n_cells AS market_history_cells,
           CASE WHEN p.n_cells = 0 THEN NULL WHEN p.lo = p.hi THEN a.rd ELSE a.rd * 0.5 + b.rd * 0.5 END AS rd_median
    FROM market_positions AS p
    LEFT JOIN history AS a ON a.rk = p.lo + len(list_filter(p.gs, lambda x: x <= p.lo))
    LEFT JOIN history AS b ON b.rk = p.hi + len(list_filter(p.gs, lambda x: x <= p.hi))
),
category_excluded AS (
    SELECT sku_id, region_code, count(*) AS own_rows, count(rd) AS own_rd,
           list(g) FILTER (WHERE rd IS NOT NULL) AS gs
    FROM (SELECT *, rk_cat - (row_number() OVER (PARTITION BY sku_id, region_code ORDER BY rk_cat) - 1) AS g
          FROM own_history WHERE category = current_category)
    GROUP BY sku_id, region_code
),
category_positions AS (
    SELECT c.sku_id, c.region_code, c.category, t.n_rd - coalesce(e.own_rd, 0) AS n_cells, coalesce(e.gs, []) AS gs,
           floor((t.n_rd - coalesce(e.own_rd, 0) - 1)::DOUBLE * $rd_quantile::DOUBLE)::BIGINT AS lo,
           (t.n_rd - coalesce(e.own_rd, 0) - 1)::DOUBLE * $rd_quantile::DOUBLE
             - floor((t.n_rd - coalesce(e.own_rd, 0) - 1)::DOUBLE * $rd_quantile::DOUBLE)     AS frac,
           ceil((t.n_rd - coalesce(e.own_rd, 0) - 1)::DOUBLE * $rd_quantile::DOUBLE)::BIGINT  AS hi
    FROM current_cells AS c
    JOIN category_totals AS t ON t.category = c.category
    LEFT JOIN category_excluded AS e USING (sku_id, region_code)
    WHERE t.n_rows - coalesce(e.own_rows, 0) > 0
),
category_history AS (
    -- RD of the category's OTHER cells in the weeks before the current one (evidence: the category's high quantile);
    -- the two neighbours are interpolated as quantile_cont does, (1 - f) * lo + f * hi with f the fraction of
    -- (n - 1) * q (DuckDB fuses that multiply-add, so the last bit can differ: evidence only; a stand-in list of n
    -- values per cell for quantile_cont itself cost seconds and GBs outside DuckDB's memory limit at province scale)
    SELECT p.sku_id, p.region_code, p.n_cells AS history_cells,
           CASE WHEN p.n_cells = 0 THEN NULL WHEN p.lo = p.hi THEN a.rd
                ELSE (1 - p.frac) * a.rd + p.frac * b.rd END AS rd_high_quantile
    FROM category_positions AS p
    LEFT JOIN history AS a ON a.category = p.category AND a.rk_cat = p.lo + len(list_filter(p.gs, lambda x: x <= p.lo))
    LEFT JOIN history AS b ON b.category = p.category AND b.rk_cat = p.hi + len(list_filter(p.gs, lambda x: x <= p.hi))
),
rounds AS (
    -- the cell's earlier rounds: each of the cover_weeks - 1 weeks before the current one, with every cover's price
    -- relative to the winner's then (NULL when the cover did not sell in the cell that week)
    SELECT c.sku_id, c.region_code, h.week_start, h.lowest_shop_id, h.n_sellers, h.diffp, h.rd, h.rdnor, m.rd_median,
           list_transform(list_zip(c.shop_ids[2:], c.prices[2:]),
                          lambda x: abs(h.prices[list_position(h.shop_ids, x[1])] / h.p1 - x[2] / c.p1)) AS markup_moves
    FROM current_cells AS c
    JOIN market_history AS m ON m.sku_id = c.sku_id AND m.region_code IS NOT DISTINCT FROM c.region_code
    JOIN round_cells AS h
      ON h.sku_id = c.sku_id AND h.region_code IS NOT DISTINCT FROM c.region_code AND h.week_start < c.week_start
),
held_rounds AS (
    -- a round holds the arrangement when the same seller was the lowest (the designated winner), the cell had the
    -- cover shape against the same benchmark as this week, and every one of this week's covers sold in the cell at
    -- the same markup over the winner (within markup_tolerance). A cover arrangement keeps its roles and distances
    -- round after round; a chance alignment of independent prices moves as soon as one of them reprices
    SELECT r.sku_id, r.region_code,
           count(*) FILTER (WHERE r.lowest_shop_id = c.lowest_shop_id AND r.diffp > $diffp_threshold
                                  AND r.rdnor > $rdnor_threshold AND r.rd > $rd_ratio * r.rd_median
                                  AND len(list_filter(r.markup_moves, lambda v: v <= $markup_tolerance))
                                      = c.n_sellers - 1) AS held_rounds,
           list_sort(list({'week': strftime(r.week_start, '%G-W%V'), 'lowest_shop_id': r.lowest_shop_id,
                           'n_sellers': r.n_sellers, 'diffp': round(r.diffp, 4), 'rd': round(r.rd, 4),
                           'rdnor': round(r.rdnor, 4), 'max_markup_move': round(list_max(r.markup_moves), 4),
                           'covers_seen': len(list_filter(r.markup_moves, lambda v: v IS NOT NULL))})) AS earlier_rounds
    FROM rounds AS r
    JOIN current_cells AS c ON c.sku_id = r.sku_id AND c.region_code IS NOT DISTINCT FROM r.region_code
    GROUP BY r.sku_id, r.region_code
),
judged AS (
    -- the cells' seller lists stay out of these joins (a row per cell carrying every seller's id and price through
    -- three hash joins held the 100 M-observation day's 59 M sellers in memory at once): the 20 lowest come along,
    -- a flagged cell's whole lists are joined back at the end
    SELECT c.* EXCLUDE (shop_ids, prices), c.shop_ids[1:20] AS lowest_shop_ids, c.prices[1:20] AS lowest_prices,
           h.history_cells, h.rd_high_quantile, m.market_history_cells, m.rd_median,
        $rd_ratio * m.rd_median AS rd_benchmark,
        1 + coalesce(r.held_rounds, 0) AS cover_rounds, coalesce(r.earlier_rounds, []) AS earlier_rounds,
        coalesce(m.market_history_cells >= $min_history_cells
                 AND c.diffp > $diffp_threshold
                 AND c.rdnor > $rdnor_threshold
                 AND c.rd > $rd_ratio * m.rd_median
                 AND 1 + coalesce(r.held_rounds, 0) >= $cover_weeks, false) AS violates
    FROM current_cells AS c
    LEFT JOIN market_history AS m USING (sku_id, region_code)
    LEFT JOIN category_history AS h USING (sku_id, region_code)
    LEFT JOIN held_rounds AS r ON r.sku_id = c.sku_id AND r.region_code IS NOT DISTINCT FROM c.region_code
),
flagged_lists AS (
    SELECT c.sku_id AS flagged_sku_id, c.region_code AS flagged_region_code, c.shop_ids, c.prices
    FROM current_cells AS c
    SEMI JOIN (SELECT sku_id, region_code FROM judged WHERE violates) AS v
      ON v.sku_id = c.sku_id AND v.region_code IS NOT DISTINCT FROM c.region_code
)
SELECT
    'market_cell'                                          AS entity_type,
    sku_id || ':' || region_code || ':' || strftime(week_start, '%G-W%V') AS entity_id,
    NULL::VARCHAR AS platform, NULL::VARCHAR AS shop_id, NULL::VARCHAR AS uscc, sku_id, region_code,
    week_start                                             AS window_start,
    $run_date::DATE                                        AS window_end,
    round(rd, 4)                                           AS value,
    round(rd_benchmark, 4)                                 AS threshold,
    CASE WHEN rd > 2 * rd_benchmark THEN 'medium' ELSE 'low' END AS severity,
    violates                                               AS flagged,
    json_object(
        -- a flagged cell lists every seller (the bulletin and the dossiers name them); any other cell its 20 lowest
        'screen', 'cover_distance', 'n_sellers', n_sellers,
        'shop_ids', coalesce(f.shop_ids, lowest_shop_ids), 'prices', coalesce(f.prices, lowest_prices),
        'lowest_shop_id', lowest_shop_ids[1], 'second_shop_id', lowest_shop_ids[2],
        'diffp', round(diffp, 4), 'rd', round(rd, 4), 'rdnor', round(rdnor, 4), 'spread', round(spread, 4),
        'skewness', round(skewness, 4), 'kurtosis', round(kurtosis, 4),
        'category', category, 'category_history_cells', history_cells, 'category_rd_high_quantile', round(rd_high_quantile, 4),
        'market_history_cells', market_history_cells, 'market_rd_median', round(rd_median, 4),
        'rd_benchmark', round(rd_benchmark, 4),
        'cover_rounds', cover_rounds, 'cover_weeks_required', $cover_weeks::INTEGER, 'earlier_rounds', earlier_rounds
    )::VARCHAR                                             AS evidence,
    week_start, n_sellers, round(diffp, 4) AS diffp, round(rd, 4) AS rd, round(rdnor, 4) AS rdnor,
    round(spread, 4) AS spread, round(skewness, 4) AS skewness, round(kurtosis, 4) AS kurtosis,
    rd_high_quantile AS category_rd_high_quantile, rd_median AS market_rd_median, cover_rounds, violates
FROM judged
LEFT JOIN flagged_lists AS f
  ON f.flagged_sku_id = judged.sku_id AND f.flagged_region_code IS NOT DISTINCT FROM judged.region_code
ORDER BY entity_id
