-- discrimination.paired_probe: same SKU, same time (a probe round: observations of one shop x SKU on one day less
-- than $round_gap_minutes apart: a control, a cohort and optionally a second control), a cohort (new, existing, vip)
-- charged more than the control accounts beyond the control-vs-control noise of the platform, in enough rounds over
-- the last $round_window_days days (a monitoring system probes a listing once a day: its rounds are days apart).
-- A listing is judged on the run date when it has a round that day. Parameters: $run_date, $round_gap_minutes,
-- $round_window_days, $noise_days, $noise_quantile, $min_gap, $min_rounds, $min_round_share.
WITH probes AS (
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE observed_date > $run_date - to_days(CAST(greatest($noise_days, $round_window_days) AS INTEGER))
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
    -- control vs control in the same round: the noise of the platform's prices (the last noise_days days)
    SELECT a.platform, abs(a.price - b.price)::DOUBLE / b.price AS gap
    FROM rounds AS a
    JOIN rounds AS b
      ON a.platform = b.platform AND a.shop_id = b.shop_id AND a.sku_id = b.sku_id AND a.observed_date = b.observed_date
     AND a.round_no = b.round_no AND a.account_cohort = 'control' AND b.account_cohort = 'control'
     AND a.observation_id < b.observation_id
    WHERE a.observed_date > $run_date - to_days(CAST($noise_days AS INTEGER))
),
judged_cohorts AS (
    -- the listing x cohort pairs probed on the run date: they are judged on every round of the lookback window
    SELECT DISTINCT platform, shop_id, sku_id, account_cohort
    FROM rounds
    WHERE observed_date = $run_date AND account_cohort <> 'control'
),
noise AS (
    SELECT platform, count(*) AS control_pairs, quantile_cont(gap, $noise_quantile) AS noise_gap
    FROM control_pairs GROUP BY platform
),
round_control_prices AS (
    -- each round's control price: the median of its control probes, as a window (a median() state per group, one
    -- per cohort observation, millions at 30 M observations a day, is never spilled and ran that day out of memory
    -- here; a window partition is sorted and spills: docs/BENCHMARKS.md, "Bounded plans")
    SELECT platform, shop_id, sku_id, observed_date, round_no,
           median(price) OVER rw::DOUBLE AS control_price,
           min(observation_id) OVER rw   AS control_observation_id
    FROM rounds
    WHERE account_cohort = 'control'
      AND observed_date > $run_date - to_days(CAST($round_window_days AS INTEGER))
    WINDOW rw AS (PARTITION BY platform, shop_id, sku_id, observed_date, round_no)
    QUALIFY row_number() OVER rw = 1
),
round_controls AS (
    -- every cohort observation of a judged cohort with its round's control price (a round without a control
    -- probe has no gap)
    SELECT r.platform, r.shop_id, r.sku_id, r.region_code, r.observed_date, r.round_no, r.account_cohort,
           r.observation_id, r.price::DOUBLE AS price, c.control_price, c.control_observation_id
    FROM rounds AS r
    JOIN round_control_prices AS c
      ON c.platform = r.platform AND c.shop_id = r.shop_id AND c.sku_id = r.sku_id AND c.observed_date = r.observed_date
     AND c.round_no = r.round_no
    SEMI JOIN judged_cohorts AS j
           ON j.platform = r.platform AND j.shop_id = r.shop_id AND j.sku_id = r.sku_id
          AND j.account_cohort = r.account_cohort
    WHERE r.account_cohort <> 'control'
      AND r.observed_date > $run_date - to_days(CAST($round_window_days AS INTEGER))
),
round_gaps AS (
    -- the cohort's median gap as a window over its observations, not a median() in cohort_day: a median() state
    -- per listing x cohort (about 5 M at 100 M observations a day) is never spilled and ran that day out of
    -- memory, while a window partition is sorted and spills (lists and distinct counts there do spill);
    -- the same value (docs/BENCHMARKS.md, "Bounded plans")
    SELECT *, (price - control_price) / control_price AS gap,
           median((price - control_price) / control_price) OVER (
               PARTITION BY platform, shop_id, sku_id, account_cohort) AS cohort_median_gap
    FROM round_controls
),
cohort_day AS (
    -- a round is (day, round number of the day): rounds on different days count separately
    SELECT g.platform, g.shop_id, g.sku_id, min(g.region_code) AS region_code, g.account_cohort,
           count(DISTINCT (g.observed_date, g.round_no))                               AS rounds,
           count(DISTINCT (g.observed_date, g.round_no)) FILTER (WHERE g.gap > greatest(n.noise_gap, $min_gap)) AS rounds_above,
           count(DISTINCT g.observed_date)                                             AS round_days,
           min(g.observed_date)                                                        AS first_round_date,
           min(g.cohort_median_gap)                                                    AS median_gap,
           min(n.noise_gap)                                                            AS noise_gap,
           min(n.control_pairs)                                                        AS control_pairs,
           list(g.observation_id ORDER BY g.observation_id) FILTER (WHERE g.gap > greatest(n.noise_gap, $min_gap)) AS observation_ids,
           list(DISTINCT g.control_observation_id ORDER BY g.control_observation_id)  AS control_observation_ids
    FROM round_gaps AS g
    LEFT JOIN noise AS n USING (platform)
    GROUP BY g.platform, g.shop_id, g.sku_id, g.account_cohort
),
cohort_judged AS (
    -- charged more in at least min_rounds rounds and in at least min_round_share of the cohort's rounds: under
    -- no discrimination a round beats the p99 noise with probability <= 1 - noise_quantile, so a share of rounds
    -- keeps a long window of many rounds from collecting chance exceedances
    SELECT *, rounds_above >= $min_rounds AND rounds_above >= $min_round_share * rounds AS charged_more
    FROM cohort_day
),
listing AS (
    SELECT platform, shop_id, sku_id, min(region_code) AS region_code,
           min(first_round_date)                                        AS first_round_date,
           max(median_gap) FILTER (WHERE charged_more)                  AS worst_gap,
           max(median_gap)                                              AS max_median_gap,
           min(noise_gap) AS noise_gap, min(control_pairs) AS control_pairs,
           list(json_object('cohort', account_cohort, 'rounds', rounds, 'rounds_above', rounds_above,
                            'round_days', round_days, 'first_round_date', first_round_date,
                            'median_gap', round(median_gap, 4), 'observation_ids', observation_ids,
                            'control_observation_ids', control_observation_ids) ORDER BY account_cohort) AS cohorts,
           list(account_cohort ORDER BY account_cohort) FILTER (WHERE charged_more) AS cohorts_charged_more
    FROM cohort_judged
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
                'round_window_days', $round_window_days, 'first_round_date', l.first_round_date,
                'cohorts_charged_more', l.cohorts_charged_more, 'cohorts', l.cohorts)::VARCHAR AS evidence
FROM listing AS l
LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = l.shop_id
ORDER BY entity_id
