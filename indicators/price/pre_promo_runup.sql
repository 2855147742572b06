-- price.pre_promo_runup (先涨后降): the offered price raised in the 14 days before a promotion that then claims the
-- raise as a discount. Parameters: $run_date, $runup_days, $baseline_days, $runup_threshold, $min_baseline_days.
-- A run-up that the whole market of the SKU shares (a cost increase) is discounted: the shop's run-up is divided by
-- the SKU's market run-up when that is above 1.
WITH usable_observations AS NOT MATERIALIZED (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date >= $run_date - to_days(CAST($baseline_days AS INTEGER) + 60)
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
),
promotions_today AS (
    SELECT shop_id, sku_id, promo_start,
           -- min(), not any_value(): the same platform and region on every rerun when a listing's observations disagree
           min(platform) AS platform, min(region_code) AS region_code,
           max(reference_price) AS reference_price_shown,
           arg_max(price, (reference_price, price)) AS promo_price,
           list(DISTINCT observation_id ORDER BY observation_id) AS observation_ids
    FROM usable_observations
    WHERE price_type = 'promo' AND reference_price IS NOT NULL AND promo_start IS NOT NULL
      AND observed_date = $run_date
    GROUP BY shop_id, sku_id, promo_start
),
first_seen AS (
    SELECT p.shop_id, p.sku_id, p.promo_start, min(o.observed_date) AS first_seen_date
    FROM promotions_today AS p
    JOIN usable_observations AS o
      ON o.shop_id = p.shop_id AND o.sku_id = p.sku_id AND o.promo_start = p.promo_start AND o.price_type = 'promo'
    GROUP BY ALL
),
sku_windows AS (
    -- the days each promoted SKU needs: from its earliest promotion's baseline start to its latest promotion start
    -- (shop_windows and seller_window_rows look only at [promo_start - baseline_days, promo_start)). Bounding the
    -- days per SKU keeps the run's cost at the promotions' own windows, not at the whole look-back of the history,
    -- and skips the run date's own millions of offers.
    SELECT sku_id, min(promo_start) - to_days(CAST($baseline_days AS INTEGER)) AS first_day, max(promo_start) AS end_day
    FROM promotions_today
    GROUP BY sku_id
),
window_observations AS (
    SELECT o.shop_id, o.sku_id, o.observed_date, o.price, o.observation_id
    FROM usable_observations AS o
    JOIN sku_windows AS w ON w.sku_id = o.sku_id AND o.observed_date >= w.first_day AND o.observed_date < w.end_day
    WHERE o.price_type IN ('list', 'promo') AND o.account_cohort IS NULL
),
daily_groups AS (
    -- one offered price per shop x SKU x day. Almost every group has one observation: the holistic median is taken
    -- only where there are several (a median per group over millions of groups does not fit a small server's memory).
    SELECT shop_id, sku_id, observed_date AS d, count(*) AS n_obs, min(price) AS min_price
    FROM window_observations
    GROUP BY ALL
),
promoter_day_observations AS (
    -- the observation behind each day's price of the promoting sellers (evidence: the run-up high's observation id),
    -- taken for them only: an arg_max per group for every seller of the SKU cost seconds at province scale
    SELECT o.shop_id, o.sku_id, o.observed_date AS d, arg_max(o.observation_id, (o.price, o.observation_id)) AS observation_id
    FROM window_observations AS o
    SEMI JOIN promotions_today AS p ON p.shop_id = o.shop_id AND p.sku_id = o.sku_id
    GROUP BY ALL
),
daily_multi AS (
    -- a window, not a GROUP BY: a median() state per group (millions of groups) is not spilled and ran the step out
    -- of memory, a window partition is sorted and spills; the same value (docs/BENCHMARKS.md, "Bounded plans")
    SELECT o.shop_id, o.sku_id, o.observed_date AS d,
           median(o.price) OVER (PARTITION BY o.shop_id, o.sku_id, o.observed_date)::DOUBLE AS price
    FROM window_observations AS o
    SEMI JOIN daily_groups AS g ON g.shop_id = o.shop_id AND g.sku_id = o.sku_id AND g.d = o.observed_date AND g.n_obs > 1
    QUALIFY row_number() OVER (PARTITION BY o.shop_id, o.sku_id, o.observed_date) = 1
),
daily AS (
    SELECT g.shop_id, g.sku_id, g.d, CASE WHEN g.n_obs = 1 THEN g.min_price::DOUBLE ELSE m.price END AS price
    FROM daily_groups AS g
    LEFT JOIN daily_multi AS m USING (shop_id, sku_id, d)
),
promotion_days AS (
    -- each promotion's own daily prices in its baseline + run-up window, with the baseline median as a window over
    -- the promotion's days, not a median() per promotion in shop_windows: a holistic state per group is never
    -- spilled (0.7 M promotions on the 100 M-observation day), a window partition is sorted and spills. The
    -- row_number beside it keeps it a window: alone, DuckDB would plan it as a GROUP BY again (docs/BENCHMARKS.md,
    -- "Bounded plans"); the same value
    SELECT p.shop_id, p.sku_id, p.promo_start, d.d, d.price, d.observation_id,
           median(d.price) FILTER (WHERE d.d < p.promo_start - to_days(CAST($runup_days AS INTEGER))) OVER promotion
               AS baseline_median,
           row_number() OVER (promotion ORDER BY d.d) AS day_rank
    FROM promotions_today AS p
    JOIN (SELECT d.*, i.observation_id FROM daily AS d JOIN promoter_day_observations AS i USING (shop_id, sku_id, d)) AS d
      ON d.shop_id = p.shop_id AND d.sku_id = p.sku_id
     AND d.d < p.promo_start AND d.d >= p.promo_start - to_days(CAST($baseline_days AS INTEGER))
    WINDOW promotion AS (PARTITION BY p.shop_id, p.sku_id, p.promo_start)
),
shop_windows AS (
    SELECT d.shop_id, d.sku_id, d.promo_start,
           max(d.price) FILTER (WHERE d.d >= d.promo_start - to_days(CAST($runup_days AS INTEGER)))        AS runup_high,
           arg_max(d.observation_id, (d.price, d.observation_id)) FILTER (WHERE d.d >= d.promo_start - to_days(CAST($runup_days AS INTEGER))) AS runup_high_observation_id,
           arg_max(d.d, (d.price, d.d)) FILTER (WHERE d.d >= d.promo_start - to_days(CAST($runup_days AS INTEGER)))  AS runup_high_date,
           min(d.baseline_median)                                                                            AS baseline_median,
           count(*) FILTER (WHERE d.d < d.promo_start - to_days(CAST($runup_days AS INTEGER)))               AS baseline_days_observed
    FROM promotion_days AS d
    GROUP BY d.shop_id, d.sku_id, d.promo_start
),
seller_window_rows AS (
    -- every seller's daily prices in the baseline + run-up window of each SKU and start date promoted today
    SELECT p.sku_id, p.promo_start, d.shop_id, d.price,
           d.d >= p.promo_start - to_days(CAST($runup_days AS INTEGER)) AS in_runup
    FROM (SELECT DISTINCT sku_id, promo_start FROM promotions_today) AS p
    JOIN daily AS d
      ON d.sku_id = p.sku_id
     AND d.d < p.promo_start AND d.d >= p.promo_start - to_days(CAST($baseline_days AS INTEGER))
),
seller_baseline_ranked AS (
    -- the baseline medians of millions of seller x SKU groups: holistic median() states for all of them do not fit a
    -- small server's memory, so they are read off sorted ranks (window sorts spill to disk): the middle value, or for
    -- an even count the two middle values averaged as quantile_cont does (lo * 0.5 + hi * 0.5, as median() gives)
    SELECT sku_id, promo_start, shop_id, price,
           row_number() OVER (PARTITION BY sku_id, promo_start, shop_id ORDER BY price) - 1 AS r,
           count(*) OVER (PARTITION BY sku_id, promo_start, shop_id)                     AS n
    FROM seller_window_rows
    WHERE NOT in_runup
),
seller_baseline AS (
    SELECT sku_id, promo_start, shop_id,
           max(price) FILTER (WHERE r = (n - 1) // 2) * 0.5 + max(price) FILTER (WHERE r = n // 2) * 0.5 AS baseline_median
    FROM seller_baseline_ranked
    GROUP BY sku_id, promo_start, shop_id
),
seller_runups AS (
    -- every seller's own run-up ratio for each SKU and start date promoted today (computed once per SKU and date; a
    -- per-seller maximum ignores campaign dips in the run-up window)
    SELECT w.sku_id, w.promo_start, w.shop_id,
           max(w.price) FILTER (WHERE w.in_runup) / min(b.baseline_median) AS seller_runup
    FROM seller_window_rows AS w
    LEFT JOIN seller_baseline AS b USING (sku_id, promo_start, shop_id)
    GROUP BY w.sku_id, w.promo_start, w.shop_id
),
runup_lists AS (
    -- the sellers' run-ups of each SKU and start date, sorted: one list per SKU and date instead of joining every
    -- promotion to every other seller of its SKU (hundreds of millions of rows at province scale)
    SELECT sku_id, promo_start, list_sort(list(seller_runup)) AS runups, count(*) AS n
    FROM seller_runups
    WHERE seller_runup IS NOT NULL
    GROUP BY sku_id, promo_start
),
market_positions AS (
    SELECT p.shop_id, p.sku_id, p.promo_start, l.runups,
           l.n - (o.seller_runup IS NOT NULL)::BIGINT AS market_sellers,
           -- 0-based position of the promoting seller's own run-up in the sorted list (it is left out), n when none
           CASE WHEN o.seller_runup IS NULL THEN l.n ELSE list_position(l.runups, o.seller_runup) - 1 END AS own_pos
    FROM promotions_today AS p
    JOIN runup_lists AS l USING (sku_id, promo_start)
    LEFT JOIN seller_runups AS o ON o.sku_id = p.sku_id AND o.promo_start = p.promo_start AND o.shop_id = p.shop_id
),
market_windows AS (
    -- the SKU's market for a promotion: the median run-up of the OTHER sellers. Rank i of the others is rank i of the
    -- list below the seller's own position and i + 1 from it on; the median of an even count is the mean of the two
    -- middle values, as median() computes it
    SELECT shop_id, sku_id, promo_start, market_sellers,
           runups[(market_sellers - 1) // 2 + ((market_sellers - 1) // 2 >= own_pos)::BIGINT + 1] * 0.5
             + runups[market_sellers // 2 + (market_sellers // 2 >= own_pos)::BIGINT + 1] * 0.5 AS market_runup
    FROM market_positions
    WHERE market_sellers > 0
),
scored AS (
    SELECT p.*, f.first_seen_date, m.uscc, s.runup_high, s.runup_high_observation_id, s.runup_high_date,
           s.baseline_median, coalesce(s.baseline_days_observed, 0) AS baseline_days_observed,
           mw.market_runup,
           s.runup_high / s.baseline_median                                      AS runup,
           s.runup_high / s.baseline_median / greatest(coalesce(mw.market_runup, 1.0), 1.0) AS runup_adjusted,
           1 - p.promo_price::DOUBLE / p.reference_price_shown::DOUBLE           AS claimed_discount,
           1 - p.promo_price::DOUBLE / s.baseline_median                          AS true_discount_vs_baseline
    FROM promotions_today AS p
    JOIN first_seen AS f USING (shop_id, sku_id, promo_start)
    LEFT JOIN shop_windows AS s USING (shop_id, sku_id, promo_start)
    LEFT JOIN market_windows AS mw USING (shop_id, sku_id, promo_start)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = p.shop_id
),
judged AS (
    SELECT *,
        coalesce(baseline_days_observed >= $min_baseline_days
                 AND runup_adjusted >= $runup_threshold
                 AND reference_price_shown >= baseline_median * $runup_threshold
                 AND claimed_discount - (1 - promo_price / baseline_median) >= $disc_gap_threshold, false) AS violates
    FROM scored
)
SELECT
    'promotion'                                            AS entity_type,
    shop_id || ':' || sku_id || ':' || strftime(promo_start, '%Y-%m-%d') AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    (promo_start - to_days(CAST($runup_days AS INTEGER)))::DATE AS window_start,
    $run_date::DATE                                        AS window_end,
    round(runup_adjusted, 4)                               AS value,
    $runup_threshold::DOUBLE                               AS threshold,
    CASE WHEN promo_price >= baseline_median THEN 'high' ELSE 'medium' END AS severity,
    violates                                               AS flagged,  -- each day seen, same flag_id
    json_object(
        'promo_start', strftime(promo_start, '%Y-%m-%d'),
        'shown_reference_price', reference_price_shown,
        'promo_price', promo_price,
        'runup_high_price', runup_high,
        'runup_high_date', strftime(runup_high_date, '%Y-%m-%d'),
        'runup_high_observation_id', runup_high_observation_id,
        'baseline_median_price', round(baseline_median, 2),
        'baseline_days_observed', baseline_days_observed,
        'runup', round(runup, 4),
        'market_runup', round(market_runup, 4),
        'runup_adjusted', round(runup_adjusted, 4),
        'claimed_discount', round(claimed_discount, 4),
        'true_discount_vs_baseline', round(true_discount_vs_baseline, 4),
        'observation_ids', observation_ids
    )::VARCHAR                                             AS evidence,
    promo_start, first_seen_date, round(runup, 4) AS runup, round(market_runup, 4) AS market_runup,
    round(runup_adjusted, 4) AS runup_adjusted, round(claimed_discount, 4) AS claimed_discount,
    round(true_discount_vs_baseline, 4) AS true_discount_vs_baseline,
    baseline_median, runup_high, violates
FROM judged
ORDER BY entity_id
