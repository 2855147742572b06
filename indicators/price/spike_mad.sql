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
    -- min(), not any_value(): the same platform and region on every rerun when a listing's observations disagree
    SELECT shop_id, sku_id, observed_date AS d, min(platform) AS platform, min(region_code) AS region_code,
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
listing AS (
    -- every listing of the run date with its own series as window columns over ITS OWN rows of `daily` (one sort
    -- of the trailing days, partitioned by listing; a window partition is sorted and spills): the seller's median
    -- of the prior own_days days, and the Hampel median and MAD of the trailing 2k+1 days. Joining today's listings
    -- back to `daily` (three hash joins with millions of rows on the build side, alive at once with the CTEs they
    -- read) is what ran a scale-100 day out of memory under a 2.5 GB limit (docs/BENCHMARKS.md, "Bounded plans").
    -- A median over an empty FILTER is NULL and over one value that value; the MAD of one value is 0.
    SELECT shop_id, sku_id, d, platform, region_code, price, observation_id,
           count(*) FILTER (WHERE d < $run_date AND d >= $run_date - to_days(CAST($own_days AS INTEGER))) OVER lw  AS own_days_observed,
           median(price) FILTER (WHERE d < $run_date AND d >= $run_date - to_days(CAST($own_days AS INTEGER))) OVER lw AS own_median,
           count(*) FILTER (WHERE d >= $run_date - to_days(CAST($hampel_k * 2 AS INTEGER))) OVER lw                AS hampel_points,
           median(price) FILTER (WHERE d >= $run_date - to_days(CAST($hampel_k * 2 AS INTEGER))) OVER lw           AS hampel_median,
           mad(price) FILTER (WHERE d >= $run_date - to_days(CAST($hampel_k * 2 AS INTEGER))) OVER lw              AS hampel_mad
    FROM daily
    WINDOW lw AS (PARTITION BY shop_id, sku_id)
    QUALIFY d = $run_date
),
cross_section AS (
    -- the SKU's sellers of the day, as window columns too (a partition per SKU, sorted and spilled; a median()
    -- aggregate state holds every price of its group in memory that is never spilled)
    SELECT *, count(*) OVER sw AS n_sellers, median(price) OVER sw AS sku_median, mad(price) OVER sw AS sku_mad
    FROM listing
    WINDOW sw AS (PARTITION BY sku_id)
),
mean_abs_dev AS (
    -- fallback scale when the MAD is 0 (more than half the sellers at one price): 1.253314 x mean absolute deviation
    SELECT sku_id, avg(abs(price - sku_median)) AS sku_meanad
    FROM cross_section
    GROUP BY sku_id
),
scored AS (
    SELECT c.*, a.sku_meanad, m.uscc,
           CASE WHEN c.sku_mad > 0 THEN 0.6745 * (c.price - c.sku_median) / c.sku_mad
                WHEN a.sku_meanad > 0 THEN (c.price - c.sku_median) / (1.253314 * a.sku_meanad)
                ELSE 0 END                                                    AS modified_z,
           CASE WHEN c.sku_mad > 0 THEN 'mad' WHEN a.sku_meanad > 0 THEN 'meanad' ELSE 'no_dispersion' END AS scale_used,
           c.price / c.own_median                                             AS own_ratio,
           CASE WHEN c.hampel_points >= 2 * $hampel_k + 1 THEN
                abs(c.price - c.hampel_median) > $hampel_t * 1.4826 * c.hampel_mad END AS hampel_outlier
    FROM cross_section AS c
    JOIN mean_abs_dev AS a USING (sku_id)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = c.shop_id
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
