-- collusion.variance_screen: market cell (sku_id x region_code x ISO week, across platforms) with unusually low price
-- variation at a high price level, against the cell's own category history (not a fixed constant).
-- Parameters: $run_date, $history_weeks, $min_sellers, $cv_quantile (evidence only), $cv_ratio, $min_price_level,
-- $min_history_cells,
-- $campaign_promo_share.
-- Each seller's price in a week is the median of its daily offered prices on the week's days up to the run date.
WITH usable_observations AS (
    SELECT *
    FROM staging.price_observations
    WHERE observed_date <= $run_date
      AND observed_date >= date_trunc('week', $run_date::DATE) - to_days(7 * CAST($history_weeks AS INTEGER))
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
      AND price_type IN ('list', 'promo') AND account_cohort IS NULL
),
daily_all AS (
    SELECT shop_id, sku_id, region_code, observed_date AS d, any_value(category) AS category,
           median(price)::DOUBLE AS price, bool_or(price_type = 'promo') AS on_promo
    FROM usable_observations
    GROUP BY shop_id, sku_id, region_code, observed_date
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
    SELECT shop_id, sku_id, region_code, date_trunc('week', d)::DATE AS week_start, any_value(category) AS category,
           median(price) AS price
    FROM daily
    GROUP BY ALL
),
sku_level AS (
    -- the SKU's price level across the whole province that week (all regions)
    SELECT sku_id, week_start, median(price) AS sku_week_median FROM seller_week GROUP BY ALL
),
cells AS (
    SELECT sku_id, region_code, week_start, any_value(category) AS category,
           -- mean and sd over the ordered list: a fixed summation order gives the same bytes on every run
           count(*) AS n_sellers,
           list_aggregate(list(price ORDER BY price, shop_id), 'avg')         AS mean_price,
           list_aggregate(list(price ORDER BY price, shop_id), 'stddev_samp') AS sd_price,
           list(shop_id ORDER BY price, shop_id) AS shop_ids, list(price ORDER BY price, shop_id) AS prices
    FROM seller_week
    GROUP BY ALL
),
scored_cells AS (
    SELECT c.*, c.sd_price / c.mean_price AS cv, c.mean_price / l.sku_week_median AS price_level
    FROM cells AS c JOIN sku_level AS l USING (sku_id, week_start)
    WHERE c.n_sellers >= $min_sellers
),
current_cells AS (
    SELECT * FROM scored_cells WHERE week_start = date_trunc('week', $run_date::DATE)
),
category_history AS (
    -- the category's OTHER cells in the weeks before the current one (a long-running pocket must not hide
    -- itself in its own history)
    SELECT c.sku_id, c.region_code, count(*) AS history_cells,
           quantile_cont(h.cv, $cv_quantile) AS cv_low_quantile, median(h.cv) AS cv_median
    FROM current_cells AS c
    JOIN scored_cells AS h
      ON h.category = c.category AND h.week_start < c.week_start
     AND NOT (h.sku_id = c.sku_id AND h.region_code = c.region_code)
    GROUP BY c.sku_id, c.region_code
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
        'screen', 'variance', 'n_sellers', n_sellers, 'shop_ids', shop_ids, 'prices', prices,
        'mean_price', round(mean_price, 2), 'sd_price', round(sd_price, 4), 'cv', round(cv, 5),
        'category', category, 'category_history_cells', history_cells,
        'category_cv_low_quantile', round(cv_low_quantile, 5), 'category_cv_median', round(cv_median, 5),
        'price_level_vs_sku_median', round(price_level, 4)
    )::VARCHAR                                             AS evidence,
    week_start, category, n_sellers, mean_price, sd_price, round(cv, 5) AS cv, round(price_level, 4) AS price_level,
    cv_low_quantile AS category_cv_low_quantile, cv_median AS category_cv_median, violates
FROM judged
ORDER BY entity_id
