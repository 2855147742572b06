-- competition.exclusive_dealing (二选一): multi-homing merchants leaving every platform but one, concentrated on the
-- platform they keep. One row per kept platform x month (the month of D and the $report_months - 1 before it) with
-- at least one exit toward it; flagged when the exits are far above what the other platforms drew that month and
-- what this platform drew in its own $history_months past months.
--
-- A merchant is a legal entity (统一社会信用代码, the register's uscc of the shop); it is present on a platform on a
-- day when the price feed observed one of its listings there. An exit on day x (the first day gone):
--   * multi-homing: present on >= 2 platforms in the $multihoming_days days before x;
--   * every platform it left had its last day in [x - $exit_span_days, x - 1] and shows no listing in the
--     $away_days days [x, x + $away_days - 1] (so it stayed away at least $away_days days);
--   * exactly one platform (the kept one, present before x) shows it in those $away_days days, and still shows it
--     in their last $kept_check_days days or later: a merchant that closes everywhere (or winds down on the kept
--     platform too) is not an exit;
--   * the away window has ended by D (x + $away_days - 1 <= D): nothing after D is read.
-- Expected exits toward platform k in month M = multi-homing merchants on k in M (present on k and on another
-- platform in [M start - $multihoming_days, M end]) x max(the other platforms' exit rate in M, k's own rate in its
-- $history_months months before M, $min_rate). p = P(X >= exits | Poisson(expected)).
-- Parameters: $run_date, $multihoming_days, $exit_span_days, $away_days, $kept_check_days, $report_months,
-- $history_months, $min_rate, $min_exits, $min_multihoming, $ratio_threshold, $alpha.
WITH bounds AS (
    SELECT $run_date::DATE AS run_date,
           date_trunc('month', $run_date::DATE)::DATE AS this_month,
           (date_trunc('month', $run_date::DATE)
               - to_months(CAST($report_months AS INTEGER) - 1))::DATE AS first_reported_month,
           (date_trunc('month', $run_date::DATE)
               - to_months(CAST($report_months AS INTEGER) - 1 + CAST($history_months AS INTEGER)))::DATE AS first_month
),
history AS (
    SELECT *, (first_month - CAST($multihoming_days AS INTEGER))::DATE AS history_start FROM bounds
),
registered_shops AS (
    -- the shops of merchants registered on two or more platforms: only they can multi-home (a merchant with shops on
    -- one platform never can), so the feed is read for them alone
    SELECT shop_id, uscc
    FROM (SELECT shop_id, uscc, count(DISTINCT platform) OVER (PARTITION BY uscc) AS platforms
          FROM registry_as_of($run_date)
          WHERE nullif(trim(uscc), '') IS NOT NULL)
    WHERE platforms >= 2
),
presence AS (
    -- one row per merchant, platform and day with at least one of its listings observed
    SELECT DISTINCT r.uscc AS merchant_id, o.platform, o.observed_date AS d
    FROM price_observations_as_of($run_date) AS o
    JOIN registered_shops AS r ON r.shop_id = o.shop_id
    CROSS JOIN history AS h
    WHERE o.observed_date >= h.history_start
      AND nullif(trim(o.platform), '') IS NOT NULL
),
spell_ends AS (
    -- a last day on a platform followed by at least $away_days days without a listing there (as far as D shows)
    SELECT merchant_id, platform, d AS last_day, next_day
    FROM (SELECT merchant_id, platform, d, lead(d) OVER (PARTITION BY merchant_id, platform ORDER BY d) AS next_day
          FROM presence)
    WHERE coalesce(next_day, DATE '9999-12-31') > d + CAST($away_days AS INTEGER)
),
candidates AS (
    SELECT DISTINCT s.merchant_id, (s.last_day + 1)::DATE AS x
    FROM spell_ends AS s
    CROSS JOIN history AS h
    WHERE s.last_day + 1 >= h.first_month
      AND s.last_day + CAST($away_days AS INTEGER) <= h.run_date
),
per_platform AS (
    -- each candidate's platforms: last day before x (within the multi-homing window), days in the away window,
    -- days in the last $kept_check_days days of the away window or later
    SELECT c.merchant_id, c.x, p.platform,
           max(p.d) FILTER (WHERE p.d < c.x)                                                AS last_before,
           count(*) FILTER (WHERE p.d >= c.x AND p.d <= c.x + CAST($away_days AS INTEGER) - 1) AS days_away_window,
           count(*) FILTER (WHERE p.d >= c.x + CAST($away_days AS INTEGER) - CAST($kept_check_days AS INTEGER)) AS days_late
    FROM candidates AS c
    JOIN presence AS p ON p.merchant_id = c.merchant_id AND p.d >= c.x - CAST($multihoming_days AS INTEGER)
    GROUP BY c.merchant_id, c.x, p.platform
),
per_candidate AS (
    SELECT merchant_id, x,
           count(*) FILTER (WHERE last_before IS NOT NULL)                                   AS platforms_before,
           list(platform ORDER BY platform) FILTER (WHERE days_away_window > 0)              AS remaining,
           list(platform ORDER BY platform) FILTER (WHERE last_before IS NOT NULL AND days_away_window = 0
                                                    AND last_before >= x - CAST($exit_span_days AS INTEGER)) AS left_platforms,
           bool_or(last_before IS NOT NULL AND days_away_window > 0 AND days_late > 0)       AS kept_still_active
    FROM per_platform
    GROUP BY merchant_id, x
),
exits AS (
    SELECT merchant_id, x AS exit_date, remaining[1] AS kept_platform, left_platforms,
           date_trunc('month', x)::DATE AS month
    FROM per_candidate
    WHERE platforms_before >= 2
      AND len(remaining) = 1
      AND kept_still_active
      AND len(left_platforms) >= 1
),
months AS (
    SELECT CAST(m AS DATE) AS month, (CAST(m AS DATE) + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS month_end
    FROM history AS h, generate_series(h.first_month, h.this_month, INTERVAL 1 MONTH) AS g(m)
),
multihoming AS (
    -- merchants at risk of exiting toward platform k in month M: present on k and on another platform in
    -- [M start - $multihoming_days, M end] (M end capped at D)
    SELECT month, platform, count(*) AS merchants
    FROM (
        SELECT mo.month, p.merchant_id, list(DISTINCT p.platform) AS platforms
        FROM months AS mo
        CROSS JOIN history AS h
        JOIN presence AS p
          ON p.d >= mo.month - CAST($multihoming_days AS INTEGER) AND p.d <= least(mo.month_end, h.run_date)
        GROUP BY mo.month, p.merchant_id
        HAVING count(DISTINCT p.platform) >= 2
    ), unnest(platforms) AS u(platform)
    GROUP BY month, platform
),
exit_counts AS (
    SELECT month, kept_platform AS platform, count(*) AS exits FROM exits GROUP BY ALL
),
cells AS (
    SELECT coalesce(m.month, e.month) AS month, coalesce(m.platform, e.platform) AS platform,
           coalesce(m.merchants, 0) AS multihoming_merchants, coalesce(e.exits, 0) AS exits
    FROM multihoming AS m
    FULL JOIN exit_counts AS e ON e.month = m.month AND e.platform = m.platform
),
scored AS (
    SELECT c.month, c.platform, c.exits, c.multihoming_merchants,
           (SELECT sum(o.exits) / nullif(sum(o.multihoming_merchants), 0)
            FROM cells AS o WHERE o.month = c.month AND o.platform <> c.platform)          AS other_platforms_rate,
           (SELECT sum(o.exits) / nullif(sum(o.multihoming_merchants), 0)
            FROM cells AS o WHERE o.platform = c.platform AND o.month < c.month
              AND o.month >= c.month - to_months(CAST($history_months AS INTEGER)))        AS own_past_rate
    FROM cells AS c
    CROSS JOIN bounds AS b
    WHERE c.month >= b.first_reported_month AND c.exits > 0
),
tested AS (
    SELECT *,
           greatest(multihoming_merchants, exits)
             * greatest(coalesce(other_platforms_rate, 0), coalesce(own_past_rate, 0), $min_rate::DOUBLE) AS expected
    FROM scored
),
judged AS (
    SELECT t.*, exits / expected AS ratio,
           least(1.0, list_sum(list_transform(range(t.exits, t.exits + 200),
                 lambda j: exp(-t.expected + j * ln(t.expected) - lgamma(j + 1))))) AS p_value
    FROM tested AS t
),
exit_lists AS (
    SELECT month, kept_platform AS platform,
           min(exit_date) AS first_exit, max(exit_date) AS last_exit,
           list(merchant_id ORDER BY exit_date, merchant_id) FILTER (WHERE exit_rank <= 50) AS merchant_ids,
           list(json_object('merchant_id', merchant_id, 'exit_date', strftime(exit_date, '%Y-%m-%d'),
                            'left_platforms', left_platforms) ORDER BY exit_date, merchant_id)
               FILTER (WHERE exit_rank <= 50) AS exit_records,
           list_sort(list_distinct(flatten(list(left_platforms)))) AS platforms_left
    FROM (SELECT *, row_number() OVER (PARTITION BY month, kept_platform ORDER BY exit_date, merchant_id) AS exit_rank
          FROM exits)  -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    GROUP BY month, kept_platform
)
SELECT
    'platform'                                          AS entity_type,
    j.platform || ':' || strftime(j.month, '%Y-%m')     AS entity_id,
    j.platform, NULL::VARCHAR AS shop_id, NULL::VARCHAR AS uscc, NULL::VARCHAR AS sku_id, NULL::VARCHAR AS region_code,
    l.first_exit                                        AS window_start,
    l.last_exit                                         AS window_end,
    round(j.ratio, 4)                                   AS value,
    $ratio_threshold::DOUBLE                            AS threshold,
    CASE WHEN j.ratio >= 2 * $ratio_threshold THEN 'high' ELSE 'medium' END AS severity,
    coalesce(j.exits >= $min_exits AND j.multihoming_merchants >= $min_multihoming
             AND j.ratio >= $ratio_threshold AND j.p_value < $alpha, false) AS flagged,
    json_object(
        'platform', j.platform,
        'month', strftime(j.month, '%Y-%m'),
        'exits', j.exits,
        'multihoming_merchants', j.multihoming_merchants,
        'exit_share', round(j.exits / greatest(j.multihoming_merchants, j.exits), 4),
        'other_platforms_rate', round(j.other_platforms_rate, 4),
        'own_past_rate', round(j.own_past_rate, 4),
        'expected', round(j.expected, 4),
        'p_value', j.p_value,
        'first_exit', strftime(l.first_exit, '%Y-%m-%d'),
        'last_exit', strftime(l.last_exit, '%Y-%m-%d'),
        'platforms_left', l.platforms_left,
        'merchant_ids', l.merchant_ids,
        'exit_records', l.exit_records
    )::VARCHAR                                          AS evidence,
    -- detail columns
    j.month, j.exits, j.multihoming_merchants, j.other_platforms_rate, j.own_past_rate, j.expected, j.ratio, j.p_value
FROM judged AS j
JOIN exit_lists AS l ON l.month = j.month AND l.platform = j.platform
ORDER BY entity_id
