-- complaints.surge: complaints against a merchant on the run date far above its own recent baseline.
-- One row per merchant with at least one complaint registered on the run date.
-- Expected count λ = max(baseline mean per day × market ratio, baseline complaints-per-order × orders on D,
-- $min_expected) over the $baseline_days days before D (for a shop that opened inside the window: the days since its
-- first order or complaint); p = the negative binomial upper tail P(X >= observed | mean λ, the source's pooled
-- dispersion alpha; Poisson when alpha = 0) summed over [c, c + 500).
-- Market ratio (source-wide control): the source's complaints on D against its daily mean over the same baseline
-- window, leaving out the merchant itself, the one other merchant with the largest rise on D, and every other
-- merchant that is itself a surge against the first market ratio (p < $market_trim_p), so that neither its own surge
-- nor other merchants' surges pass for a market-wide rise; floored at 1 (a falling market is no evidence that a
-- merchant at its usual level surges), and the baseline floored at one complaint.
-- Parameters: $run_date, $baseline_days, $surge_ratio_threshold, $surge_min_complaints, $surge_alpha,
-- $min_expected, $min_exposure, $market_trim_p.
WITH bounds AS (
    SELECT $run_date::DATE AS run_date,
           ($run_date::DATE - $baseline_days::INTEGER)::DATE AS baseline_start
),
registry_asof AS (
    SELECT platform, shop_id, uscc, region_code FROM registry_as_of($run_date)
),
uscc_single_shop AS (
    SELECT uscc, min(shop_id) AS shop_id
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
entity_raw AS (
    SELECT c.source, c.entity_type, c.entity_id,
           min(c.complaint_date) AS first_complaint_day,
           min(c.platform) AS platform, min(c.shop_id) AS shop_id, mode(c.uscc ORDER BY c.uscc) AS uscc,
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
shop_orders AS (
    -- the shops' orders in the window: on D, in the baseline, and the first order day (when a shop opened inside the
    -- baseline window, its baseline is the days since then)
    SELECT i.seller_id AS shop_id,
           min(o.order_purchase_timestamp)::DATE AS first_order_day,
           count(DISTINCT i.order_id) FILTER (WHERE o.order_purchase_timestamp >= b.run_date) AS orders_today,
           count(DISTINCT i.order_id) FILTER (WHERE o.order_purchase_timestamp < b.run_date) AS baseline_orders
    FROM order_items_as_of($run_date) AS i
    JOIN orders_as_of($run_date) AS o USING (order_id)
    CROSS JOIN bounds AS b
    WHERE o.order_purchase_timestamp >= b.baseline_start
      AND o.order_purchase_timestamp < b.run_date + INTERVAL 1 DAY
      AND i.seller_id IN (SELECT entity_id FROM entity_raw WHERE entity_type = 'shop')
    GROUP BY i.seller_id
),
entity_counts AS (
    -- active_days: the baseline days since the merchant's first order or complaint in the window when that is after
    -- the window's first day (a shop that opened inside the window), else baseline_days; base_full = its baseline
    -- complaints scaled to the full window (= baseline_complaints for a merchant active throughout), which is what
    -- the market sums add up: a market in which many merchants opened recently is not a market that rose
    SELECT e.*, o.orders_today, o.baseline_orders, a.active_days,
           -- a DECIMAL, so that the market sums below are exact: a floating-point sum adds in thread order and a
           -- rerun of the same date would move the p-value's last bits
           round(e.baseline_complaints * $baseline_days::DOUBLE / a.active_days, 9)::DECIMAL(18, 9) AS base_full
    FROM entity_raw AS e
    CROSS JOIN bounds AS b
    LEFT JOIN shop_orders AS o ON e.entity_type = 'shop' AND o.shop_id = e.entity_id
    CROSS JOIN LATERAL (SELECT least(o.first_order_day, e.first_complaint_day) AS first_day) AS f
    CROSS JOIN LATERAL (SELECT CASE WHEN e.entity_type = 'shop' AND f.first_day > b.baseline_start
                                    THEN greatest(least(b.run_date - f.first_day, $baseline_days::INTEGER), 1)
                                    ELSE $baseline_days::INTEGER END AS active_days) AS a
),
baseline_days_counts AS (
    -- the merchants' complaints per baseline day (days without complaints are zeros, added in `dispersion`)
    SELECT source, entity_type, entity_id, count(*) AS n
    FROM complaints CROSS JOIN bounds AS b
    WHERE complaint_date < b.run_date
    GROUP BY source, entity_type, entity_id, complaint_date
),
dispersion AS (
    -- the source's day-to-day over-dispersion of complaint counts, pooled over its merchants (method of moments
    -- for a negative binomial: Var = m + alpha m^2, so alpha = sum(s^2 - m) / sum(m^2) over the merchants' baseline
    -- mean m and variance s^2 of their daily counts, zero days included, floored at 0 = Poisson). Complaints come in
    -- clusters (one bad batch, one failed delivery day), so a merchant's daily count varies more than a Poisson
    -- count with its mean; a Poisson tail then calls ordinary clusters surges (docs/ACCURACY.md, "False positives").
    SELECT source,
           -- summed as DECIMALs (exact, so independent of the order rows are added in)
           greatest(0.0, sum(round(v - m, 10)::DECIMAL(28, 10))::DOUBLE
                         / nullif(sum(round(m * m, 10)::DECIMAL(28, 10))::DOUBLE, 0)) AS alpha
    FROM (SELECT source, entity_type, entity_id,
                 sum(n)::DOUBLE / min(e.active_days) AS m,
                 (sum(n * n) - sum(n) * sum(n)::DOUBLE / min(e.active_days)) / (min(e.active_days) - 1) AS v
          FROM baseline_days_counts
          JOIN entity_counts AS e USING (source, entity_type, entity_id)
          GROUP BY source, entity_type, entity_id
          HAVING min(e.active_days) >= 2)
    GROUP BY source
),
risers AS (
    SELECT source, entity_type, entity_id, complaints_today, base_full,
           row_number() OVER (PARTITION BY source
                              ORDER BY complaints_today - base_full / $baseline_days::DOUBLE DESC,
                                       entity_type, entity_id) AS rise_rank
    FROM entity_counts
),
first_market AS (
    -- per source: all complaints on D and in the baseline window, and the two merchants with the largest rise; the
    -- first market ratio M0 leaves out the largest riser
    SELECT r.source,
           sum(complaints_today) AS source_today,
           sum(base_full) AS source_baseline,
           max(entity_type || ':' || entity_id) FILTER (WHERE rise_rank = 1) AS top1_key,
           max(entity_type || ':' || entity_id) FILTER (WHERE rise_rank = 2) AS top2_key,
           coalesce(max(complaints_today) FILTER (WHERE rise_rank = 1), 0) AS top1_today,
           coalesce(max(base_full) FILTER (WHERE rise_rank = 1), 0) AS top1_baseline,
           coalesce(max(complaints_today) FILTER (WHERE rise_rank = 2), 0) AS top2_today,
           coalesce(max(base_full) FILTER (WHERE rise_rank = 2), 0) AS top2_baseline,
           coalesce(min(d.alpha), 0.0) AS alpha
    FROM risers AS r
    LEFT JOIN dispersion AS d USING (source)
    GROUP BY r.source
),
screened AS (
    -- every merchant with a complaint on D against the first market ratio M0 (source without the largest riser):
    -- a merchant whose count is itself beyond M0 x its baseline at p < market_trim_p is a surge, not the market,
    -- and is left out of every other merchant's market ratio (a rise of the market is a rise of most merchants;
    -- one or twenty surging merchants must not raise the control they are tested against)
    SELECT r.source, r.entity_type || ':' || r.entity_id AS key, r.complaints_today, r.base_full,
           coalesce(list_sum(list_transform(range(r.complaints_today, r.complaints_today + 500),
               lambda j: CASE WHEN m.alpha > 1e-9
                              THEN exp(lgamma(j + 1 / m.alpha) - lgamma(1 / m.alpha) - lgamma(j + 1)
                                       + (1 / m.alpha) * ln(1 / (1 + m.alpha * x.lam)) + j * ln(m.alpha * x.lam / (1 + m.alpha * x.lam)))
                              ELSE exp(-x.lam + j * ln(x.lam) - lgamma(j + 1)) END)) < $market_trim_p, false) AS trimmed
    FROM risers AS r
    JOIN first_market AS m USING (source)
    CROSS JOIN LATERAL (SELECT greatest(r.base_full / $baseline_days::DOUBLE
                                        * greatest(1.0, (m.source_today - m.top1_today)
                                                        / greatest(m.source_baseline - m.top1_baseline, 1)::DOUBLE
                                                        * $baseline_days),
                                        $min_expected::DOUBLE) AS lam) AS x
    WHERE r.complaints_today > 0 AND r.rise_rank > 1
),
market AS (
    SELECT m.*,
           coalesce(sum(s.complaints_today) FILTER (WHERE s.trimmed), 0) AS trim_today,
           coalesce(sum(s.base_full) FILTER (WHERE s.trimmed), 0) AS trim_baseline,
           coalesce(count(*) FILTER (WHERE s.trimmed), 0) AS trim_merchants,
           coalesce(bool_or(s.trimmed AND s.key = m.top2_key), false) AS top2_trimmed
    FROM first_market AS m
    LEFT JOIN screened AS s USING (source)
    GROUP BY ALL
),
per_entity AS (
    -- the market of merchant i: the source without i, without the largest other riser, and without the other
    -- merchants screened out as surges
    SELECT e.*, m.alpha, m.trim_merchants - coalesce(s.trimmed::INTEGER, 0) AS market_trimmed,
           m.source_today - e.complaints_today
               - CASE WHEN e.entity_type || ':' || e.entity_id = m.top1_key
                      THEN CASE WHEN m.top2_trimmed THEN 0 ELSE m.top2_today END ELSE m.top1_today END
               - (m.trim_today - CASE WHEN coalesce(s.trimmed, false) THEN e.complaints_today ELSE 0 END)
               AS market_today,
           round(m.source_baseline - e.base_full
               - CASE WHEN e.entity_type || ':' || e.entity_id = m.top1_key
                      THEN CASE WHEN m.top2_trimmed THEN 0 ELSE m.top2_baseline END ELSE m.top1_baseline END
               - (m.trim_baseline - CASE WHEN coalesce(s.trimmed, false) THEN e.base_full ELSE 0 END), 6)::DOUBLE
               AS market_baseline
    FROM entity_counts AS e
    JOIN market AS m USING (source)
    LEFT JOIN screened AS s ON s.source = e.source AND s.key = e.entity_type || ':' || e.entity_id
    WHERE e.complaints_today > 0
),
expected AS (
    SELECT e.*,
           e.baseline_complaints / e.active_days::DOUBLE AS baseline_mean,
           greatest(1.0, e.market_today / greatest(e.market_baseline, 1)::DOUBLE * $baseline_days::DOUBLE) AS market_ratio,
           CASE WHEN e.baseline_orders >= $min_exposure
                THEN e.baseline_complaints / e.baseline_orders::DOUBLE * e.orders_today END AS exposure_expected
    FROM per_entity AS e
),
tested AS (
    SELECT *,
           greatest(baseline_mean * market_ratio, coalesce(exposure_expected, 0), $min_expected::DOUBLE) AS expected_count
    FROM expected
),
scored AS (
    SELECT *,
           complaints_today / expected_count AS surge_ratio,
           -- negative binomial upper tail with the source's dispersion alpha (Poisson when alpha = 0)
           least(1.0, list_sum(list_transform(range(complaints_today, complaints_today + 500),
                 lambda j: CASE WHEN alpha > 1e-9
                                THEN exp(lgamma(j + 1 / alpha) - lgamma(1 / alpha) - lgamma(j + 1)
                                         + (1 / alpha) * ln(1 / (1 + alpha * expected_count))
                                         + j * ln(alpha * expected_count / (1 + alpha * expected_count)))
                                ELSE exp(-expected_count + j * ln(expected_count) - lgamma(j + 1)) END))) AS p_value
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
        'baseline_active_days', active_days,
        'baseline_orders', baseline_orders,
        'orders_today', orders_today,
        'market_complaints', market_today,
        'market_baseline_complaints', market_baseline,
        'market_ratio', round(market_ratio, 4),
        'expected', round(expected_count, 4),
        'dispersion', round(alpha, 4),
        'market_merchants_screened_out', market_trimmed,
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
