-- price.eu_prior_30d: announced reduction against the lowest price OFFERED in the 30 days before the
-- promotion (Directive 98/6/EC Art. 6a; CJEU C-330/23 Aldi Süd).
-- Parameters: $run_date DATE, $prior_days, $tolerance_pp.
-- Offered prices are list/promo observations of the same shop and SKU (not checkout probes), observed
-- strictly before the promotion starts; a price set before the window and still in force when the window
-- opens is carried forward. Every source row is restricted to dates <= $run_date.
WITH usable_observations AS NOT MATERIALIZED (
    -- Scraping errors never produce price flags: used/refurbished items, other currencies, failed scrapes.
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
),
promotion_observations AS (
    SELECT *
    FROM usable_observations
    WHERE price_type = 'promo' AND reference_price IS NOT NULL AND promo_start IS NOT NULL
),
promotions_today AS (
    SELECT
        shop_id, sku_id, promo_start,
        -- min(), not any_value(): the same platform and region on every rerun when a listing's observations disagree
        min(platform)                          AS platform,
        min(region_code)                       AS region_code,
        max(reference_price)                         AS reference_price_shown,
        arg_max(price, (reference_price, price))              AS promo_price,
        bool_or(coalesce(basis_disclosed, false))    AS basis_disclosed,
        list(DISTINCT observation_id ORDER BY observation_id) AS observation_ids
    FROM promotion_observations
    WHERE observed_date = $run_date
    GROUP BY shop_id, sku_id, promo_start
),
first_seen AS (
    SELECT p.shop_id, p.sku_id, p.promo_start, min(o.observed_date) AS first_seen_date
    FROM promotions_today AS p
    JOIN promotion_observations AS o USING (shop_id, sku_id, promo_start)
    GROUP BY ALL
),
offered_before AS (
    -- offered prices of the promoted shop x SKU before the promotion (one lowest price per day)
    SELECT p.shop_id, p.sku_id, p.promo_start, o.observed_date,
           min(o.price)                                   AS day_low,
           arg_min(o.observation_id, (o.price, o.observation_id))             AS day_low_observation_id
    FROM promotions_today AS p
    JOIN usable_observations AS o
      ON o.shop_id = p.shop_id AND o.sku_id = p.sku_id
     AND o.price_type IN ('list', 'promo') AND o.account_cohort IS NULL
     AND o.observed_date < p.promo_start
     AND o.observed_date >= p.promo_start - to_days(CAST($prior_days AS INTEGER) + 400)
    GROUP BY ALL
),
in_window AS (
    SELECT shop_id, sku_id, promo_start,
           min(day_low)                                    AS lowest_in_window,
           arg_min(day_low_observation_id, (day_low, observed_date, day_low_observation_id)) AS lowest_observation_id,
           arg_min(observed_date, (day_low, observed_date))          AS lowest_date,
           min(observed_date)                              AS first_day_observed,
           count(*)                                        AS days_observed
    FROM offered_before
    WHERE observed_date >= promo_start - to_days(CAST($prior_days AS INTEGER))
    GROUP BY ALL
),
carried AS (
    -- the last price set before the window opened: still in force on the window's first day unless
    -- the window itself holds an observation of that first day
    SELECT shop_id, sku_id, promo_start,
           arg_max(day_low, (observed_date, day_low))                 AS carried_price,
           arg_max(day_low_observation_id, (observed_date, day_low_observation_id))  AS carried_observation_id,
           max(observed_date)                              AS carried_date
    FROM offered_before
    WHERE observed_date < promo_start - to_days(CAST($prior_days AS INTEGER))
    GROUP BY ALL
),
checked AS (
    SELECT p.*, f.first_seen_date, m.uscc,
           w.lowest_in_window, w.lowest_observation_id, w.lowest_date, coalesce(w.days_observed, 0) AS days_observed,
           CASE WHEN w.first_day_observed IS NULL
                  OR w.first_day_observed > p.promo_start - to_days(CAST($prior_days AS INTEGER))
                THEN c.carried_price END                   AS carried_price,
           c.carried_observation_id, c.carried_date
    FROM promotions_today AS p
    JOIN first_seen AS f USING (shop_id, sku_id, promo_start)
    LEFT JOIN in_window AS w USING (shop_id, sku_id, promo_start)
    LEFT JOIN carried AS c USING (shop_id, sku_id, promo_start)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = p.shop_id
),
scored AS (
    SELECT *,
        CASE WHEN carried_price IS NOT NULL AND (lowest_in_window IS NULL OR carried_price < lowest_in_window)
             THEN carried_price ELSE lowest_in_window END::DOUBLE          AS prior_price_30d,
        CASE WHEN carried_price IS NOT NULL AND (lowest_in_window IS NULL OR carried_price < lowest_in_window)
             THEN 'carried_forward' WHEN lowest_in_window IS NOT NULL THEN 'in_window' END AS prior_price_source,
        1 - promo_price::DOUBLE / reference_price_shown::DOUBLE               AS announced_reduction
    FROM checked
),
judged AS (
    SELECT *,
        1 - promo_price::DOUBLE / prior_price_30d                            AS true_reduction_eu,
        announced_reduction - (1 - promo_price::DOUBLE / prior_price_30d)    AS overstatement_eu,
        CASE WHEN prior_price_30d IS NULL THEN 'no_prior_price' ELSE 'checked' END AS eu_check_status
    FROM scored
)
SELECT
    'promotion'                                            AS entity_type,
    shop_id || ':' || sku_id || ':' || strftime(promo_start, '%Y-%m-%d') AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    promo_start                                            AS window_start,
    $run_date::DATE                                        AS window_end,
    round(overstatement_eu, 4)                             AS value,
    $tolerance_pp::DOUBLE                                  AS threshold,
    CASE WHEN promo_price >= prior_price_30d THEN 'high' ELSE 'medium' END AS severity,
    -- a running promotion is flagged each day it is seen, with the same flag_id (window_start = promo_start)
    coalesce(overstatement_eu > $tolerance_pp, false)      AS flagged,
    json_object(
        'shown_reference_price', reference_price_shown,
        'promo_price', promo_price,
        'prior_price_30d', prior_price_30d,
        'prior_price_source', prior_price_source,
        'prior_window', json_array(strftime(promo_start - to_days(CAST($prior_days AS INTEGER)), '%Y-%m-%d'),
                                   strftime(promo_start - INTERVAL 1 DAY, '%Y-%m-%d')),
        'prior_price_observation_id', CASE WHEN prior_price_source = 'carried_forward' THEN carried_observation_id
                                           ELSE lowest_observation_id END,
        'prior_price_date', strftime(CASE WHEN prior_price_source = 'carried_forward' THEN carried_date
                                          ELSE lowest_date END, '%Y-%m-%d'),
        'days_observed_in_window', days_observed,
        'announced_reduction', round(announced_reduction, 4),
        'true_reduction_eu', round(true_reduction_eu, 4),
        'observation_ids', observation_ids
    )::VARCHAR                                             AS evidence,
    -- mart detail columns
    promo_start, first_seen_date, reference_price_shown, promo_price, basis_disclosed,
    prior_price_30d, prior_price_source, days_observed AS days_observed_30d,
    round(announced_reduction, 4)                          AS announced_reduction,
    round(true_reduction_eu, 4)                            AS true_reduction_eu,
    round(overstatement_eu, 4)                             AS overstatement_eu,
    eu_check_status,
    coalesce(overstatement_eu > $tolerance_pp, false)      AS violates
FROM judged
ORDER BY entity_id
