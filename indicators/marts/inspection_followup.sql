-- inspection_followup: 一公开 of the 双随机 draw. One row per merchant (uscc) drawn by inspection_sample in the
-- last $horizon_days days: the latest spot check its draws opened, the result known as of the run date, and whether
-- the result is overdue. Built by indicators/credit/followup.py (parameters from
-- indicators/credit/config/inspection.yml, overridable in HOME/config.yml under `indicators: {inspection: …}`).
--
-- A merchant's spot check ("task") is opened by a draw and closed by the first result dated (检查日期) on or
-- after it. The draw runs every day, so a merchant may be drawn again while its check is still open (the
-- draw puts firms drawn in the last 12 months at the back of their stratum, but draws them again when the
-- stratum runs out): such a draw joins the open check instead of opening a new one, so the days since the
-- draw count from the draw that opened it and a result answers the check whatever later draws came in
-- between. A draw after a result opens a new check. The row is the merchant's latest check.
--
-- Inputs, as of the run date: the published draws before it (meta.inspection_draws of the dates in
-- meta.published_partitions) and the run's own candidate draw (work.mart__inspection_sample, dt = $run_date:
-- blocked with it at the gate), the results loaded and dated by then (inspection_results_as_of, latest
-- version per task and firm), and the run's tier list (work.mart__merchant_credit_tiers) for the name and the
-- current tier.
-- Parameters: $run_date, $followup_days, $horizon_days, $pipeline_version, $schema_version.
WITH draws AS (
    SELECT d.dt, d.uscc, d.tier, d.region_code, d.seed
    FROM meta.inspection_draws AS d
    JOIN meta.published_partitions AS p ON p.mart = 'inspection_sample' AND p.dt = d.dt
    WHERE d.dt < $run_date
    UNION ALL
    SELECT dt, uscc, tier, region_code, seed
    FROM work.mart__inspection_sample
    WHERE dt = $run_date
),
results AS (
    SELECT task_id, uscc, company_name, inspection_item, inspection_date, result, authority,
           inspection_result_class(result) AS result_class
    FROM inspection_results_as_of($run_date)
),
draw_gaps AS (
    SELECT *, lag(dt) OVER (PARTITION BY uscc ORDER BY dt) AS previous_draw_dt
    FROM draws
),
answered_before AS (
    -- draws with a result dated between the previous draw of the same merchant and this one: the check the
    -- previous draw belonged to was closed, so this draw opens a new one
    SELECT DISTINCT g.uscc, g.dt
    FROM draw_gaps AS g
    JOIN results AS r ON r.uscc = g.uscc AND r.inspection_date >= g.previous_draw_dt AND r.inspection_date < g.dt
),
openings AS (
    SELECT g.uscc, g.dt AS draw_dt, g.tier, g.region_code, g.seed
    FROM draw_gaps AS g
    LEFT JOIN answered_before AS a USING (uscc, dt)
    WHERE g.previous_draw_dt IS NULL OR a.uscc IS NOT NULL
),
latest_opening AS (
    SELECT * FROM openings
    QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY draw_dt DESC) = 1
),
latest_check AS (
    -- the merchant's latest check, with the draws that joined it; followed up while the merchant was drawn in
    -- the last $horizon_days days (a check still open from an older draw stays, counted from that draw)
    SELECT o.*, max(d.dt) AS last_draw_dt, count(*) AS draws_in_check
    FROM latest_opening AS o
    JOIN draws AS d ON d.uscc = o.uscc AND d.dt >= o.draw_dt
    GROUP BY ALL
    HAVING max(d.dt) > $run_date - CAST($horizon_days AS INTEGER)
),
matched AS (
    -- the first result on or after the opening draw (ties on the date: the smallest task number)
    SELECT c.uscc, r.task_id, r.company_name, r.inspection_item, r.inspection_date, r.result, r.authority,
           r.result_class
    FROM latest_check AS c
    JOIN results AS r ON r.uscc = c.uscc AND r.inspection_date >= c.draw_dt
    QUALIFY row_number() OVER (PARTITION BY c.uscc ORDER BY r.inspection_date, r.task_id) = 1
)
SELECT
    $run_date::DATE                                            AS dt,
    c.uscc,
    coalesce(t.company_name, m.company_name)                   AS company_name,
    c.region_code,
    c.tier,
    t.tier                                                     AS current_tier,
    c.draw_dt,
    c.last_draw_dt,
    CAST(c.draws_in_check AS INTEGER)                          AS draws_in_check,
    c.seed,
    CAST(c.draw_dt + CAST($followup_days AS INTEGER) AS DATE)  AS due_date,
    CAST($followup_days AS INTEGER)                            AS followup_days,
    m.task_id,
    m.inspection_item,
    m.result,
    coalesce(m.result_class, 'pending')                        AS result_class,
    m.inspection_date                                          AS result_date,
    m.authority,
    CAST($run_date::DATE - c.draw_dt AS INTEGER)               AS days_since_draw,
    CAST(m.inspection_date - c.draw_dt AS INTEGER)             AS days_to_result,
    m.task_id IS NULL AND $run_date::DATE - c.draw_dt > CAST($followup_days AS INTEGER) AS overdue,
    coalesce(m.inspection_date - c.draw_dt > CAST($followup_days AS INTEGER), false)    AS result_late,
    $pipeline_version::VARCHAR                                 AS pipeline_version,
    $schema_version::INTEGER                                   AS schema_version
FROM latest_check AS c
LEFT JOIN matched AS m USING (uscc)
LEFT JOIN work.mart__merchant_credit_tiers AS t ON t.uscc = c.uscc
ORDER BY overdue DESC, c.draw_dt, c.uscc
