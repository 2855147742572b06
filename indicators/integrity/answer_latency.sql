-- integrity.answer_latency: 5-star reviews answered implausibly soon after delivery, or before it.
-- Parameters: $run_date DATE, $window_days, $fast_minutes, $min_reviews, $min_share, $category_quantile_z.
-- Δ = review_answer_timestamp − order_delivered_customer_date (not review_creation_date: that is when the survey
-- was sent). A review answered before delivery counts only when the survey was not triggered by the estimated
-- delivery date passing (survey sent before the estimated date): Olist sends surveys at the estimated date for late
-- orders, and those buyers legitimately answer before delivery. Undelivered orders are left out.
-- The seller's share over the window is compared with its category's own distribution: the P99 of the share a
-- seller with the same number of reviews would show at the category's rate (leave-one-out: the seller itself is
-- excluded from its category's rate).
-- The rule judges the window's state on the run date, as the other window rules do (price.sustained_below_market,
-- collusion.parallelism): a seller with a review answered on the date is flagged when its share of the window is
-- over the threshold, whether or not one of the date's own reviews was fast. Requiring a suspicious review on the
-- date (the rule until session 28) made the lead a coin toss on each day (a seller answering 30 % of its reviews
-- fast has no fast one on about 4 days in 10) and contradicted the mart's own row, which showed the share over its
-- threshold without a flag. A standing behaviour is a lead on every day it is seen: the bulletin tells a continuing
-- lead from a new one by its flag_id (window_start = the first suspicious review in the window).
WITH reviews AS (
    SELECT review_id, order_id, review_score, review_creation_date AS survey_sent_at,
           review_answer_timestamp AS answered_at
    FROM reviews_as_of($run_date, answered_from := $run_date - ($window_days - 1) * INTERVAL 1 DAY)
),
latest_orders AS (
    SELECT order_id, order_delivered_customer_date AS delivered_at, order_estimated_delivery_date AS estimated_at
    FROM orders_as_of($run_date)
),
products AS (
    SELECT product_id, product_category_name
    FROM products_as_of($run_date)
),
order_seller_category AS (
    SELECT i.order_id, i.seller_id, min(coalesce(p.product_category_name, '(none)')) AS category
    FROM order_items_as_of($run_date) AS i
    LEFT JOIN products AS p USING (product_id)
    GROUP BY i.order_id, i.seller_id
),
seller_reviews AS (
    -- one row per (seller, 5-star review of a delivered order)
    SELECT s.seller_id AS shop_id, r.review_id,
           min(s.category)                  AS category,
           min(r.answered_at)               AS answered_at,
           bool_or(r.answered_at >= o.delivered_at
                   AND r.answered_at < o.delivered_at + $fast_minutes * INTERVAL 1 MINUTE) AS fast,
           bool_or(r.answered_at < o.delivered_at
                   AND (o.estimated_at IS NULL OR r.survey_sent_at < o.estimated_at))     AS before_delivery,
           min(epoch(r.answered_at - o.delivered_at)) / 60.0 AS latency_minutes
    FROM reviews AS r
    JOIN latest_orders AS o USING (order_id)
    JOIN order_seller_category AS s USING (order_id)
    WHERE r.review_score = 5 AND o.delivered_at IS NOT NULL
    GROUP BY s.seller_id, r.review_id
),
per_seller AS (
    SELECT shop_id,
           arg_max(category, (n_cat, category)) AS category,
           sum(n_cat)               AS reviews,
           sum(n_susp)              AS suspicious,
           sum(n_fast)              AS fast,
           sum(n_before)            AS before_delivery,
           sum(n_susp_today)        AS suspicious_today
    FROM (
        SELECT shop_id, category, count(*) AS n_cat,
               count(*) FILTER (WHERE fast OR before_delivery)     AS n_susp,
               count(*) FILTER (WHERE fast)                        AS n_fast,
               count(*) FILTER (WHERE before_delivery)             AS n_before,
               count(*) FILTER (WHERE (fast OR before_delivery) AND answered_at >= $run_date::TIMESTAMP) AS n_susp_today
        FROM seller_reviews
        GROUP BY shop_id, category
    )
    GROUP BY shop_id
),
sellers_today AS (
    -- sellers with a review answered on the run date (the window touches the date)
    SELECT DISTINCT i.seller_id AS shop_id
    FROM reviews AS r
    JOIN (SELECT DISTINCT order_id, seller_id FROM order_items_as_of($run_date)) AS i USING (order_id)
    WHERE r.answered_at >= $run_date::TIMESTAMP
),
category_totals AS (
    SELECT category, sum(reviews) AS reviews, sum(suspicious) AS suspicious, count(*) AS sellers
    FROM per_seller
    GROUP BY category
),
scored AS (
    SELECT t.shop_id, s.category, coalesce(s.reviews, 0) AS reviews, coalesce(s.suspicious, 0) AS suspicious,
           coalesce(s.fast, 0) AS fast, coalesce(s.before_delivery, 0) AS before_delivery,
           coalesce(s.suspicious_today, 0) AS suspicious_today,
           s.suspicious / nullif(s.reviews, 0) AS share,
           -- the category's rate without this seller (leave-one-out)
           coalesce((c.suspicious - s.suspicious) / nullif(c.reviews - s.reviews, 0), 0) AS category_rate,
           c.sellers - 1 AS category_peers
    FROM sellers_today AS t
    LEFT JOIN per_seller AS s USING (shop_id)
    LEFT JOIN category_totals AS c USING (category)
),
judged AS (
    SELECT *,
        greatest($min_share, category_rate + $category_quantile_z * sqrt(category_rate * (1 - category_rate) / nullif(reviews, 0))) AS share_threshold
    FROM scored
),
final AS (
    SELECT j.*,
           coalesce(reviews >= $min_reviews AND share > share_threshold, false) AS violates,
           m.platform, m.uscc, m.region_code
    FROM judged AS j
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = j.shop_id
),
evidence_reviews AS (
    SELECT r.shop_id, list(r.review_id ORDER BY r.answered_at DESC, r.review_id) FILTER (WHERE r.review_rank <= 100) AS review_ids,
           min(r.answered_at)::DATE AS first_day
    FROM (SELECT r.*, row_number() OVER (PARTITION BY r.shop_id ORDER BY r.answered_at DESC, r.review_id) AS review_rank
          FROM seller_reviews AS r
          JOIN final AS f ON f.shop_id = r.shop_id AND f.violates
          WHERE r.fast OR r.before_delivery) AS r  -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    GROUP BY r.shop_id
)
SELECT
    'shop'                                                   AS entity_type,
    f.shop_id                                                AS entity_id,
    coalesce(f.platform, 'olist')                            AS platform,
    f.shop_id, f.uscc,
    NULL::VARCHAR                                            AS sku_id,
    f.region_code,
    coalesce(e.first_day, $run_date::DATE)                   AS window_start,
    $run_date::DATE                                          AS window_end,
    round(f.share, 4)                                        AS value,
    round(f.share_threshold, 4)                              AS threshold,
    CASE WHEN f.share >= 0.5 THEN 'high' ELSE 'medium' END   AS severity,
    f.violates                                               AS flagged,
    json_object(
        'window', json_array(strftime($run_date - ($window_days - 1) * INTERVAL 1 DAY, '%Y-%m-%d'), strftime($run_date, '%Y-%m-%d')),
        'category', f.category,
        'five_star_reviews_delivered', f.reviews,
        'answered_within_minutes_of_delivery', f.fast,
        'fast_minutes', $fast_minutes,
        'answered_before_delivery', f.before_delivery,
        'suspicious_share', round(f.share, 4),
        'category_rate_excluding_seller', round(f.category_rate, 4),
        'category_sellers', f.category_peers,
        'share_threshold', round(f.share_threshold, 4),
        'suspicious_today', f.suspicious_today,
        'review_ids', e.review_ids
    )::VARCHAR                                               AS evidence,
    -- mart detail columns
    f.category,
    f.reviews                                                AS latency_reviews,
    f.fast                                                   AS latency_fast,
    f.before_delivery                                        AS latency_before_delivery,
    round(f.share, 4)                                        AS latency_share,
    round(f.share_threshold, 4)                              AS latency_share_threshold,
    f.violates
FROM final AS f
LEFT JOIN evidence_reviews AS e USING (shop_id)
ORDER BY entity_id
