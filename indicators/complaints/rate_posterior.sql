-- complaints.rate_posterior: complaint rate per 10,000 orders, Wilson interval and empirical-Bayes
-- beta-binomial posterior per merchant and month (month to date of $run_date).
-- One row per merchant with orders or complaints in the month to date (12315 shops and enterprises,
-- CFPB companies); the month's fitted prior per platform is carried on every row.
-- Attribution: a complaint counts in the month of its 登记日期 (CFPB: Date received); the exposure is the
-- shop's orders purchased in the same month up to the run date (12315 rows carry no order id).
-- Parameters: $run_date, $min_exposure, $min_complaints, $posterior_ratio_threshold, $wilson_z,
-- $fit_prior, $prior_min_shops, $prior_min_strength, $prior_max_strength, $default_prior_mean, $default_prior_strength.
-- Every source row is restricted to dates <= $run_date (loaded by then, and dated by then).
WITH RECURSIVE bounds AS (
    SELECT $run_date::DATE AS run_date, date_trunc('month', $run_date::DATE)::DATE AS month_start
),
registry_asof AS (
    -- the merchant register as known on the run date (latest row per shop loaded by then)
    SELECT platform, shop_id, uscc, region_code FROM registry_as_of($run_date)
),
uscc_single_shop AS (
    SELECT uscc, min(shop_id) AS shop_id
    FROM registry_asof WHERE uscc IS NOT NULL
    GROUP BY uscc HAVING count(*) = 1
),
resolved_12315 AS (
    -- docs/CONTRACT.md §3: a complaint joins its shop by 店铺编号, else by 被投诉人统一社会信用代码 (when that
    -- code has exactly one shop in the register); otherwise it stays at enterprise level (volume only)
    SELECT c.complaint_no, c.registered_date, c.complaint_category, c.respondent_uscc, c.region_code AS complaint_region,
           coalesce(nullif(trim(c.shop_id), ''), u.shop_id) AS shop_id
    FROM complaints_12315_as_of($run_date) AS c
    LEFT JOIN uscc_single_shop AS u ON u.uscc = c.respondent_uscc
),
complaints_mtd AS (
    SELECT 'complaints_12315' AS source,
           CASE WHEN c.shop_id IS NOT NULL THEN 'shop' ELSE 'enterprise' END AS entity_type,
           coalesce(c.shop_id, c.respondent_uscc, 'unattributed') AS entity_id,
           r.platform, c.shop_id, coalesce(r.uscc, c.respondent_uscc) AS uscc, NULL::VARCHAR AS company,
           coalesce(r.region_code, c.complaint_region) AS region_code,
           c.complaint_no AS complaint_id, c.registered_date AS complaint_date,
           coalesce(nullif(trim(c.complaint_category), ''), '未分类') AS category
    FROM resolved_12315 AS c
    CROSS JOIN bounds AS b
    LEFT JOIN registry_asof AS r ON r.shop_id = c.shop_id
    WHERE c.registered_date >= b.month_start
    UNION ALL
    SELECT 'cfpb_complaints', 'company', f.company, NULL, NULL, NULL, f.company, NULL,
           f.complaint_id, f.date_received, coalesce(nullif(trim(f.issue), ''), 'Unspecified')
    FROM cfpb_complaints_as_of($run_date) AS f
    CROSS JOIN bounds AS b
    WHERE f.date_received >= b.month_start
),
complaint_samples AS (
    -- the first 20 complaint ids of each entity (its evidence), ranked by a window and listed after, so that the list
    -- is capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"); joined to the totals after, so that their
    -- per-entity columns read complaints_mtd as before
    SELECT source, entity_type, entity_id, list(complaint_id ORDER BY complaint_id) AS complaint_ids
    FROM (SELECT source, entity_type, entity_id, complaint_id FROM complaints_mtd
          QUALIFY row_number() OVER (PARTITION BY source, entity_type, entity_id ORDER BY complaint_id) <= 20)
    GROUP BY source, entity_type, entity_id
),
complaint_totals AS (
    SELECT source, entity_type, entity_id,
           min(platform) AS platform, min(shop_id) AS shop_id, mode(uscc ORDER BY uscc) AS uscc,
           min(company) AS company, mode(region_code ORDER BY region_code) AS region_code,
           count(*) AS complaints
    FROM complaints_mtd
    GROUP BY source, entity_type, entity_id
),
complaint_counts AS (
    SELECT t.*, s.complaint_ids
    FROM complaint_totals AS t
    LEFT JOIN complaint_samples AS s
      ON s.source = t.source AND s.entity_type = t.entity_type AND s.entity_id IS NOT DISTINCT FROM t.entity_id
),
category_counts AS (
    SELECT source, entity_type, entity_id,
           list({'category': category, 'complaints': n} ORDER BY n DESC, category) AS categories
    FROM (SELECT source, entity_type, entity_id, category, count(*) AS n FROM complaints_mtd GROUP BY ALL)
    GROUP BY ALL
),
shop_day_orders AS (
    -- orders purchased from the shop in the month to date (an order with items of two shops counts for both)
    SELECT i.seller_id AS shop_id, o.order_purchase_timestamp::DATE AS day, count(DISTINCT i.order_id) AS orders
    FROM order_items_as_of($run_date) AS i
    JOIN orders_as_of($run_date) AS o USING (order_id)
    CROSS JOIN bounds AS b
    WHERE o.order_purchase_timestamp >= b.month_start
      AND o.order_purchase_timestamp < b.run_date + INTERVAL 1 DAY
    GROUP BY ALL
),
exposure AS (
    SELECT shop_id, sum(orders) AS orders FROM shop_day_orders GROUP BY shop_id
),
shop_day_complaints AS (
    SELECT entity_id AS shop_id, min(platform) AS platform, complaint_date AS day, count(*) AS complaints
    FROM complaints_mtd
    WHERE source = 'complaints_12315' AND entity_type = 'shop'
    GROUP BY entity_id, complaint_date
),
platform_raw_rate AS (
    -- the platform's pooled raw rate of the month to date (for the daily cap only)
    SELECT coalesce(r.platform, 'unknown') AS platform_key,
           sum(c.complaints) / nullif(sum(e.orders), 0)::DOUBLE AS raw_rate
    FROM exposure AS e
    LEFT JOIN registry_asof AS r ON r.shop_id = e.shop_id
    LEFT JOIN (SELECT shop_id, sum(complaints) AS complaints FROM shop_day_complaints GROUP BY shop_id) AS c
           ON c.shop_id = e.shop_id
    GROUP BY ALL
),
capped AS (
    -- the rate models measure the sustained level: each day's complaints count at most
    -- max(daily_cap_min, ceil(daily_cap_threshold_multiple x posterior_ratio_threshold x platform raw rate x the
    -- day's orders)); one-day surges are complaints.surge's job. The cap sits above the threshold on purpose: a
    -- cap at the threshold (5 x the platform's rate, as before session 28) let no shop with busy days be flagged,
    -- since every such day counted at most the threshold's rate and the prior pulled the month below it.
    SELECT c.shop_id,
           sum(least(c.complaints,
                     greatest($daily_cap_min::DOUBLE,
                              ceil($daily_cap_threshold_multiple * $posterior_ratio_threshold
                                   * coalesce(p.raw_rate, 0) * coalesce(o.orders, 0))))) AS k_capped
    FROM shop_day_complaints AS c
    LEFT JOIN registry_asof AS r ON r.shop_id = c.shop_id
    LEFT JOIN platform_raw_rate AS p ON p.platform_key = coalesce(r.platform, 'unknown')
    LEFT JOIN shop_day_orders AS o ON o.shop_id = c.shop_id AND o.day = c.day
    GROUP BY c.shop_id
),
merchants AS (
    SELECT coalesce(c.source, 'complaints_12315') AS source,
           coalesce(c.entity_type, 'shop') AS entity_type,
           coalesce(c.entity_id, e.shop_id) AS entity_id,
           coalesce(c.platform, r.platform) AS platform,
           coalesce(c.shop_id, e.shop_id) AS shop_id,
           coalesce(c.uscc, r.uscc) AS uscc,
           c.company,
           coalesce(r.region_code, c.region_code) AS region_code,
           coalesce(c.complaints, 0) AS complaints,
           e.orders,
           coalesce(c.complaint_ids, []) AS complaint_ids,
           cp.k_capped
    FROM complaint_counts AS c
    FULL OUTER JOIN exposure AS e ON c.entity_type = 'shop' AND c.entity_id = e.shop_id
    LEFT JOIN registry_asof AS r ON r.shop_id = coalesce(c.shop_id, e.shop_id)
    LEFT JOIN capped AS cp ON cp.shop_id = coalesce(c.shop_id, e.shop_id) AND coalesce(c.entity_type, 'shop') = 'shop'
),
rated AS (
    SELECT *,
           coalesce(platform, 'unknown') AS platform_key,
           least(coalesce(k_capped, complaints), orders)::DOUBLE AS k,   -- daily-capped, and never above the orders
           least(complaints, orders)::DOUBLE AS k_raw,
           orders::DOUBLE AS n,
           coalesce(orders >= $min_exposure, false) AS exposure_gate_passed
    FROM merchants
),
prior_input AS (
    -- method of moments on the merchants with the minimum exposure. The moments are summed as DECIMALs (k/n to 12
    -- places, 1/n to 15), whose sums are exact: a floating-point var_samp()/avg() adds in thread order, so a rerun
    -- of the same date could move the posterior's last bits and, at the threshold, a flag
    SELECT platform_key, entity_id, k, n,
           round(k / n, 12)::DECIMAL(18, 12) AS p, round(1 / n, 15)::DECIMAL(18, 15) AS inv_n
    FROM rated WHERE orders >= $min_exposure
),
moment_sums AS (
    SELECT coalesce(platform_key, '*all*') AS platform_key, count(*) AS shops, sum(k) AS k, sum(n) AS n,
           sum(p) AS s1, sum(p * p) AS s2, sum(inv_n) AS s_inv
    FROM prior_input GROUP BY GROUPING SETS ((platform_key), ())
),
moments AS (
    -- sample variance (N·Σp² − (Σp)²) / (N(N−1)), its numerator exact
    SELECT platform_key, shops, k / n AS m,
           CASE WHEN shops > 1 THEN (shops * s2 - s1 * s1)::DOUBLE / (shops * (shops - 1)) END AS v_obs,
           s_inv::DOUBLE / shops AS mean_inv_n
    FROM moment_sums
),
first_fits AS (
    -- the prior of every gated merchant, per platform and over all platforms ('*all*'):
    -- between-merchant variance = observed variance of k/n minus the binomial noise m(1-m)·mean(1/n);
    -- strength α+β = m(1-m)/variance - 1, bounded to [min, max]; no excess variance -> the cap (maximal pooling)
    SELECT platform_key, shops, m,
           CASE WHEN v_obs - m * (1 - m) * mean_inv_n > 0
                THEN least(greatest(m * (1 - m) / (v_obs - m * (1 - m) * mean_inv_n) - 1, $prior_min_strength::DOUBLE), $prior_max_strength::DOUBLE)
                ELSE $prior_max_strength::DOUBLE END AS strength
    FROM moments
    WHERE shops >= $prior_min_shops AND m > 0 AND $fit_prior
),
mean_revisions AS (
    -- The benchmark is the rate of the merchants the rule would not flag. A platform's pooled rate is weighted by
    -- orders, so a few busy merchants with many complaints raise it and then hide each other (masking). As in
    -- Phase I of a control chart (points outside the limits are removed and the centre line revised until none is
    -- left: Montgomery, Introduction to Statistical Quality Control, ch. 6), the mean is refitted without the
    -- merchants flagged against the previous mean, until that set no longer changes. A merchant is flagged when
    -- k >= min_complaints and (m·S + k)/(S + n) >= threshold·m, that is k >= m·((threshold−1)·S + threshold·n):
    -- a lower mean flags a superset, and leaving flagged merchants (rates above the mean) out lowers the mean, so
    -- the revisions only go down and stop. The strength S stays the first fit's: the spread between merchants is
    -- measured on all of them (a prior fitted on the ordinary ones alone would deny that outliers exist and shrink
    -- every one of them back to the mean). A clean platform flags nobody at the first mean: no revision.
    SELECT platform_key, 1 AS pass, m, strength, shops AS shops_kept, false AS settled
    FROM first_fits
    UNION ALL
    SELECT platform_key, pass + 1, m_next, strength, shops_kept, m_next = m
    FROM (SELECT r.platform_key, r.pass, r.m, r.strength, count(i.k) AS shops_kept,
                 -- keep the previous mean if the revision would leave fewer than prior_min_shops or no complaint
                 CASE WHEN count(i.k) >= $prior_min_shops AND sum(i.k) > 0 THEN sum(i.k) / sum(i.n) ELSE r.m END AS m_next
          FROM mean_revisions AS r
          LEFT JOIN prior_input AS i
                 ON (r.platform_key = '*all*' OR i.platform_key = r.platform_key)
                AND NOT (i.k >= $min_complaints
                         AND i.k >= r.m * (($posterior_ratio_threshold - 1) * r.strength + $posterior_ratio_threshold * i.n))
          WHERE NOT r.settled AND r.pass < 20
          GROUP BY r.platform_key, r.pass, r.m, r.strength)
),
fits AS (
    SELECT f.platform_key, f.shops, r.m, f.strength, f.shops - r.shops_kept AS left_out
    FROM first_fits AS f
    JOIN mean_revisions AS r USING (platform_key)
    QUALIFY r.pass = max(r.pass) OVER (PARTITION BY f.platform_key)
),
with_prior AS (
    SELECT r.*,
           coalesce(fp.m, fa.m, $default_prior_mean::DOUBLE) AS prior_mean,
           coalesce(fp.strength, fa.strength, $default_prior_strength::DOUBLE) AS prior_strength,
           CASE WHEN fp.m IS NOT NULL THEN 'platform_month'
                WHEN fa.m IS NOT NULL THEN 'all_platforms_month'
                ELSE 'default' END AS prior_source,
           coalesce(fp.shops, fa.shops, 0) AS prior_shops,
           coalesce(fp.left_out, fa.left_out, 0) AS prior_left_out
    FROM rated AS r
    LEFT JOIN fits AS fp ON fp.platform_key = r.platform_key
    LEFT JOIN fits AS fa ON fa.platform_key = '*all*'
),
scored AS (
    SELECT *,
           prior_mean * prior_strength AS prior_alpha,
           (1 - prior_mean) * prior_strength AS prior_beta,
           CASE WHEN n > 0 THEN complaints / n END AS raw_rate,
           CASE WHEN n > 0 THEN (prior_mean * prior_strength + k) / (prior_strength + n) END AS posterior_rate,
           CASE WHEN n > 0 THEN
               ((k_raw / n) + $wilson_z * $wilson_z / (2 * n)
                - $wilson_z * sqrt((k_raw / n) * (1 - k_raw / n) / n + $wilson_z * $wilson_z / (4 * n * n)))
               / (1 + $wilson_z * $wilson_z / n) END AS wilson_low,
           CASE WHEN n > 0 THEN
               ((k_raw / n) + $wilson_z * $wilson_z / (2 * n)
                + $wilson_z * sqrt((k_raw / n) * (1 - k_raw / n) / n + $wilson_z * $wilson_z / (4 * n * n)))
               / (1 + $wilson_z * $wilson_z / n) END AS wilson_high
    FROM with_prior
),
shares AS (
    SELECT *,
           complaints / nullif(sum(complaints) OVER (PARTITION BY source, platform_key), 0) AS complaint_share,
           CASE WHEN exposure_gate_passed AND source = 'complaints_12315' THEN
               rank() OVER (PARTITION BY source, platform_key, exposure_gate_passed ORDER BY posterior_rate DESC)
           END AS posterior_rank,
           posterior_rate / nullif(prior_mean, 0) AS posterior_ratio
    FROM scored
),
judged AS (
    SELECT *,
           coalesce(exposure_gate_passed AND complaints >= $min_complaints
                    AND posterior_ratio >= $posterior_ratio_threshold, false) AS violates
    FROM shares
)
SELECT
    entity_type, entity_id, platform, shop_id, uscc, NULL::VARCHAR AS sku_id, region_code,
    b.month_start                                      AS window_start,
    b.run_date                                         AS window_end,
    round(posterior_ratio, 4)                          AS value,
    $posterior_ratio_threshold::DOUBLE                 AS threshold,
    CASE WHEN posterior_ratio >= 2 * $posterior_ratio_threshold THEN 'high' ELSE 'medium' END AS severity,
    violates                                           AS flagged,
    json_object(
        'month', strftime(b.month_start, '%Y-%m'),
        'complaints', complaints,
        'complaints_after_daily_cap', k,
        'orders', orders,
        'raw_rate_per_10k', round(10000 * raw_rate, 2),
        'posterior_rate_per_10k', round(10000 * posterior_rate, 2),
        'prior_rate_per_10k', round(10000 * prior_mean, 2),
        'prior_alpha', round(prior_mean * prior_strength, 4),
        'prior_beta', round((1 - prior_mean) * prior_strength, 4),
        'prior_source', prior_source,
        'prior_left_out_merchants', prior_left_out,
        'wilson_low_per_10k', round(10000 * wilson_low, 2),
        'wilson_high_per_10k', round(10000 * wilson_high, 2),
        'complaint_ids', complaint_ids
    )::VARCHAR                                         AS evidence,
    -- mart detail columns
    source, company, b.month_start AS month, complaints, k AS complaints_capped, orders, complaint_share,
    raw_rate, wilson_low, wilson_high, posterior_rate, posterior_ratio, posterior_rank, exposure_gate_passed,
    prior_mean, prior_strength, prior_alpha, prior_beta, prior_source, prior_shops,
    cc.categories, violates
FROM judged
CROSS JOIN bounds AS b
LEFT JOIN category_counts AS cc USING (source, entity_type, entity_id)
ORDER BY source, entity_id
