"""`market-monitor status`: one screen of recent runs, freshness, ledger, quarantine and failing checks."""

from __future__ import annotations

import duckdb

from pipelines.core.home import Home
from pipelines.serve.query import format_rows


def _section(con, title: str, sql: str, params=None) -> str:
    cur = con.execute(sql, params or {})
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return f"\n== {title}\n" + (format_rows(cols, rows) if rows else "(none)")


def status_text(home: Home) -> str:
    if not home.db_path.exists():
        return f"no warehouse yet at {home.db_path}: run `market-monitor demo` or `market-monitor run --date D`"
    try:
        con = duckdb.connect(str(home.db_path), read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException):
        return f"the warehouse {home.db_path} is in use by a running job; try again when it finishes"
    try:
        parts = [f"home: {home.root}"]
        parts.append(_section(con, "recent runs", """
            SELECT business_date, run_id, min(started_at) AS started,
                   round(epoch(max(finished_at) - min(started_at)), 1) AS seconds,
                   CASE WHEN bool_or(outcome = 'failed') THEN 'failed'
                        WHEN bool_or(outcome = 'running') THEN 'running' ELSE 'success' END AS outcome,
                   string_agg(stage || ':' || outcome, ' ' ORDER BY started_at) AS stages
            FROM meta.runs GROUP BY business_date, run_id ORDER BY started DESC LIMIT 8"""))
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
