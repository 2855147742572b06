-- complaints.surge: complaints against a merchant on the run date far above its own recent baseline.
-- One row per merchant with at least one complaint registered on the run date.
-- Expected count λ = max(baseline mean per day × market ratio, baseline complaints-per-order × orders on D,
-- $min_expected) over the $baseline_days days before D; p = P(X >= observed | Poisson(λ)) summed over [c, c + 200).
-- Market ratio (source-wide control): the source's complaints on D against its daily mean over the same baseline
-- window, leaving out the merchant itself and the one other merchant with the largest rise on D (so that neither its
-- own surge nor a single other merchant's surge passes for a market-wide rise); floored at 1 (a falling market is no
-- evidence that a merchant at its usual level surges), and the baseline floored at one complaint.
-- Parameters: $run_date, $baseline_days, $surge_ratio_threshold, $surge_min_complaints, $surge_alpha,
-- $min_expected, $min_exposure.
WITH bounds AS (
    SELECT $run_date::DATE AS run_date,
           ($run_date::DATE - $baseline_days::INTEGER)::DATE AS baseline_start
),
registry_asof AS (
    SELECT platform, shop_id, uscc, region_code FROM registry_as_of($run_date)
),
uscc_single_shop AS (
    SELECT uscc, any_value(shop_id) AS shop_id
    FROM registry_asof WHERE uscc IS NOT NULL
    GROUP BY uscc HAVING count(*) = 1
),
complaints AS (
    SELECT 'complaints_12315' AS source,
           CASE WHEN s.shop_id IS NOT NULL THEN 'shop' ELSE 'enterprise' END AS entity_type,
           coalesce(s.shop_id, c.respondent_uscc, 'unattributed') AS entity_id,
           r.platform, s.shop_id, coalesce(r.uscc, c.respondent_uscc) AS uscc,
           coalesce(r.region_code, c.region_code) AS region_code,
           c.complaint_no AS complaint_id, c.registered_date AS complaint_date
    FROM complaints_12315_as_of($run_date) AS c
    CROSS JOIN bounds AS b
    LEFT JOIN uscc_single_shop AS u ON u.uscc = c.respondent_uscc
    CROSS JOIN LATERAL (SELECT coalesce(nullif(trim(c.shop_id), ''), u.shop_id) AS shop_id) AS s
    LEFT JOIN registry_asof AS r ON r.shop_id = s.shop_id
    WHERE c.registered_date >= b.baseline_start
    UNION ALL
    SELECT 'cfpb_complaints', 'company', f.company, NULL, NULL, NULL, NULL, f.complaint_id, f.date_received
    FROM cfpb_complaints_as_of($run_date) AS f
    CROSS JOIN bounds AS b
    WHERE f.date_received >= b.baseline_start
),
entity_counts AS (
    SELECT c.source, c.entity_type, c.entity_id,
           any_value(c.platform) AS platform, any_value(c.shop_id) AS shop_id, any_value(c.uscc) AS uscc,
           mode(c.region_code ORDER BY c.region_code) AS region_code,
           count(*) FILTER (WHERE c.complaint_date = b.run_date) AS complaints_today,
           count(*) FILTER (WHERE c.complaint_date < b.run_date) AS baseline_complaints,
           list(c.complaint_id ORDER BY c.complaint_id) FILTER (WHERE c.complaint_date = b.run_date AND c.today_rank <= 20) AS today_ids
    FROM (SELECT c.*, row_number() OVER (PARTITION BY c.source, c.entity_type, c.entity_id, c.complaint_date = b.run_date
                                         ORDER BY c.complaint_id) AS today_rank
          FROM complaints AS c CROSS JOIN bounds AS b) AS c  -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    CROSS JOIN bounds AS b
    WHERE c.complaint_date <= b.run_date
    GROUP BY c.source, c.entity_type, c.entity_id
),
risers AS (
    SELECT source, entity_type, entity_id, complaints_today, baseline_complaints,
           row_number() OVER (PARTITION BY source
                              ORDER BY complaints_today - baseline_complaints / $baseline_days::DOUBLE DESC,
                                       entity_type, entity_id) AS rise_rank
    FROM entity_counts
),
market AS (
    -- per source: all complaints on D and in the baseline window, and the two merchants with the largest rise
    SELECT source,
           sum(complaints_today) AS source_today,
           sum(baseline_complaints) AS source_baseline,
           max(entity_type || ':' || entity_id) FILTER (WHERE rise_rank = 1) AS top1_key,
           coalesce(max(complaints_today) FILTER (WHERE rise_rank = 1), 0) AS top1_today,
           coalesce(max(baseline_complaints) FILTER (WHERE rise_rank = 1), 0) AS top1_baseline,
           coalesce(max(complaints_today) FILTER (WHERE rise_rank = 2), 0) AS top2_today,
           coalesce(max(baseline_complaints) FILTER (WHERE rise_rank = 2), 0) AS top2_baseline
    FROM risers
    GROUP BY source
),
per_entity AS (
    SELECT e.*,
           m.source_today - e.complaints_today
               - CASE WHEN e.entity_type || ':' || e.entity_id = m.top1_key THEN m.top2_today ELSE m.top1_today END
               AS market_today,
           m.source_baseline - e.baseline_complaints
               - CASE WHEN e.entity_type || ':' || e.entity_id = m.top1_key THEN m.top2_baseline ELSE m.top1_baseline END
               AS market_baseline
    FROM entity_counts AS e
    JOIN market AS m USING (source)
    WHERE e.complaints_today > 0
),
shop_orders AS (
    SELECT i.seller_id AS shop_id,
           count(DISTINCT i.order_id) FILTER (WHERE o.order_purchase_timestamp >= b.run_date) AS orders_today,
           count(DISTINCT i.order_id) FILTER (WHERE o.order_purchase_timestamp < b.run_date) AS baseline_orders
    FROM order_items_as_of($run_date) AS i
    JOIN orders_as_of($run_date) AS o USING (order_id)
    CROSS JOIN bounds AS b
    WHERE o.order_purchase_timestamp >= b.baseline_start
      AND o.order_purchase_timestamp < b.run_date + INTERVAL 1 DAY
      AND i.seller_id IN (SELECT shop_id FROM per_entity WHERE entity_type = 'shop')
    GROUP BY i.seller_id
),
expected AS (
    SELECT e.*, o.orders_today, o.baseline_orders,
           e.baseline_complaints / $baseline_days::DOUBLE AS baseline_mean,
           greatest(1.0, e.market_today / greatest(e.market_baseline, 1)::DOUBLE * $baseline_days::DOUBLE) AS market_ratio,
           CASE WHEN o.baseline_orders >= $min_exposure
                THEN e.baseline_complaints / o.baseline_orders::DOUBLE * o.orders_today END AS exposure_expected
    FROM per_entity AS e
    LEFT JOIN shop_orders AS o ON e.entity_type = 'shop' AND o.shop_id = e.entity_id
),
tested AS (
    SELECT *,
           greatest(baseline_mean * market_ratio, coalesce(exposure_expected, 0), $min_expected::DOUBLE) AS expected_count
    FROM expected
),
scored AS (
    SELECT *,
           complaints_today / expected_count AS surge_ratio,
           least(1.0, list_sum(list_transform(range(complaints_today, complaints_today + 200),
                 lambda j: exp(-expected_count + j * ln(expected_count) - lgamma(j + 1))))) AS p_value
    FROM tested
),
judged AS (
    SELECT *,
           coalesce(complaints_today >= $surge_min_complaints AND surge_ratio >= $surge_ratio_threshold
                    AND p_value < $surge_alpha, false) AS violates
    FROM scored
)
SELECT
    entity_type, entity_id, platform, shop_id, uscc, NULL::VARCHAR AS sku_id, region_code,
    b.run_date                                         AS window_start,
    b.run_date                                         AS window_end,
    round(surge_ratio, 4)                              AS value,
    $surge_ratio_threshold::DOUBLE                     AS threshold,
    CASE WHEN surge_ratio >= 2 * $surge_ratio_threshold THEN 'high' ELSE 'medium' END AS severity,
    violates                                           AS flagged,
    json_object(
        'date', strftime(b.run_date, '%Y-%m-%d'),
        'complaints', complaints_today,
        'baseline_window', json_array(strftime(b.baseline_start, '%Y-%m-%d'), strftime(b.run_date - 1, '%Y-%m-%d')),
        'baseline_complaints', baseline_complaints,
        'baseline_orders', baseline_orders,
        'orders_today', orders_today,
        'market_complaints', market_today,
        'market_baseline_complaints', market_baseline,
        'market_ratio', round(market_ratio, 4),
        'expected', round(expected_count, 4),
        'p_value', p_value,
        'complaint_ids', today_ids
    )::VARCHAR                                         AS evidence,
    -- mart detail columns
    source, complaints_today, baseline_complaints, baseline_orders, orders_today,
    market_today, market_baseline, round(market_ratio, 4) AS market_ratio,
    round(expected_count, 4) AS expected_today, surge_ratio, p_value, violates
FROM judged
CROSS JOIN bounds AS b
ORDER BY source, entity_id
