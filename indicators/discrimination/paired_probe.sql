-- discrimination.paired_probe: same SKU, same time (a probe round: observations of one shop x SKU less than
-- $round_gap_minutes apart), a cohort (new, existing, vip) charged more than the control accounts beyond the
-- control-vs-control noise of the platform. Parameters: $run_date, $round_gap_minutes, $noise_days, $noise_quantile,
-- $min_gap, $min_rounds.
WITH probes AS (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date > $run_date - to_days(CAST($noise_days AS INTEGER))
      AND account_cohort IS NOT NULL
      AND coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
      AND price > 0
),
sequenced AS (
    SELECT *,
           CASE WHEN observed_at - lag(observed_at) OVER w <= to_minutes(CAST($round_gap_minutes AS INTEGER)) THEN 0 ELSE 1 END AS new_round
    FROM probes
    WINDOW w AS (PARTITION BY platform, shop_id, sku_id, observed_date ORDER BY observed_at, observation_id)
),
rounds AS (
    SELECT *, sum(new_round) OVER (PARTITION BY platform, shop_id, sku_id, observed_date ORDER BY observed_at, observation_id) AS round_no
    FROM sequenced
),
control_pairs AS (
    -- control vs control in the same round: the noise of the platform's prices
    SELECT a.platform, abs(a.price - b.price)::DOUBLE / b.price AS gap
    FROM rounds AS a
    JOIN rounds AS b
      ON a.platform = b.platform AND a.shop_id = b.shop_id AND a.sku_id = b.sku_id AND a.observed_date = b.observed_date
     AND a.round_no = b.round_no AND a.account_cohort = 'control' AND b.account_cohort = 'control'
     AND a.observation_id < b.observation_id
),
noise AS (
    SELECT platform, count(*) AS control_pairs, quantile_cont(gap, $noise_quantile) AS noise_gap
    FROM control_pairs GROUP BY platform
),
round_controls AS (
    SELECT r.platform, r.shop_id, r.sku_id, r.region_code, r.observed_date, r.round_no, r.account_cohort,
           r.observation_id, r.price::DOUBLE AS price,
           median(c.price)::DOUBLE AS control_price,
           min(c.observation_id) AS control_observation_id
    FROM rounds AS r
    JOIN rounds AS c
      ON c.platform = r.platform AND c.shop_id = r.shop_id AND c.sku_id = r.sku_id AND c.observed_date = r.observed_date
     AND c.round_no = r.round_no AND c.account_cohort = 'control'
    WHERE r.account_cohort <> 'control' AND r.observed_date = $run_date
    GROUP BY r.platform, r.shop_id, r.sku_id, r.region_code, r.observed_date, r.round_no, r.account_cohort,
             r.observation_id, r.price
),
round_gaps AS (
    SELECT *, (price - control_price) / control_price AS gap FROM round_controls
),
cohort_day AS (
    SELECT g.platform, g.shop_id, g.sku_id, g.region_code, g.account_cohort,
           count(DISTINCT g.round_no)                                                  AS rounds,
           count(DISTINCT g.round_no) FILTER (WHERE g.gap > greatest(n.noise_gap, $min_gap)) AS rounds_above,
           median(g.gap)                                                               AS median_gap,
           any_value(n.noise_gap)                                                      AS noise_gap,
           any_value(n.control_pairs)                                                  AS control_pairs,
           list(g.observation_id ORDER BY g.observation_id) FILTER (WHERE g.gap > greatest(n.noise_gap, $min_gap)) AS observation_ids,
           list(DISTINCT g.control_observation_id ORDER BY g.control_observation_id)  AS control_observation_ids
    FROM round_gaps AS g
    LEFT JOIN noise AS n USING (platform)
    GROUP BY ALL
),
listing AS (
    SELECT platform, shop_id, sku_id, any_value(region_code) AS region_code,
           max(median_gap) FILTER (WHERE rounds_above >= $min_rounds)   AS worst_gap,
           max(median_gap)                                              AS max_median_gap,
           any_value(noise_gap) AS noise_gap, any_value(control_pairs) AS control_pairs,
           list(json_object('cohort', account_cohort, 'rounds', rounds, 'rounds_above', rounds_above,
                            'median_gap', round(median_gap, 4), 'observation_ids', observation_ids,
                            'control_observation_ids', control_observation_ids) ORDER BY account_cohort) AS cohorts,
           list(account_cohort ORDER BY account_cohort) FILTER (WHERE rounds_above >= $min_rounds) AS cohorts_charged_more
    FROM cohort_day
    GROUP BY platform, shop_id, sku_id
)
SELECT
    'listing_day'                                          AS entity_type,
    l.shop_id || ':' || l.sku_id || ':' || strftime($run_date::DATE, '%Y-%m-%d') AS entity_id,
    l.platform, l.shop_id, m.uscc, l.sku_id, l.region_code,
    $run_date::DATE                                        AS window_start,
    $run_date::DATE                                        AS window_end,
    round(coalesce(l.worst_gap, l.max_median_gap), 4)      AS value,
    round(greatest(l.noise_gap, $min_gap), 4)              AS threshold,
    CASE WHEN l.worst_gap >= 0.1 THEN 'high' ELSE 'medium' END AS severity,
    coalesce(len(l.cohorts_charged_more) > 0, false)       AS flagged,
    json_object('noise_gap_quantile', round(l.noise_gap, 5), 'control_pairs', l.control_pairs, 'min_gap', $min_gap,
                'cohorts_charged_more', l.cohorts_charged_more, 'cohorts', l.cohorts)::VARCHAR AS evidence
FROM listing AS l
LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = l.shop_id
ORDER BY entity_id
