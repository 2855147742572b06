-- price.phantom_reference: a strike-through 原价 shown on most days of 90 with no completed trade at or above it.
-- Parameters: $run_date, $window_days, $shown_share_threshold, $max_trades_at_reference, $excluded_order_statuses.
-- Insufficient history: the rule needs ceil(shown_share_threshold x window_days) days (72 of 90). A listing first
-- observed fewer days ago (a young feed, a new listing) can never reach them; when it shows a never-traded reference
-- on the same share of the days it has, it is reported as history_status 'insufficient_history' with its history
-- ("60 of 72 days") instead of staying silent; it is not a lead (not flagged).
-- usable_observations is read twice, filtered differently (the promotions with a reference; the history of today's
-- listings): NOT MATERIALIZED, each read streams its own rows instead of keeping all 90 days of every column first
-- (0.48 → 0.11 GB of buffer at scale 10 with 180 days of history, docs/BENCHMARKS.md "180 days of history").
WITH usable_observations AS NOT MATERIALIZED (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date > $run_date - to_days(CAST($window_days AS INTEGER))
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
),
shown AS (
    SELECT shop_id, sku_id, observed_date, min(reference_price) AS reference_price, arg_min(observation_id, (reference_price, observation_id)) AS observation_id,
           -- min(), not any_value(): the same platform and region on every rerun when a listing's observations disagree
           min(platform) AS platform, min(region_code) AS region_code
    FROM usable_observations
    WHERE price_type = 'promo' AND reference_price IS NOT NULL
    GROUP BY ALL
),
listings_today AS (
    SELECT DISTINCT shop_id, sku_id FROM shown WHERE observed_date = $run_date
),
history AS (
    -- the days the listing has been observed in the window (any offer), from its first observation to the run date
    SELECT u.shop_id, u.sku_id, ($run_date - min(u.observed_date))::INTEGER + 1 AS history_days
    FROM usable_observations AS u
    SEMI JOIN listings_today AS l ON l.shop_id = u.shop_id AND l.sku_id = u.sku_id
    GROUP BY u.shop_id, u.sku_id
),
per_listing AS (
    SELECT s.shop_id, s.sku_id,
           min(s.platform) AS platform, min(s.region_code) AS region_code,
           count(DISTINCT s.observed_date)                AS days_shown,
           min(s.observed_date)                           AS first_shown,
           min(s.reference_price)::DOUBLE                 AS lowest_reference,
           max(s.reference_price)::DOUBLE                 AS highest_reference,
           arg_min(s.observation_id, (s.reference_price, s.observed_date, s.observation_id)) AS lowest_reference_observation_id,
           arg_max(s.observation_id, (s.observed_date, s.observation_id))     AS latest_observation_id
    FROM shown AS s
    JOIN listings_today USING (shop_id, sku_id)
    GROUP BY s.shop_id, s.sku_id
),
trades AS (
    SELECT i.seller_id AS shop_id, i.product_id AS sku_id, i.price::DOUBLE AS unit_price, o.order_id
    FROM order_items_as_of($run_date) AS i
    JOIN orders_as_of($run_date, purchased_from := $run_date - to_days(CAST($window_days AS INTEGER) - 1)) AS o
      USING (order_id)
    JOIN listings_today AS l ON l.shop_id = i.seller_id AND l.sku_id = i.product_id
    WHERE NOT list_contains($excluded_order_statuses, lower(o.order_status))
),
traded AS (
    SELECT p.shop_id, p.sku_id,
           count(t.order_id)                                                   AS trades_in_window,
           count(t.order_id) FILTER (WHERE t.unit_price >= p.lowest_reference)  AS trades_at_or_above,
           max(t.unit_price)                                                   AS highest_trade_price,
           arg_max(t.order_id, (t.unit_price, t.order_id))                                   AS highest_trade_order_id
    FROM per_listing AS p
    LEFT JOIN trades AS t USING (shop_id, sku_id)
    GROUP BY ALL
),
judged AS (
    SELECT p.*, t.trades_in_window, t.trades_at_or_above, t.highest_trade_price, t.highest_trade_order_id, m.uscc,
           h.history_days,
           ceil($shown_share_threshold * $window_days - 1e-9)::INTEGER AS history_required_days,
           p.days_shown::DOUBLE / $window_days                    AS shown_share,
           p.days_shown::DOUBLE / $window_days >= $shown_share_threshold
             AND t.trades_at_or_above <= $max_trades_at_reference AS violates,
           -- the same rule on the days the listing has, where they are fewer than the rule needs
           h.history_days < ceil($shown_share_threshold * $window_days - 1e-9)
             AND p.days_shown >= $shown_share_threshold * h.history_days
             AND t.trades_at_or_above <= $max_trades_at_reference AS indicated_on_short_history
    FROM per_listing AS p
    JOIN traded AS t USING (shop_id, sku_id)
    JOIN history AS h USING (shop_id, sku_id)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = p.shop_id
)
SELECT
    'listing'                                              AS entity_type,
    shop_id || ':' || sku_id                               AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    first_shown                                            AS window_start,
    $run_date::DATE                                        AS window_end,
    round(shown_share, 4)                                  AS value,
    $shown_share_threshold::DOUBLE                         AS threshold,
    CASE WHEN trades_in_window > 0 THEN 'high' ELSE 'medium' END AS severity,
    violates                                               AS flagged,
    json_object(
        'window', json_array(strftime($run_date - to_days(CAST($window_days AS INTEGER) - 1), '%Y-%m-%d'), strftime($run_date, '%Y-%m-%d')),
        'days_shown', days_shown,
        'shown_share', round(shown_share, 4),
        'lowest_reference_price', lowest_reference,
        'lowest_reference_observation_id', lowest_reference_observation_id,
        'latest_observation_id', latest_observation_id,
        'trades_in_window', trades_in_window,
        'trades_at_or_above_reference', trades_at_or_above,
        'highest_trade_price', highest_trade_price,
        'highest_trade_order_id', highest_trade_order_id
    )::VARCHAR                                             AS evidence,
    days_shown, round(shown_share, 4) AS shown_share, lowest_reference, trades_in_window, trades_at_or_above, violates,
    -- coverage: whether the rule could be applied (pipelines/serve/bulletin/coverage.py counts 'insufficient_history')
    history_days, history_required_days,
    CASE WHEN history_days >= history_required_days THEN 'checked'
         WHEN indicated_on_short_history THEN 'insufficient_history'
         ELSE 'short_history' END                          AS history_status
FROM judged
ORDER BY entity_id
