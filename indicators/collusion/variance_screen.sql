-- collusion.variance_screen: market cell (sku_id x region_code x ISO week, across platforms) with unusually low price
-- variation at a high price level, against the cell's own category history (not a fixed constant).
-- Parameters: $run_date, $history_weeks, $min_sellers, $cv_quantile (evidence only), $cv_ratio, $min_price_level,
-- $min_history_cells,
-- $campaign_promo_share.
-- Each seller's price in a week is the median of its daily offered prices on the week's days up to the run date.
WITH usable_observations AS NOT MATERIALIZED (
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
    -- (millions of groups) does not, and groups joined back to their rows hold hash tables of millions at once
    -- (docs/BENCHMARKS.md, "Bounded plans")
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
seller_week_level AS (
    -- the SKU's price level across the whole province that week (all regions): a window over the SKU-week, so the
    -- seller-weeks are read once (no median() state per SKU-week, no join of the cells back to it)
    SELECT *, median(price) OVER (PARTITION BY sku_id, week_start) AS sku_week_median
    FROM seller_week
),
cell_prices AS (
    -- mean and sd over the sorted prices: a fixed summation order gives the same bytes on every run. The list is
    -- sorted after aggregation (list_sort): an aggregate with its own ORDER BY keeps a sort state per cell that
    -- DuckDB cannot spill, which is what took this screen past a small server's memory with the weeks of history.
    -- The list is reduced to the statistics in the step that builds it: a list per cell kept in a CTE read twice
    -- (materialised) held every seller of the day at once (docs/BENCHMARKS.md, "Bounded plans")
    SELECT sku_id, region_code, week_start, category, n_sellers, sku_week_median,
           list_aggregate(prices, 'avg') AS mean_price, list_aggregate(prices, 'stddev_samp') AS sd_price
    FROM (SELECT sku_id, region_code, week_start, min(category) AS category, count(*) AS n_sellers,
                 min(sku_week_median) AS sku_week_median, list_sort(list(price)) AS prices
          FROM seller_week_level
          GROUP BY sku_id, region_code, week_start)
),
scored_cells AS (
    SELECT sku_id, region_code, week_start, category, n_sellers, mean_price, sd_price,
           sd_price / mean_price AS cv, mean_price / sku_week_median AS price_level
    FROM cell_prices
    WHERE n_sellers >= $min_sellers
),
current_cells AS (
    SELECT * FROM scored_cells WHERE week_start = date_trunc('week', $run_date::DATE)
),
history AS (
    -- the scored cells of the weeks before the current one, ranked by CV within the category (rows without a CV
    -- last): the category benchmarks are read off these ranks once, with the current cell's own rows left out,
    -- instead of joining every current cell to every history cell of its category (quadratic: it does not fit a
    -- small server at province scale). Same technique as collusion.cover_distance.
    SELECT sku_id, region_code, category, cv,
           row_number() OVER (PARTITION BY category ORDER BY cv NULLS LAST) - 1 AS rk_cat
    FROM scored_cells
    WHERE week_start < date_trunc('week', $run_date::DATE) AND category IS NOT NULL
),
category_totals AS (
    SELECT category, count(*) AS n_rows, count(cv) AS n_cv FROM history GROUP BY category
),
own_history AS (
    -- the category's history rows a current cell leaves out: its own (same SKU and region; a NULL key compares as
    -- unknown, so such rows are left out too, as the NOT (... = ... AND ... = ...) join condition does)
    SELECT c.sku_id, c.region_code, h.cv, h.rk_cat
    FROM current_cells AS c
    JOIN history AS h ON h.category = c.category AND h.sku_id = c.sku_id AND h.region_code = c.region_code
    UNION ALL
    SELECT c.sku_id, c.region_code, h.cv, h.rk_cat
    FROM current_cells AS c
    JOIN (SELECT * FROM history WHERE sku_id IS NULL OR region_code IS NULL) AS h
      ON h.category = c.category AND coalesce(h.sku_id = c.sku_id, true) AND coalesce(h.region_code = c.region_code, true)
),
category_excluded AS (
    -- rank i (0-based) of the remaining CVs is rank i + #{own rank g : g <= i} of all, with g = own rank minus the own
    -- rows ranked before it
    SELECT sku_id, region_code, count(*) AS own_rows, count(cv) AS own_cv,
           list(g) FILTER (WHERE cv IS NOT NULL) AS gs
    FROM (SELECT *, rk_cat - (row_number() OVER (PARTITION BY sku_id, region_code ORDER BY rk_cat) - 1) AS g FROM own_history)
    GROUP BY sku_id, region_code
),
category_positions AS (
    SELECT c.sku_id, c.region_code, c.category, t.n_rows - coalesce(e.own_rows, 0) AS history_cells,
           t.n_cv - coalesce(e.own_cv, 0) AS n_cells, coalesce(e.gs, []) AS gs,
           floor((t.n_cv - coalesce(e.own_cv, 0) - 1)::DOUBLE * $cv_quantile::DOUBLE)::BIGINT AS lo_q,
           (t.n_cv - coalesce(e.own_cv, 0) - 1)::DOUBLE * $cv_quantile::DOUBLE
             - floor((t.n_cv - coalesce(e.own_cv, 0) - 1)::DOUBLE * $cv_quantile::DOUBLE)     AS frac_q,
           ceil((t.n_cv - coalesce(e.own_cv, 0) - 1)::DOUBLE * $cv_quantile::DOUBLE)::BIGINT  AS hi_q,
           floor((t.n_cv - coalesce(e.own_cv, 0) - 1)::DOUBLE * 0.5)::BIGINT                  AS lo_m,
           ceil((t.n_cv - coalesce(e.own_cv, 0) - 1)::DOUBLE * 0.5)::BIGINT                   AS hi_m
    FROM current_cells AS c
    JOIN category_totals AS t ON t.category = c.category
    LEFT JOIN category_excluded AS e USING (sku_id, region_code)
    WHERE t.n_rows - coalesce(e.own_rows, 0) > 0
),
category_history AS (
    -- the category's OTHER cells in the weeks before the current one (a long-running pocket must not hide itself in
    -- its own history). The low quantile interpolates its two neighbours as quantile_cont does, (1 - f) * lo + f * hi
    -- with f the fraction of (n - 1) * q (DuckDB fuses that multiply-add, so the last bit can differ: evidence only;
    -- building a stand-in list of n values per cell for quantile_cont cost 20 s and 2 GB outside DuckDB's memory
    -- limit at province scale); the median of an even count is the mean of the two middle values, as median() does.
    SELECT p.sku_id, p.region_code, p.history_cells,
           CASE WHEN p.n_cells = 0 THEN NULL WHEN p.lo_q = p.hi_q THEN qa.cv
                ELSE (1 - p.frac_q) * qa.cv + p.frac_q * qb.cv END AS cv_low_quantile,
           CASE WHEN p.n_cells = 0 THEN NULL WHEN p.lo_m = p.hi_m THEN ma.cv ELSE ma.cv * 0.5 + mb.cv * 0.5 END AS cv_median
    FROM category_positions AS p
    LEFT JOIN history AS qa ON qa.category = p.category AND qa.rk_cat = p.lo_q + len(list_filter(p.gs, lambda x: x <= p.lo_q))
    LEFT JOIN history AS qb ON qb.category = p.category AND qb.rk_cat = p.hi_q + len(list_filter(p.gs, lambda x: x <= p.hi_q))
    LEFT JOIN history AS ma ON ma.category = p.category AND ma.rk_cat = p.lo_m + len(list_filter(p.gs, lambda x: x <= p.lo_m))
    LEFT JOIN history AS mb ON mb.category = p.category AND mb.rk_cat = p.hi_m + len(list_filter(p.gs, lambda x: x <= p.hi_m))
),
judged_input AS (
    SELECT c.*, h.history_cells, h.cv_low_quantile, h.cv_median
    FROM current_cells AS c LEFT JOIN category_history AS h USING (sku_id, region_code)
),
judged AS (
    SELECT *,
        coalesce(history_cells >= $min_history_cells
                 AND cv <= $cv_ratio * cv_median
                 AND price_level >= $min_price_level, false) AS violates
    FROM judged_input
),
evidence_offers AS (
    -- the evidence of the current week's cells: every seller with its price, in (price, shop) order, built for the
    -- final rows only (the lists never pass through a CTE read twice)
    SELECT sku_id AS offer_sku_id, region_code AS offer_region_code,
           list_sort(list({'price': price, 'shop_id': shop_id})) AS offers
    FROM seller_week_level
    WHERE week_start = date_trunc('week', $run_date::DATE)
    GROUP BY sku_id, region_code
)
SELECT
    'market_cell'                                          AS entity_type,
    sku_id || ':' || region_code || ':' || strftime(week_start, '%G-W%V') AS entity_id,
    NULL::VARCHAR AS platform, NULL::VARCHAR AS shop_id, NULL::VARCHAR AS uscc, sku_id, region_code,
    week_start                                             AS window_start,
    $run_date::DATE                                        AS window_end,
    round(cv, 5)                                           AS value,
    round($cv_ratio * cv_median, 5) AS threshold,
    CASE WHEN cv <= 0.5 * $cv_ratio * cv_median THEN 'medium' ELSE 'low' END AS severity,
    violates                                               AS flagged,
    json_object(
        'screen', 'variance', 'n_sellers', n_sellers, 'shop_ids', list_transform(e.offers, lambda x: x.shop_id),
        'prices', list_transform(e.offers, lambda x: x.price),
        'mean_price', round(mean_price, 2), 'sd_price', round(sd_price, 4), 'cv', round(cv, 5),
        'category', category, 'category_history_cells', history_cells,
        'category_cv_low_quantile', round(cv_low_quantile, 5), 'category_cv_median', round(cv_median, 5),
        'price_level_vs_sku_median', round(price_level, 4)
    )::VARCHAR                                             AS evidence,
    week_start, category, n_sellers, mean_price, sd_price, round(cv, 5) AS cv, round(price_level, 4) AS price_level,
    cv_low_quantile AS category_cv_low_quantile, cv_median AS category_cv_median, violates
FROM judged
LEFT JOIN evidence_offers AS e
  ON e.offer_sku_id = judged.sku_id AND e.offer_region_code IS NOT DISTINCT FROM judged.region_code
ORDER BY entity_id
