"""`market-monitor status`: one screen of recent runs, freshness, ledger, quarantine and failing checks.

A run whose stage is still `running` in meta.runs is shown as `died` when status can read the warehouse:
status opens it read-only, which DuckDB refuses while another process holds it for writing, and every
live stage holds the writer (the CLI for the whole day, each Airflow task for its stage). So once the
warehouse opens here, no stage is running: a row left `running` is a process that was killed, ran out of
memory or lost its machine before it could record its end. Rerunning the day is safe (every stage is
keyed by the date; the work tables of a dead run are taken over, indicators/candidates.py).
"""

from __future__ import annotations

import duckdb

from pipelines.core.home import Home
from pipelines.ingest.freshness import FRESHNESS_CHECKS, day_gaps, rejected_files
from pipelines.serve.query import format_rows

RECENT_RUNS = 8
DIED = "died"


def _section(con, title: str, sql: str, params=None) -> str:
    cur = con.execute(sql, params or {})
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return f"\n== {title}\n" + (format_rows(cols, rows) if rows else "(none)")


def _recent_runs(con) -> str:
    """The latest runs; a stage left `running` is shown as died (see the module docstring), with the hint."""
    sql = f"""
        WITH stages AS (
            SELECT business_date, run_id, stage, started_at, finished_at,
                   CASE WHEN outcome = 'running' THEN '{DIED}' ELSE outcome END AS outcome FROM meta.runs)
        SELECT business_date, run_id, min(started_at) AS started,
               round(epoch(max(finished_at) - min(started_at)), 1) AS seconds,
               CASE WHEN bool_or(outcome = 'failed') THEN 'failed'
                    WHEN bool_or(outcome = '{DIED}') THEN '{DIED}'
                    WHEN run_id IN (SELECT run_id FROM meta.quality_results WHERE NOT success
                                    AND expectation IN {FRESHNESS_CHECKS}) THEN 'incomplete'
                    ELSE 'success' END AS outcome,
               string_agg(stage || ':' || outcome, ' ' ORDER BY started_at) AS stages
        FROM stages GROUP BY business_date, run_id ORDER BY started DESC LIMIT {RECENT_RUNS}"""  # noqa: S608 - constants only (FRESHNESS_CHECKS is a tuple of two check names)
    text = _section(con, "recent runs", sql)
    died = con.execute(
        "SELECT DISTINCT business_date, stage FROM meta.runs WHERE outcome = 'running' ORDER BY 1 DESC, 2").fetchall()
    for day, stage in died:
        text += (f"\n{DIED}: the {stage} stage of the run for {day} never finished (its process was killed or "
                 "crashed; nothing holds the warehouse now). Rerun the day: "
                 f"market-monitor run --date {day}")
    return text


def _incomplete_days(con) -> str:
    """Recent business dates whose latest gate found an expected source that delivered nothing, or whose
    ingest rejected a file (docs/RELIABILITY.md, freshness)."""
    days = [d for (d,) in con.execute(
        f"SELECT DISTINCT business_date FROM meta.runs ORDER BY 1 DESC LIMIT {RECENT_RUNS}").fetchall()]  # noqa: S608 - RECENT_RUNS is an int constant of this module
    lines = []
    for day in days:
        found = [f"missing: {g}" for g in day_gaps(con, day)] + [f"rejected: {r[:160]}" for r in rejected_files(con, day)]
        lines += [f"{day} incomplete: {line}" for line in found]
    return "\n== incomplete days\n" + ("\n".join(lines) if lines else "(none)")


def status_text(home: Home) -> str:
    if not home.db_path.exists():
        return f"no warehouse yet at {home.db_path}: run `market-monitor demo` or `market-monitor run --date D`"
    try:
        con = duckdb.connect(str(home.db_path), read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException):
        return f"the warehouse {home.db_path} is in use by a running job; try again when it finishes"
    try:
        parts = [f"home: {home.root}"]
        parts.append(_recent_runs(con))
        parts.append(_incomplete_days(con))
        parts.append(_section(con, "source freshness", """
            SELECT source, max(business_date) AS latest_date, count(*) AS files,
                   sum(rows_loaded) AS rows_loaded, sum(rows_quarantined) AS rows_quarantined,
                   max(loaded_at) AS last_loaded FROM meta.ingestion_ledger GROUP BY source ORDER BY source"""))
        parts.append(_section(con, "ledger of the last day", """
            SELECT source, file_name, rows_read, rows_loaded, rows_quarantined, outcome, left(coalesce(message, ''), 60) AS message
            FROM meta.ingestion_ledger
            WHERE business_date = (SELECT max(business_date) FROM meta.ingestion_ledger)
            ORDER BY source, file_name"""))
        parts.append(_section(con, "quarantined rows (latest 10 reasons)", """
            SELECT source, business_date, file_name, row_number, column_name, left(reason, 70) AS reason
            FROM meta.quarantine_rows ORDER BY business_date DESC, source, file_name, row_number LIMIT 10"""))
        parts.append(_section(con, "failing checks (latest run per date)", """
            WITH latest AS (SELECT business_date, max(run_id) AS run_id FROM meta.quality_results GROUP BY 1)
            SELECT q.business_date, q.suite, q.expectation, q.column_name, q.severity, left(coalesce(q.observed_value, ''), 50) AS observed
            FROM meta.quality_results q JOIN latest USING (business_date, run_id)
            WHERE NOT q.success ORDER BY q.business_date DESC, q.severity, q.suite LIMIT 15"""))
        parts.append(_section(con, "published partitions (latest 10)", """
            SELECT mart, dt, rows, schema_version, published_at FROM meta.published_partitions
            ORDER BY dt DESC, mart LIMIT 10"""))
        parts.append(f"\ndata quality (Data Docs and daily results): {home.quality / 'index.html'}")
        return "\n".join(parts)
    finally:
        con.close()
