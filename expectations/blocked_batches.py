"""Staging batches that failed a blocking check, kept out of every later day's indicator inputs.

A batch is one staging table's rows of one business date (`_business_date`). When the gate of a run
for D finds a blocking failure in a staging table's suite, the batch (table, D) is recorded in
meta.blocked_batches (warehouse/migrations/004_blocked_batches.sql). The as-of-D table macros every
indicator reads its sources through (indicators/macros.sql, `blocked_batch_dates`) skip the rows of a
blocked batch for every later date, so a bad batch that blocked D's marts does not reach D+1's leads,
tiers or draw. When a rerun of D (after the file was fixed or replaced) passes that table's suite, the
block is cleared (cleared_at, cleared_run_id; the row stays as the record) and the batch flows again
into the dates computed after that. docs/QUALITY.md, "What happens downstream of a blocked batch".
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import duckdb

log = logging.getLogger(__name__)

STAGING_PREFIX = "staging."
REASON_CHARS = 1800  # the failed checks, cut (every result is in meta.quality_results)


def record_blocked_batches(con: duckdb.DuckDBPyConnection, run_id: str, run_date: date, outcomes) -> dict:
    """Block the staging batches of `run_date` whose suite had a blocking failure in this gate run, and clear
    the block of those whose suites all passed. `outcomes`: the gate's SuiteOutcome objects (a table
    checked by several suites is blocked when any of them failed). Returns {"blocked": [...], "cleared": [...]}."""
    failed: dict[str, list[str]] = {}
    checked: set[str] = set()
    for o in outcomes:
        if not o.table_name.startswith(STAGING_PREFIX):
            continue
        checked.add(o.table_name)
        for r in o.blocking_failures:
            failed.setdefault(o.table_name, []).append(f"{o.suite}: {r.expectation}({r.column_name or ''})")
    blocked = sorted(failed)
    passed = sorted(checked - set(failed))
    now = datetime.now().replace(microsecond=0)
    if blocked:
        con.execute(
            "INSERT OR REPLACE INTO meta.blocked_batches "
            "SELECT unnest($tables), $d, $r, unnest($reasons), $t, NULL, NULL",
            {"tables": blocked, "d": run_date, "r": run_id, "t": now,
             "reasons": ["; ".join(failed[t])[:REASON_CHARS] for t in blocked]})
        log.warning("run %s: staging batches of %s blocked (left out of every later day's indicators until a "
                    "rerun of %s passes): %s", run_id, run_date, run_date, ", ".join(blocked))
    cleared = [t for (t,) in con.execute(
        "UPDATE meta.blocked_batches SET cleared_at = $t, cleared_run_id = $r "
        "WHERE business_date = $d AND cleared_at IS NULL AND list_contains($tables, table_name) "
        "RETURNING table_name",
        {"t": now, "r": run_id, "d": run_date, "tables": passed}).fetchall()] if passed else []
    if cleared:
        log.warning("run %s: staging batches of %s passed the gate again and flow downstream: %s",
                    run_id, run_date, ", ".join(sorted(cleared)))
    return {"blocked": blocked, "cleared": sorted(cleared)}


def active_blocks(con: duckdb.DuckDBPyConnection) -> list[tuple[str, date, str, str]]:
    """(table, business date, run id, reason) of every batch still blocked, oldest first."""
    return con.execute(
        "SELECT table_name, business_date, run_id, reason FROM meta.blocked_batches WHERE cleared_at IS NULL "
        "ORDER BY business_date, table_name").fetchall()
