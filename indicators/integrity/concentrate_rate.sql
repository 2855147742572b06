-- integrity.concentrate_rate: order brushing (刷单) — orders per distinct buyer in any one-hour window of a shop.
-- Parameters: $run_date DATE, $concentrate_threshold, $window_minutes, $high_severity_orders.
-- Sorted-window formulation: for every order (the anchor) two windows are evaluated, one starting at it
-- [t, t + w) and one ending at it (t - w, t]; each anchor ORDER gets its own frame, so two orders in the
-- same second never merge their windows (grouping by (shop, ts) instead double counts them).
-- Only windows holding at least one order of the run date are judged; every source row is <= $run_date.
WITH latest_orders AS (
    SELECT order_id, customer_id, order_purchase_timestamp AS purchased_at
    FROM orders_as_of($run_date, purchased_from := $run_date - $window_minutes * INTERVAL 1 MINUTE)
),
customers AS (
    -- the buyer is the person (customer_unique_id); customer_id is per order
    SELECT customer_id, customer_unique_id
    FROM customers_as_of($run_date)
),
shop_orders AS (
    -- one row per (shop, order): several items of one order in one shop are one order
    SELECT DISTINCT i.seller_id AS shop_id, o.order_id, o.purchased_at,
           coalesce(c.customer_unique_id, 'customer_id:' || o.customer_id) AS buyer_id
    FROM latest_orders AS o
    JOIN order_items_as_of($run_date) AS i USING (order_id)
    LEFT JOIN customers AS c USING (customer_id)
),
framed AS (
    SELECT shop_id, order_id, purchased_at,
        count(*)                 OVER start_w AS n_start,
        count(DISTINCT buyer_id) OVER start_w AS u_start,
        max(purchased_at)        OVER start_w AS last_start,
        count(*)                 OVER end_w   AS n_end,
        count(DISTINCT buyer_id) OVER end_w   AS u_end,
        min(purchased_at)        OVER end_w   AS first_end
    FROM shop_orders
    WINDOW
        start_w AS (PARTITION BY shop_id ORDER BY purchased_at
                    RANGE BETWEEN CURRENT ROW
                              AND ($window_minutes * INTERVAL 1 MINUTE - INTERVAL 1 MICROSECOND) FOLLOWING),
        end_w   AS (PARTITION BY shop_id ORDER BY purchased_at
                    RANGE BETWEEN ($window_minutes * INTERVAL 1 MINUTE - INTERVAL 1 MICROSECOND) PRECEDING
                              AND CURRENT ROW)
),
windows AS (
    -- window anchored at the START of the order: [t, t + w)
    SELECT shop_id, order_id AS anchor_order_id, 'start' AS anchor_side,
           purchased_at AS first_at, last_start AS last_at, n_start AS n_orders, u_start AS n_buyers
    FROM framed
    UNION ALL
    -- window anchored at the END of the order: (t - w, t]
    SELECT shop_id, order_id, 'end', first_end, purchased_at, n_end, u_end
    FROM framed
),
touching AS (
    -- windows holding an order of the run date
    SELECT *, n_orders / n_buyers AS ratio
    FROM windows
    WHERE last_at >= $run_date::TIMESTAMP
),
shops_today AS (
    SELECT shop_id, count(*) AS orders_on_day
    FROM shop_orders
    WHERE purchased_at >= $run_date::TIMESTAMP
    GROUP BY shop_id
),
best AS (
    SELECT *
    FROM touching
    QUALIFY row_number() OVER (PARTITION BY shop_id
                               ORDER BY ratio DESC, n_orders DESC, first_at, anchor_side DESC, anchor_order_id) = 1
),
window_orders AS (
    -- the orders inside each shop's flagged window (few rows: only windows over the threshold)
    SELECT b.shop_id, s.order_id, s.purchased_at, s.buyer_id
    FROM best AS b
    JOIN shop_orders AS s
      ON s.shop_id = b.shop_id AND s.purchased_at BETWEEN b.first_at AND b.last_at
    WHERE b.ratio >= $concentrate_threshold
),
buyer_counts AS (
    SELECT shop_id, buyer_id, count(*) AS orders
    FROM window_orders
    GROUP BY shop_id, buyer_id
),
evidence_parts AS (
    SELECT w.shop_id,
           list(DISTINCT w.order_id ORDER BY w.order_id) AS order_ids,
           (SELECT list(json_object('buyer_id', bc.buyer_id, 'orders', bc.orders) ORDER BY bc.orders DESC, bc.buyer_id)
              FROM buyer_counts AS bc WHERE bc.shop_id = w.shop_id AND bc.orders >= 2) AS suspicious_buyers
    FROM window_orders AS w
    GROUP BY w.shop_id
),
judged AS (
    SELECT t.shop_id, t.orders_on_day, b.anchor_order_id, b.anchor_side, b.first_at, b.last_at,
           b.n_orders, b.n_buyers, b.ratio,
           coalesce(b.ratio >= $concentrate_threshold, false) AS violates,
           e.order_ids, e.suspicious_buyers,
           m.platform, m.uscc, m.region_code
    FROM shops_today AS t
    LEFT JOIN best AS b USING (shop_id)
    LEFT JOIN evidence_parts AS e USING (shop_id)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = t.shop_id
)
SELECT
    'shop'                                                   AS entity_type,
    shop_id                                                  AS entity_id,
    coalesce(platform, 'olist')                              AS platform,
    shop_id, uscc,
    NULL::VARCHAR                                            AS sku_id,
    region_code,
    coalesce(first_at::DATE, $run_date::DATE)                AS window_start,
    coalesce(last_at::DATE, $run_date::DATE)                 AS window_end,
    round(ratio, 4)                                          AS value,
    $concentrate_threshold::DOUBLE                           AS threshold,
    CASE WHEN n_orders >= $high_severity_orders OR ratio >= 2 * $concentrate_threshold THEN 'high'
         ELSE 'medium' END                                   AS severity,
    violates                                                 AS flagged,
    json_object(
        'concentrate_rate', round(ratio, 4),
        'orders_in_window', n_orders,
        'distinct_buyers', n_buyers,
        'window_minutes', $window_minutes,
        'anchor_order_id', anchor_order_id,
        'anchor_side', anchor_side,
        'first_order_at', strftime(first_at, '%Y-%m-%d %H:%M:%S'),
        'last_order_at', strftime(last_at, '%Y-%m-%d %H:%M:%S'),
        'order_ids', order_ids[1:100],
        'suspicious_buyers', suspicious_buyers[1:20]
    )::VARCHAR                                               AS evidence,
    -- mart detail columns
    orders_on_day,
    n_orders                                                 AS concentrate_window_orders,
    n_buyers                                                 AS concentrate_window_buyers,
    first_at                                                 AS concentrate_window_first_at,
    last_at                                                  AS concentrate_window_last_at,
    round(ratio, 4)                                          AS concentrate_rate,
    violates
FROM judged
ORDER BY entity_id
