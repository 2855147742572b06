-- integrity.buyer_concentration: one buyer holding a large share of a seller's orders (top-buyer share and HHI).
-- Parameters: $run_date DATE, $window_days, $min_orders, $top_share_threshold, $high_share.
-- Orders of the window_days days ending on the run date; the buyer is customer_unique_id (the person), an order
-- with several items of the seller counts once. Judged for sellers with an order on the run date, and flagged only
-- when the top buyer ordered on the run date (the behaviour includes the date).
WITH latest_orders AS (
    SELECT order_id, customer_id, order_purchase_timestamp AS purchased_at
    FROM orders_as_of($run_date, purchased_from := $run_date - ($window_days - 1) * INTERVAL 1 DAY)
),
customers AS (
    SELECT customer_id, customer_unique_id
    FROM customers_as_of($run_date)
),
shop_orders AS (
    SELECT DISTINCT i.seller_id AS shop_id, o.order_id, o.purchased_at,
           coalesce(c.customer_unique_id, 'customer_id:' || o.customer_id) AS buyer_id
    FROM latest_orders AS o
    JOIN order_items_as_of($run_date) AS i USING (order_id)
    LEFT JOIN customers AS c USING (customer_id)
),
shops_today AS (
    SELECT shop_id, count(*) AS orders_on_day
    FROM shop_orders
    WHERE purchased_at >= $run_date::TIMESTAMP
    GROUP BY shop_id
),
buyer_orders AS (
    SELECT s.shop_id, s.buyer_id, count(*) AS orders, min(s.purchased_at) AS first_at,
           count(*) FILTER (WHERE s.purchased_at >= $run_date::TIMESTAMP) AS orders_today
    FROM shop_orders AS s
    SEMI JOIN shops_today AS t USING (shop_id)
    GROUP BY s.shop_id, s.buyer_id
),
per_shop AS (
    SELECT shop_id,
           sum(orders)                                             AS orders,
           count(*)                                                AS buyers,
           arg_max(buyer_id, (orders, first_at, buyer_id))         AS top_buyer,
           max(orders)                                             AS top_orders,
           arg_max(orders_today, (orders, first_at, buyer_id))     AS top_orders_today,
           arg_max(first_at, (orders, first_at, buyer_id))         AS top_first_at,
           sum(orders * orders) / (sum(orders) * sum(orders))      AS hhi
    FROM buyer_orders
    GROUP BY shop_id
),
final AS (
    SELECT p.*, t.orders_on_day, p.top_orders / p.orders AS top_share,
           coalesce(p.orders >= $min_orders AND p.top_orders / p.orders >= $top_share_threshold
                    AND p.top_orders_today > 0, false) AS violates,
           m.platform, m.uscc, m.region_code
    FROM per_shop AS p
    JOIN shops_today AS t USING (shop_id)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = p.shop_id
),
top_orders AS (
    SELECT s.shop_id, list(s.order_id ORDER BY s.purchased_at, s.order_id) FILTER (WHERE s.order_rank <= 100) AS order_ids
    FROM (SELECT s.*, row_number() OVER (PARTITION BY s.shop_id ORDER BY s.purchased_at, s.order_id) AS order_rank
          FROM shop_orders AS s
          JOIN final AS f ON f.shop_id = s.shop_id AND f.top_buyer = s.buyer_id AND f.violates) AS s  -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    GROUP BY s.shop_id
)
SELECT
    'shop'                                                   AS entity_type,
    f.shop_id                                                AS entity_id,
    coalesce(f.platform, 'olist')                            AS platform,
    f.shop_id, f.uscc,
    NULL::VARCHAR                                            AS sku_id,
    f.region_code,
    f.top_first_at::DATE                                     AS window_start,
    $run_date::DATE                                          AS window_end,
    round(f.top_share, 4)                                    AS value,
    $top_share_threshold::DOUBLE                             AS threshold,
    CASE WHEN f.top_share >= $high_share THEN 'high' ELSE 'medium' END AS severity,
    f.violates                                               AS flagged,
    json_object(
        'window', json_array(strftime($run_date - ($window_days - 1) * INTERVAL 1 DAY, '%Y-%m-%d'), strftime($run_date, '%Y-%m-%d')),
        'orders', f.orders,
        'distinct_buyers', f.buyers,
        'top_buyer_id', f.top_buyer,
        'top_buyer_orders', f.top_orders,
        'top_buyer_share', round(f.top_share, 4),
        'hhi', round(f.hhi, 4),
        'min_orders', $min_orders,
        'top_buyer_order_ids', t.order_ids
    )::VARCHAR                                               AS evidence,
    -- mart detail columns
    f.orders_on_day,
    f.orders                                                 AS orders_window,
    f.buyers                                                 AS buyers_window,
    round(f.top_share, 4)                                    AS top_buyer_share,
    round(f.hhi, 4)                                          AS buyer_hhi,
    f.violates
FROM final AS f
LEFT JOIN top_orders AS t USING (shop_id)
ORDER BY entity_id
