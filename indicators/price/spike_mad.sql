-- price.spike_mad: a seller's price far above the cross-seller median of the SKU that day (modified z-score on the
-- MAD, Iglewicz & Hoaglin), and a jump against the seller's own recent prices (so a campaign that lowers everybody
-- else's price, or a seller that is always a little dearer, is not a spike). Also the Hampel view of the seller's
-- own series (detail columns, no flag of its own).
-- Parameters: $run_date, $z_threshold, $min_sellers, $own_jump, $own_days, $hampel_k, $hampel_t.
WITH usable_observations AS NOT MATERIALIZED (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date >= $run_date - to_days(CAST(greatest($own_days, $hampel_k * 2) AS INTEGER))
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
      AND price_type IN ('list', 'promo') AND account_cohort IS NULL
),
daily_groups AS (
    -- almost every seller x SKU x day has one observation: a holistic median per group (millions of groups) is
    -- what ran a province-scale day out of memory, so the median is taken only where there are several prices
    SELECT shop_id, sku_id, observed_date AS d, any_value(platform) AS platform, any_value(region_code) AS region_code,
           count(*) AS n_obs, min(price) AS min_price, arg_max(observation_id, (price, observation_id)) AS observation_id
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
           CASE WHEN g.n_obs = 1 THEN g.min_price::DOUBLE ELSE m.price END AS price, g.observation_id
    FROM daily_groups AS g
    LEFT JOIN daily_multi AS m USING (shop_id, sku_id, d)
),
today AS (
    SELECT * FROM daily WHERE d = $run_date
),
cross_section AS (
    SELECT sku_id, count(*) AS n_sellers, median(price) AS sku_median, mad(price) AS sku_mad
    FROM today
    GROUP BY sku_id
),
mean_abs_dev AS (
    -- fallback scale when the MAD is 0 (more than half the sellers at one price): 1.253314 x mean absolute deviation
    SELECT t.sku_id, avg(abs(t.price - c.sku_median)) AS sku_meanad
    FROM today AS t JOIN cross_section AS c USING (sku_id)
    GROUP BY t.sku_id
),
own_window AS (
    -- the seller's own prior days, counted first: most listings have none or one, and a median() or mad() state for
    -- each of millions of listings does not fit a small server's memory, so the holistic aggregates below run only
    -- where there are several values (the median of one value is that value, its MAD is 0)
    SELECT t.shop_id, t.sku_id,
           count(h.price) FILTER (WHERE h.d < $run_date AND h.d >= $run_date - to_days(CAST($own_days AS INTEGER))) AS own_n,
           min(h.price) FILTER (WHERE h.d < $run_date AND h.d >= $run_date - to_days(CAST($own_days AS INTEGER)))   AS own_only,
           count(*) FILTER (WHERE h.d < $run_date)                                                               AS own_rows,
           count(*) FILTER (WHERE h.d >= $run_date - to_days(CAST($hampel_k * 2 AS INTEGER)))                      AS hampel_points,
           min(h.price) FILTER (WHERE h.d >= $run_date - to_days(CAST($hampel_k * 2 AS INTEGER)))                  AS hampel_only
    FROM today AS t
    JOIN daily AS h ON h.shop_id = t.shop_id AND h.sku_id = t.sku_id AND h.d <= $run_date
    GROUP BY t.shop_id, t.sku_id
),
own_multi AS (
    SELECT w.shop_id, w.sku_id, median(h.price) OVER (PARTITION BY w.shop_id, w.sku_id) AS own_median
    FROM own_window AS w
    JOIN daily AS h ON h.shop_id = w.shop_id AND h.sku_id = w.sku_id
     AND h.d < $run_date AND h.d >= $run_date - to_days(CAST($own_days AS INTEGER))
    WHERE w.own_n > 1
    QUALIFY row_number() OVER (PARTITION BY w.shop_id, w.sku_id) = 1  -- a window, as daily_multi
),
own_history AS (
    SELECT w.shop_id, w.sku_id, CASE WHEN w.own_n = 1 THEN w.own_only ELSE m.own_median END AS own_median,
           w.own_n AS own_days_observed
    FROM own_window AS w
    LEFT JOIN own_multi AS m USING (shop_id, sku_id)
    WHERE w.own_rows > 0
),
hampel_multi AS (
    SELECT w.shop_id, w.sku_id, median(h.price) OVER lw AS hampel_median, mad(h.price) OVER lw AS hampel_mad
    FROM own_window AS w
    JOIN daily AS h ON h.shop_id = w.shop_id AND h.sku_id = w.sku_id
     AND h.d <= $run_date AND h.d >= $run_date - to_days(CAST($hampel_k * 2 AS INTEGER))
    WHERE w.hampel_points > 1
    WINDOW lw AS (PARTITION BY w.shop_id, w.sku_id)
    QUALIFY row_number() OVER lw = 1  -- a window, as daily_multi
),
hampel AS (
    -- trailing window of 2k+1 observed days ending on the run date (a daily run cannot see the days after it)
    SELECT w.shop_id, w.sku_id,
           CASE WHEN w.hampel_points = 1 THEN w.hampel_only ELSE m.hampel_median END AS hampel_median,
           CASE WHEN w.hampel_points = 1 THEN 0.0::DOUBLE ELSE m.hampel_mad END     AS hampel_mad,
           w.hampel_points
    FROM own_window AS w
    LEFT JOIN hampel_multi AS m USING (shop_id, sku_id)
    WHERE w.hampel_points > 0
),
scored AS (
    SELECT t.*, c.n_sellers, c.sku_median, c.sku_mad, a.sku_meanad, o.own_median, coalesce(o.own_days_observed, 0) AS own_days_observed,
           hp.hampel_median, hp.hampel_mad, hp.hampel_points, m.uscc,
           CASE WHEN c.sku_mad > 0 THEN 0.6745 * (t.price - c.sku_median) / c.sku_mad
                WHEN a.sku_meanad > 0 THEN (t.price - c.sku_median) / (1.253314 * a.sku_meanad)
                ELSE 0 END                                                    AS modified_z,
           CASE WHEN c.sku_mad > 0 THEN 'mad' WHEN a.sku_meanad > 0 THEN 'meanad' ELSE 'no_dispersion' END AS scale_used,
           t.price / o.own_median                                             AS own_ratio,
           CASE WHEN hp.hampel_points >= 2 * $hampel_k + 1 THEN
                abs(t.price - hp.hampel_median) > $hampel_t * 1.4826 * hp.hampel_mad END AS hampel_outlier
    FROM today AS t
    JOIN cross_section AS c USING (sku_id)
    JOIN mean_abs_dev AS a USING (sku_id)
    LEFT JOIN own_history AS o USING (shop_id, sku_id)
    LEFT JOIN hampel AS hp USING (shop_id, sku_id)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = t.shop_id
),
judged AS (
    SELECT *,
        n_sellers >= $min_sellers
        AND modified_z > $z_threshold
        AND (own_median IS NULL OR own_ratio >= 1 + $own_jump)                AS violates
    FROM scored
)
SELECT
    'listing_day'                                          AS entity_type,
    shop_id || ':' || sku_id || ':' || strftime(d, '%Y-%m-%d') AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    d                                                      AS window_start,
    d                                                      AS window_end,
    round(modified_z, 3)                                   AS value,
    $z_threshold::DOUBLE                                   AS threshold,
    CASE WHEN modified_z > 2 * $z_threshold THEN 'high' ELSE 'medium' END AS severity,
    violates                                               AS flagged,
    -- evidence is what a flag carries to the lead list (indicator_flags); the price_anomalies mart publishes the
    -- figures of every listing in typed columns, so the JSON is built for the flagged rows only (building and
    -- storing it for millions of unflagged listings was a third of this step at province scale)
    CASE WHEN violates THEN json_object(
        'price', price, 'observation_id', observation_id,
        'sku_median', sku_median, 'sku_mad', sku_mad, 'scale_used', scale_used, 'n_sellers', n_sellers,
        'modified_z', round(modified_z, 3),
        'own_median_prior', own_median, 'own_days_observed', own_days_observed, 'own_ratio', round(own_ratio, 4)
    )::VARCHAR END                                         AS evidence,
    d, price, n_sellers, sku_median, sku_mad, scale_used, round(modified_z, 3) AS modified_z,
    own_median, round(own_ratio, 4) AS own_ratio, hampel_median, hampel_mad, hampel_outlier, violates
FROM judged
-- no ORDER BY: one row per listing-day of the run date (millions at province scale); a sort of every row with
-- its evidence text does not fit a small server, and the mart and the flags are ordered where they are written
