-- integrity.rating_burst: burst of 5-star reviews on the run date against the seller's own 28-day baseline.
-- Parameters: $run_date DATE, $baseline_days, $min_five_star, $modified_z_threshold, $poisson_p_threshold,
--   $min_baseline_rate, $share_z_threshold, $min_coreviewer_share, $prior_reviews.
-- A review belongs to the day it was ANSWERED (review_answer_timestamp); review_creation_date is when the survey was
-- sent. Reviews are counted once per (seller, review_id): duplicate rows and a review shared by several orders of the
-- same seller count once. Genuine popularity after a campaign raises all scores alike and is told apart from a fake
-- burst by (a) the 5-star share of the day against the seller's baseline share and (b) co-occurring reviewers
-- (Fei et al. 2013): buyers of the day's burst who together 5-star reviewed another seller in the baseline window.
WITH reviews AS (
    SELECT review_id, order_id, review_score, review_answer_timestamp AS answered_at
    FROM reviews_as_of($run_date, answered_from := $run_date - $baseline_days * INTERVAL 1 DAY)
),
latest_orders AS (
    SELECT order_id, customer_id
    FROM orders_as_of($run_date)
),
customers AS (
    SELECT customer_id, customer_unique_id
    FROM customers_as_of($run_date)
),
seller_reviews AS (
    -- one row per (seller, review): the review's score, day and buyer
    SELECT i.seller_id AS shop_id, r.review_id,
           max(r.review_score)                                                     AS score,
           min(r.answered_at)::DATE                                                AS day,
           min(coalesce(c.customer_unique_id, 'customer_id:' || o.customer_id))   AS buyer_id
    FROM reviews AS r
    JOIN latest_orders AS o USING (order_id)
    JOIN (SELECT DISTINCT order_id, seller_id FROM order_items_as_of($run_date)) AS i USING (order_id)
    LEFT JOIN customers AS c USING (customer_id)
    GROUP BY i.seller_id, r.review_id
),
today AS (
    SELECT shop_id,
           count(*) FILTER (WHERE score = 5) AS five_today,
           count(*)                          AS reviews_today,
           list(review_id ORDER BY review_id) FILTER (WHERE score = 5) AS five_review_ids
    FROM seller_reviews
    WHERE day = $run_date
    GROUP BY shop_id
),
baseline_days AS (
    SELECT t.shop_id, ($run_date - d.k * INTERVAL 1 DAY)::DATE AS day
    FROM today AS t
    CROSS JOIN range(1, $baseline_days + 1) AS d(k)
),
baseline_counts AS (
    SELECT b.shop_id, b.day,
           count(s.review_id) FILTER (WHERE s.score = 5) AS five,
           count(s.review_id)                            AS reviews
    FROM baseline_days AS b
    LEFT JOIN seller_reviews AS s ON s.shop_id = b.shop_id AND s.day = b.day
    GROUP BY b.shop_id, b.day
),
baseline AS (
    SELECT shop_id,
           avg(five)        AS five_mean,
           median(five)     AS five_median,
           mad(five)        AS five_mad,
           sum(five)        AS five_base,
           sum(reviews)     AS reviews_base
    FROM baseline_counts
    GROUP BY shop_id
),
platform_share AS (
    -- the prior for a seller's 5-star share: all sellers' reviews in the baseline window
    SELECT coalesce(avg((score = 5)::INTEGER), 0.5) AS p_all
    FROM seller_reviews
    WHERE day < $run_date
),
coreviewers AS (
    -- buyers of today's 5-star reviews who, with at least one other buyer of the same burst,
    -- 5-star reviewed another seller in the baseline window (co-occurring reviewers)
    SELECT t.shop_id, t.buyer_id, s.shop_id AS other_shop
    FROM seller_reviews AS t
    JOIN seller_reviews AS s
      ON s.buyer_id = t.buyer_id AND s.shop_id <> t.shop_id AND s.score = 5 AND s.day < $run_date
    WHERE t.day = $run_date AND t.score = 5
),
co_groups AS (
    SELECT shop_id, other_shop, list(DISTINCT buyer_id) AS buyers
    FROM coreviewers
    GROUP BY shop_id, other_shop
    HAVING count(DISTINCT buyer_id) >= 2
),
co_share AS (
    SELECT g.shop_id, count(DISTINCT u.buyer_id) AS coreviewers,
           list(DISTINCT g.other_shop ORDER BY g.other_shop) AS co_shops
    FROM co_groups AS g, unnest(g.buyers) AS u(buyer_id)
    GROUP BY g.shop_id
),
today_buyers AS (
    SELECT shop_id, count(DISTINCT buyer_id) AS five_buyers
    FROM seller_reviews
    WHERE day = $run_date AND score = 5
    GROUP BY shop_id
),
scored AS (
    SELECT t.*, b.five_mean, b.five_median, b.five_mad, b.five_base, b.reviews_base,
           greatest(b.five_mean, $min_baseline_rate) AS lam,
           CASE WHEN b.five_mad > 0 THEN 0.6745 * (t.five_today - b.five_median) / b.five_mad END AS modified_z,
           (b.five_base + $prior_reviews * p.p_all) / (b.reviews_base + $prior_reviews) AS base_share,
           coalesce(c.coreviewers, 0) AS coreviewers, c.co_shops,
           coalesce(c.coreviewers, 0) / greatest(tb.five_buyers, 1) AS coreviewer_share
    FROM today AS t
    JOIN baseline AS b USING (shop_id)
    CROSS JOIN platform_share AS p
    LEFT JOIN co_share AS c USING (shop_id)
    LEFT JOIN today_buyers AS tb USING (shop_id)
),
tested AS (
    SELECT *,
        -- Poisson upper tail P(X >= five_today | lam), summed term by term (log-space pmf)
        CASE WHEN five_today = 0 THEN 1.0 ELSE least(1.0, list_sum(list_transform(
            range(five_today, five_today + 60 + (10 * sqrt(lam))::BIGINT),
            lambda k: exp(-lam + k * ln(lam) - lgamma(k + 1))))) END AS poisson_p,
        (five_today - reviews_today * base_share) / sqrt(nullif(reviews_today * base_share * (1 - base_share), 0)) AS share_z
    FROM scored
),
judged AS (
    SELECT *,
        five_today >= $min_five_star
            AND (poisson_p < $poisson_p_threshold OR coalesce(modified_z > $modified_z_threshold, false)) AS is_burst,
        coalesce(share_z > $share_z_threshold, false) AS share_anomalous,
        coreviewer_share >= $min_coreviewer_share AS co_occurring
    FROM tested
),
final AS (
    SELECT j.*, is_burst AND (share_anomalous OR co_occurring) AS violates,
           m.platform, m.uscc, m.region_code
    FROM judged AS j
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = j.shop_id
)
SELECT
    'shop'                                                   AS entity_type,
    shop_id                                                  AS entity_id,
    coalesce(platform, 'olist')                              AS platform,
    shop_id, uscc,
    NULL::VARCHAR                                            AS sku_id,
    region_code,
    $run_date::DATE                                          AS window_start,
    $run_date::DATE                                          AS window_end,
    round(-log10(greatest(poisson_p, 1e-300)), 3)            AS value,
    round(-log10($poisson_p_threshold), 3)                   AS threshold,
    CASE WHEN share_anomalous AND co_occurring THEN 'high' ELSE 'medium' END AS severity,
    violates                                                 AS flagged,
    json_object(
        'five_star_reviews_today', five_today,
        'reviews_today', reviews_today,
        'baseline_days', $baseline_days,
        'baseline_five_star_mean', round(five_mean, 4),
        'baseline_five_star_median', five_median,
        'baseline_five_star_mad', five_mad,
        'modified_z', round(modified_z, 3),
        'poisson_tail_p', poisson_p,
        'five_star_share_today', round(five_today / reviews_today, 4),
        'baseline_five_star_share', round(base_share, 4),
        'share_z', round(share_z, 3),
        'coreviewers', coreviewers,
        'coreviewed_shops', co_shops[1:20],
        'review_ids', five_review_ids[1:100]
    )::VARCHAR                                               AS evidence,
    -- mart detail columns
    five_today                                               AS five_star_reviews,
    reviews_today                                            AS reviews_answered,
    round(five_mean, 4)                                      AS rating_baseline_mean,
    round(modified_z, 3)                                     AS rating_modified_z,
    poisson_p                                                AS rating_poisson_p,
    round(-log10(greatest(poisson_p, 1e-300)), 3)            AS rating_burst_score,
    round(five_today / reviews_today, 4)                     AS five_star_share,
    round(base_share, 4)                                     AS baseline_five_star_share,
    round(coreviewer_share, 4)                               AS coreviewer_share,
    violates
FROM final
ORDER BY entity_id
