-- discrimination.loyalty_premium: repeat buyers (a person, Olist customer_unique_id, who bought at the shop before)
-- paying more than first-time buyers for the same SKU in the same shop (hence platform/channel) on the run date.
-- Parameters: $run_date, $lp_threshold, $min_group_orders, $excluded_order_statuses, $excluded_payment_types.
WITH latest_orders AS (
    SELECT *
    FROM orders_as_of($run_date)
),
customers AS (
    SELECT customer_id, customer_unique_id
    FROM customers_as_of($run_date)
),
voucher_orders AS (
    -- new-user coupons and vouchers: orders paid (partly) with them are left out
    SELECT DISTINCT order_id FROM order_payments_as_of($run_date)
    WHERE list_contains($excluded_payment_types, lower(payment_type))
),
lines AS (
    SELECT i.seller_id AS shop_id, i.product_id AS sku_id, i.price::DOUBLE AS unit_price, o.order_id,
           o.order_purchase_timestamp AS ts, c.customer_unique_id AS person
    FROM order_items_as_of($run_date) AS i
    JOIN latest_orders AS o USING (order_id)
    JOIN customers AS c ON c.customer_id = o.customer_id
    WHERE NOT list_contains($excluded_order_statuses, lower(o.order_status))
      AND o.order_id NOT IN (SELECT order_id FROM voucher_orders)
),
today AS (
    SELECT * FROM lines WHERE ts >= $run_date::DATE
),
first_purchase AS (
    -- each person's first order at each shop where they bought today
    SELECT l.shop_id, l.person, min(l.ts) AS first_ts
    FROM lines AS l
    WHERE (l.shop_id, l.person) IN (SELECT (shop_id, person) FROM today)
    GROUP BY ALL
),
classified AS (
    SELECT t.*, t.ts > f.first_ts AS repeat_buyer,
           -- the evidence samples' order (dearest repeat orders, cheapest first orders), so that they are capped
           -- inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"), not built whole and cut
           row_number() OVER (PARTITION BY t.shop_id, t.sku_id, t.ts > f.first_ts
                              ORDER BY CASE WHEN t.ts > f.first_ts THEN -t.unit_price END, t.unit_price, t.order_id)
               AS sample_rank,
           -- the class's median price as a window over the same partition, not a median() per seller x SKU in
           -- `groups`: a holistic state per group is never spilled (3.1 M groups on the 100 M-observation day),
           -- a window partition is sorted and spills (docs/BENCHMARKS.md, "Bounded plans"); the same value
           median(t.unit_price) OVER (PARTITION BY t.shop_id, t.sku_id, t.ts > f.first_ts) AS class_median
    FROM today AS t JOIN first_purchase AS f USING (shop_id, person)
),
groups AS (
    SELECT shop_id, sku_id,
           count(*) FILTER (WHERE repeat_buyer)                 AS repeat_orders,
           count(*) FILTER (WHERE NOT repeat_buyer)             AS first_orders,
           min(class_median) FILTER (WHERE repeat_buyer)        AS repeat_median,
           min(class_median) FILTER (WHERE NOT repeat_buyer)    AS first_median,
           list(order_id ORDER BY unit_price DESC, order_id) FILTER (WHERE repeat_buyer AND sample_rank <= 5) AS repeat_order_ids,
           list(order_id ORDER BY unit_price, order_id) FILTER (WHERE NOT repeat_buyer AND sample_rank <= 5)  AS first_order_ids
    FROM classified
    GROUP BY ALL
),
judged AS (
    SELECT g.*, g.repeat_median / g.first_median AS lp,
           coalesce(g.repeat_orders >= $min_group_orders AND g.first_orders >= $min_group_orders
                    AND g.repeat_median / g.first_median >= $lp_threshold, false) AS violates
    FROM groups AS g
)
SELECT
    'listing_day'                                          AS entity_type,
    j.shop_id || ':' || j.sku_id || ':' || strftime($run_date::DATE, '%Y-%m-%d') AS entity_id,
    m.platform, j.shop_id, m.uscc, j.sku_id, m.region_code,
    $run_date::DATE                                        AS window_start,
    $run_date::DATE                                        AS window_end,
    round(j.lp, 4)                                         AS value,
    $lp_threshold::DOUBLE                                  AS threshold,
    CASE WHEN j.lp >= 1.1 THEN 'high' ELSE 'medium' END    AS severity,
    j.violates                                             AS flagged,
    json_object('repeat_orders', j.repeat_orders, 'first_orders', j.first_orders,
                'repeat_median_price', j.repeat_median, 'first_median_price', j.first_median, 'lp', round(j.lp, 4),
                'repeat_order_ids_sample', j.repeat_order_ids, 'first_order_ids_sample', j.first_order_ids)::VARCHAR AS evidence,
    j.repeat_orders, j.first_orders, j.repeat_median, j.first_median, j.violates
FROM judged AS j
LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = j.shop_id
ORDER BY entity_id
