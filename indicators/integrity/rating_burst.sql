-- integrity.rating_burst: burst of 5-star reviews on the run date against the seller's own 28-day baseline, scaled
-- by the market's rise that day.
-- Parameters: $run_date DATE, $baseline_days, $min_five_star, $poisson_p_threshold,
--   $min_baseline_rate, $share_z_threshold, $min_coreviewer_share, $prior_reviews, $market_min_sellers, $popularity_z.
-- A review belongs to the day it was ANSWERED (review_answer_timestamp); review_creation_date is when the survey was
-- sent. Reviews are counted once per (seller, review_id): duplicate rows and a review shared by several orders of the
-- same seller count once.
-- The campaign guard comes from the market that day: on a campaign day (双11) every seller's reviews rise together,
-- so the seller's baseline is scaled by the market ratio R = the weighted median, over the platform's sellers with a
-- baseline, of (5-star reviews today / baseline 5-star mean a day), weights the baseline means (a median, so one or a
-- few bursting sellers do not move it; floored at 1, so an ordinary day tests against the seller's own baseline).
-- Genuine popularity of one seller (its own promotion) raises every score alike: its own ratio is read off its
-- non-5-star reviews (which fake 5-star reviewing does not produce), as an upper confidence bound (the benefit of
-- the doubt). The baseline is scaled by the larger of the two ratios (and at least 1). A burst beyond that is
-- flagged without any 5-star share condition. A burst only against the unscaled
-- baseline (within the market's rise) is still flagged when it is also (a) a 5-star share anomaly against the
-- seller's baseline share or (b) co-occurring reviewers (Fei et al. 2013): buyers of the day's burst who together
-- 5-star reviewed another seller in the baseline window.
-- A shop that opened inside the baseline window (its first order after the window's first day) is measured over its
-- active days, the days since its first review (as complaints.surge measures a new shop since its first order): the
-- days before it could be reviewed are no days of zero reviews, and counting them as zeros cuts a 14-day-old
-- shop's baseline to a third, which turns its ordinary reviews into a shown "own rise" that then hides a burst
-- (docs/ACCURACY.md, "The gaps, explained"). The baseline mean, median and MAD, the own-rise baseline and the
-- shop's mean in the market ratio are all taken over its active days.
WITH reviews AS (
    SELECT review_id, order_id, review_score, review_answer_timestamp AS answered_at
    FROM reviews_as_of($run_date, answered_from := $run_date - $baseline_days * INTERVAL 1 DAY)
),
latest_orders AS (
    SELECT order_id, customer_id, order_purchase_timestamp AS purchased_at
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
           min(coalesce(c.customer_unique_id, 'customer_id:' || o.customer_id))   AS buyer_id,
           min(o.purchased_at)::DATE                                               AS purchased_day
    FROM reviews AS r
    JOIN latest_orders AS o USING (order_id)
    JOIN (SELECT DISTINCT order_id, seller_id FROM order_items_as_of($run_date)) AS i USING (order_id)
    LEFT JOIN customers AS c USING (customer_id)
    GROUP BY i.seller_id, r.review_id
),
window_orders AS (
    -- the first order inside the baseline window of each reviewed seller (a shop can sell before it is reviewed);
    -- the window's orders only, so the read is bounded by the window
    SELECT i.seller_id AS shop_id, min(o.order_purchase_timestamp)::DATE AS first_order_day
    FROM orders_as_of($run_date, purchased_from := $run_date - $baseline_days * INTERVAL 1 DAY) AS o
    JOIN order_items_as_of($run_date) AS i USING (order_id)
    WHERE i.seller_id IN (SELECT shop_id FROM seller_reviews)
    GROUP BY i.seller_id
),
activity AS (
    -- A shop opened inside the baseline window when its first order (in the window, or of any order reviewed in it)
    -- is after the window's first day. Its review history starts with its first review: reviews follow delivery by
    -- days, so between a new shop's first order and its first review there is nothing to review yet, and those days
    -- are no days of zero reviews either. active_days = the baseline days since its first review (at least 1); for a
    -- shop open before the window, all baseline_days (its quiet days are zeros)
    SELECT s.shop_id,
           CASE WHEN least(s.first_purchase, coalesce(w.first_order_day, s.first_purchase))
                     > ($run_date - $baseline_days * INTERVAL 1 DAY)::DATE
                THEN greatest(least(($run_date::DATE - s.first_review)::INTEGER, $baseline_days::INTEGER), 1)
                ELSE $baseline_days::INTEGER END AS active_days
    FROM (SELECT shop_id, min(purchased_day) AS first_purchase, min(day) AS first_review
          FROM seller_reviews GROUP BY shop_id) AS s
    LEFT JOIN window_orders AS w USING (shop_id)
),
seller_platform AS (
    SELECT shop_id, coalesce(min(platform), 'olist') AS platform
    FROM dim_merchant_as_of($run_date)
    GROUP BY shop_id
),
market_sellers AS (
    -- every seller with 5-star reviews in the baseline window: its baseline mean a day (over its active days) and
    -- today's count
    SELECT s.shop_id, coalesce(p.platform, 'olist') AS platform,
           count(*) FILTER (WHERE s.score = 5 AND s.day < $run_date)::DOUBLE / min(a.active_days) AS lam,
           count(*) FILTER (WHERE s.score = 5 AND s.day = $run_date)                                  AS x
    FROM seller_reviews AS s
    JOIN activity AS a USING (shop_id)
    LEFT JOIN seller_platform AS p USING (shop_id)
    GROUP BY s.shop_id, p.platform
    HAVING count(*) FILTER (WHERE s.score = 5 AND s.day < $run_date) > 0
),
market_ranked AS (
    SELECT platform, x / lam AS ratio, lam,
           sum(lam) OVER (PARTITION BY platform ORDER BY x / lam, shop_id) AS cum_lam,
           sum(lam) OVER (PARTITION BY platform)                          AS total_lam,
           count(*) OVER (PARTITION BY platform)                          AS n_sellers
    FROM market_sellers
),
market AS (
    -- the weighted median ratio per platform (the first ratio at which half the baseline weight is reached);
    -- a market of fewer than market_min_sellers sellers gives no ratio (R = 1)
    SELECT platform, min(n_sellers) AS market_sellers,
           min(ratio) FILTER (WHERE cum_lam >= total_lam / 2) AS median_ratio
    FROM market_ranked
    GROUP BY platform
),
market_ratio AS (
    SELECT platform, market_sellers, median_ratio,
           CASE WHEN market_sellers >= $market_min_sellers THEN greatest(1.0, median_ratio) ELSE 1.0 END AS ratio
    FROM market
),
today AS (
    SELECT shop_id,
           count(*) FILTER (WHERE score = 5) AS five_today,
           count(*)                          AS reviews_today,
           list(review_id ORDER BY review_id) FILTER (WHERE score = 5 AND five_rank <= 100) AS five_review_ids
    FROM (SELECT *, row_number() OVER (PARTITION BY shop_id, score = 5 ORDER BY review_id) AS five_rank
          FROM seller_reviews WHERE day = $run_date)  -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    GROUP BY shop_id
),
baseline_days AS (
    -- the shop's active days of the baseline window (all baseline_days of it for a shop open before the window)
    SELECT t.shop_id, ($run_date - d.k * INTERVAL 1 DAY)::DATE AS day
    FROM today AS t
    JOIN activity AS a USING (shop_id)
    CROSS JOIN range(1, $baseline_days + 1) AS d(k)
    WHERE d.k <= a.active_days
),
baseline_counts AS (
    SELECT b.shop_id, b.day,
           count(s.review_id) FILTER (WHERE s.score = 5) AS five,
           count(s.review_id)                            AS reviews
    FROM baseline_days AS b
    LEFT JOIN seller_reviews AS s ON s.shop_id = b.shop_id AND s.day = b.day
    GROUP BY b.shop_id, b.day
),
baseline_spread AS (
    -- the median and MAD of a shop's daily 5-star counts as windows over its baseline days, not median()/mad() per
    -- shop in `baseline`: a holistic state per group is never spilled, a window partition is sorted and spills; the
    -- row_number beside them keeps them windows (alone, DuckDB would plan them as a GROUP BY again:
    -- docs/BENCHMARKS.md, "Bounded plans"); the same values
    SELECT shop_id, five, reviews,
           median(five) OVER shop                  AS five_median,
           mad(five) OVER shop                     AS five_mad,
           row_number() OVER (shop ORDER BY day)   AS day_rank
    FROM baseline_counts
    WINDOW shop AS (PARTITION BY shop_id)
),
baseline AS (
    SELECT shop_id,
           count(*)                AS active_days,
           avg(five)               AS five_mean,
           min(five_median)        AS five_median,
           min(five_mad)           AS five_mad,
           sum(five)               AS five_base,
           sum(reviews)            AS reviews_base
    FROM baseline_spread
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
own_rise AS (
    -- the seller's own rise in non-5-star reviews (today's non-5-star count y over its baseline mean a day). Under
    -- genuine popularity every score rises by the same factor, which fake 5-star reviewing does not produce. The
    -- rise is credited only when the data show it: when its one-sided lower confidence bound is above 1 (z =
    -- popularity_z), and then with the benefit of the doubt, its upper bound (a test maximised over a confidence set
    -- of the nuisance factor, Berger & Boos 1994). Without evidence of a rise there is none to credit: the 2-6
    -- non-5-star reviews of a small seller's ordinary day always allow a rise of 3-5x, and crediting that upper
    -- bound unconditionally hid every burst of small sellers (docs/ACCURACY.md, power curves). Wilson-Hilferty
    -- approximations of the exact Poisson limits (Breslow & Day 1987): upper y' (1 - 1/(9y') + z/(3 sqrt y'))^3 with
    -- y' = y + 1; lower y (1 - 1/(9y) - z/(3 sqrt y))^3, 0 when y = 0.
    SELECT t.shop_id, up.ratio_up, lo.ratio_lo,
           CASE WHEN lo.ratio_lo > 1 THEN up.ratio_up ELSE 1.0 END AS own_credit
    FROM today AS t
    JOIN baseline AS b USING (shop_id)
    CROSS JOIN LATERAL (SELECT t.reviews_today - t.five_today AS y,
                               greatest((b.reviews_base - b.five_base)::DOUBLE / b.active_days, $min_baseline_rate)
                                   AS lam_n) AS n
    CROSS JOIN LATERAL (SELECT (n.y + 1) * pow(1 - 1 / (9.0 * (n.y + 1)) + $popularity_z / (3 * sqrt(n.y + 1)), 3)
                                   / n.lam_n AS ratio_up) AS up
    CROSS JOIN LATERAL (SELECT CASE WHEN n.y > 0
                                    THEN n.y * pow(greatest(0.0, 1 - 1 / (9.0 * n.y) - $popularity_z / (3 * sqrt(n.y))), 3)
                                    ELSE 0.0 END / n.lam_n AS ratio_lo) AS lo
),
scored AS (
    SELECT t.*, b.active_days, b.five_mean, b.five_median, b.five_mad, b.five_base, b.reviews_base,
           greatest(b.five_mean, $min_baseline_rate) AS lam_own,
           greatest(b.five_mean, $min_baseline_rate) * greatest(coalesce(mr.ratio, 1.0), o.own_credit) AS lam,
           greatest(coalesce(mr.ratio, 1.0), o.own_credit) AS guard_ratio,
           coalesce(mr.ratio, 1.0) AS market_ratio, mr.median_ratio AS market_median_ratio,
           coalesce(mr.market_sellers, 0) AS market_sellers, o.ratio_up AS own_ratio_up, o.ratio_lo AS own_ratio_lo,
           o.own_credit,
           ms.mad_scale,
           0.6745 * (t.five_today - b.five_median) / ms.mad_scale AS modified_z_own,
           0.6745 * (t.five_today / greatest(coalesce(mr.ratio, 1.0), o.own_credit) - b.five_median)
               / ms.mad_scale AS modified_z,
           (b.five_base + $prior_reviews * p.p_all) / (b.reviews_base + $prior_reviews) AS base_share,
           coalesce(c.coreviewers, 0) AS coreviewers, c.co_shops,
           coalesce(c.coreviewers, 0) / greatest(tb.five_buyers, 1) AS coreviewer_share
    FROM today AS t
    JOIN baseline AS b USING (shop_id)
    CROSS JOIN platform_share AS p
    LEFT JOIN co_share AS c USING (shop_id)
    LEFT JOIN today_buyers AS tb USING (shop_id)
    JOIN own_rise AS o USING (shop_id)
    -- the modified z's scale: the baseline MAD, but never below the MAD a Poisson count with the baseline median
    -- has (0.6745 sqrt(median), the median floored at min_baseline_rate). Daily counts are integers, so the sample
    -- MAD of a few weeks is quantised: 1 for a seller with a median of 7 a day, whose Poisson sd is 2.6; against
    -- that MAD 14 five-star reviews read as modified z 4.7 while the Poisson tail is 0.016 (the clean provinces'
    -- false alarms, docs/ACCURACY.md). Counts of independent events vary at least as much as a Poisson count.
    CROSS JOIN LATERAL (SELECT greatest(b.five_mad, 0.6745 * sqrt(greatest(b.five_median, $min_baseline_rate)))
                            AS mad_scale) AS ms
    LEFT JOIN seller_platform AS sp USING (shop_id)
    LEFT JOIN market_ratio AS mr ON mr.platform = coalesce(sp.platform, 'olist')
),
tested AS (
    SELECT *,
        -- Poisson upper tails P(X >= five_today | lambda), summed term by term (log-space pmf): against the
        -- market-scaled baseline (the test) and against the seller's own baseline
        CASE WHEN five_today = 0 THEN 1.0 ELSE least(1.0, list_sum(list_transform(
            range(five_today, five_today + 60 + (10 * sqrt(lam))::BIGINT),
            lambda k: exp(-lam + k * ln(lam) - lgamma(k + 1))))) END AS poisson_p,
        CASE WHEN five_today = 0 THEN 1.0 ELSE least(1.0, list_sum(list_transform(
            range(five_today, five_today + 60 + (10 * sqrt(lam_own))::BIGINT),
            lambda k: exp(-lam_own + k * ln(lam_own) - lgamma(k + 1))))) END AS poisson_p_own,
        (five_today - reviews_today * base_share) / sqrt(nullif(reviews_today * base_share * (1 - base_share), 0)) AS share_z
    FROM scored
),
judged AS (
    SELECT *,
        -- beyond the market's rise that day (on an ordinary day R = 1: beyond the seller's own baseline)
        -- (the Poisson tail alone decides: the modified z is evidence only, docs/ACCURACY.md "False positives")
        five_today >= $min_five_star AND poisson_p < $poisson_p_threshold AS is_burst,
        -- beyond the seller's own baseline only (within the market's rise on a campaign day)
        five_today >= $min_five_star AND poisson_p_own < $poisson_p_threshold AS is_own_burst,
        coalesce(share_z > $share_z_threshold, false) AS share_anomalous,
        coreviewer_share >= $min_coreviewer_share AS co_occurring
    FROM tested
),
final AS (
    SELECT j.*, is_burst OR (is_own_burst AND (share_anomalous OR co_occurring)) AS violates,
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
    CASE WHEN is_burst AND (share_anomalous OR co_occurring) THEN 'high' ELSE 'medium' END AS severity,
    violates                                                 AS flagged,
    json_object(
        'five_star_reviews_today', five_today,
        'reviews_today', reviews_today,
        'baseline_days', $baseline_days,
        'baseline_active_days', active_days,
        'baseline_five_star_mean', round(five_mean, 4),
        'baseline_five_star_median', five_median,
        'baseline_five_star_mad', five_mad,
        'modified_z', round(modified_z, 3),
        'market_ratio', round(market_ratio, 3),
        'market_median_ratio', round(market_median_ratio, 3),
        'market_sellers', market_sellers,
        'own_non_five_star_ratio_up', round(own_ratio_up, 3),
        'own_non_five_star_ratio_lo', round(own_ratio_lo, 3),
        'own_rise_credited', round(own_credit, 3),
        'modified_z_scale', round(mad_scale, 4),
        'guard_ratio', round(guard_ratio, 3),
        'market_adjusted_baseline', round(lam, 4),
        'poisson_tail_p', poisson_p,
        'poisson_tail_p_own_baseline', poisson_p_own,
        'five_star_share_today', round(five_today / reviews_today, 4),
        'baseline_five_star_share', round(base_share, 4),
        'share_z', round(share_z, 3),
        'coreviewers', coreviewers,
        'coreviewed_shops', co_shops[1:20],
        'review_ids', five_review_ids
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
