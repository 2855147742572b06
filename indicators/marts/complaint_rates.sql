-- complaint_rates: one row per merchant (and platform, region) x month; the partition dt=D holds the
-- month to date [first day of D's month, D], recomputed every day.
-- Parameters: $run_date, $pipeline_version, $schema_version.
WITH rates AS (
    SELECT * FROM work.ind__complaints__rate_posterior
),
handling AS (
    SELECT * FROM work.ind__complaints__untimely_response
),
surges AS (
    SELECT * FROM work.ind__complaints__surge
)
SELECT
    $run_date::DATE                                        AS dt,
    r.month                                                AS month,
    r.source                                               AS source,
    r.entity_type                                          AS entity_type,
    r.entity_id                                            AS entity_id,
    r.platform, r.shop_id, r.uscc, r.company, r.region_code,
    r.complaints::BIGINT                                   AS complaints,
    round(r.complaint_share, 6)                            AS complaint_share,
    r.orders::BIGINT                                       AS orders,
    round(10000 * r.raw_rate, 2)                           AS raw_rate_per_10k,
    round(10000 * r.wilson_low, 2)                         AS wilson_low_per_10k,
    round(10000 * r.wilson_high, 2)                        AS wilson_high_per_10k,
    round(10000 * r.posterior_rate, 2)                     AS posterior_rate_per_10k,
    round(r.posterior_ratio, 4)                            AS posterior_ratio,
    r.exposure_gate_passed                                 AS exposure_gate_passed,
    r.posterior_rank::INTEGER                              AS posterior_rank,
    round(10000 * r.prior_mean, 4)                         AS prior_rate_per_10k,
    round(r.prior_alpha, 6)                                AS prior_alpha,
    round(r.prior_beta, 6)                                 AS prior_beta,
    r.prior_source                                         AS prior_source,
    r.prior_shops::INTEGER                                 AS prior_shops,
    coalesce(h.timely_known, 0)::BIGINT                    AS timely_known,
    coalesce(h.timely_responses, 0)::BIGINT                AS timely_responses,
    round(h.timely_rate, 6)                                AS timely_rate,
    coalesce(h.closed_complaints, 0)::BIGINT               AS closed_complaints,
    coalesce(h.relief_complaints, 0)::BIGINT               AS relief_complaints,
    round(h.relief_rate, 6)                                AS relief_rate,
    coalesce(h.open_complaints, 0)::BIGINT                 AS open_complaints,
    h.recovered_yuan::DECIMAL(18, 2)                       AS recovered_yuan,
    coalesce(s.complaints_today, 0)::BIGINT                AS complaints_today,
    s.expected_today                                       AS expected_today,
    r.violates                                             AS flag_rate_posterior,
    coalesce(h.violates, false)                            AS flag_untimely_response,
    coalesce(s.violates, false)                            AS flag_surge,
    -- schema 2: more of the indicators' evidence figures as typed columns
    r.complaints_capped::DOUBLE                            AS complaints_capped,
    s.orders_today::BIGINT                                 AS orders_today,
    s.baseline_complaints::BIGINT                          AS surge_baseline_complaints,
    s.baseline_orders::BIGINT                              AS surge_baseline_orders,
    s.surge_ratio::DOUBLE                                  AS surge_ratio,
    s.p_value::DOUBLE                                      AS surge_p_value,
    h.window_complaints::BIGINT                            AS untimely_window_complaints,
    h.window_timely_known::BIGINT                          AS untimely_window_timely_known,
    h.window_untimely::BIGINT                              AS untimely_window_untimely,
    round(h.untimely_share, 6)                             AS untimely_window_share,
    -- schema 3: whether complaints.untimely_response could judge the late share (too few answers: not judged)
    h.judgement_status::VARCHAR                            AS untimely_judgement_status,
    h.required_answers::INTEGER                            AS untimely_required_answers,
    $pipeline_version::VARCHAR                             AS pipeline_version,
    $schema_version::INTEGER                               AS schema_version
FROM rates AS r
LEFT JOIN handling AS h USING (source, entity_type, entity_id)
LEFT JOIN surges AS s USING (source, entity_type, entity_id)
ORDER BY source, entity_id
