"""The candidate tables in `work` belong to one run at a time, from compute until publish.

`work.*` is one schema shared by every run, and a run's stages are separate steps (separate Airflow
tasks, each opening the warehouse), so without a rule two runs could interleave: compute D1, compute
D2, gate D1 (which would audit D2's tables), publish D1. Two small tables in the scratch schema stop
that:

    work.candidate_lease     the run whose candidates the work tables hold: taken by compute, checked
                             by gate and publish, given back when publish has finished
    work.validated_batches   what that run's gate validated: rows per suite (publish writes exactly
                             those rows and fails when the count differs)

A second run's compute fails with a message naming the holder while the lease is held. The lease
is free again when its run published, when the holder's last stage failed or died mid-stage (its
candidates are not going to be published as they are), or after LEASE_HOURS (a process killed between
stages).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from pipelines.core.errors import RunError

LEASE_HOURS = 6

_LEASE_DDL = ("CREATE TABLE IF NOT EXISTS work.candidate_lease (run_id VARCHAR NOT NULL, run_date DATE NOT NULL, "
              "taken_at TIMESTAMP NOT NULL)")
_VALIDATED_DDL = ("CREATE TABLE IF NOT EXISTS work.validated_batches (run_id VARCHAR NOT NULL, run_date DATE NOT NULL, "
                  "suite VARCHAR NOT NULL, table_name VARCHAR NOT NULL, rows BIGINT NOT NULL)")


class CandidatesBusy(RunError):
    """Another run's candidates are in the work tables (between its compute and its publish)."""


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS work")
    con.execute(_LEASE_DDL)
    con.execute(_VALIDATED_DDL)


def holder(con: duckdb.DuckDBPyConnection) -> tuple[str, date, datetime] | None:
    """(run_id, run_date, taken_at) of the run holding the work tables, or None."""
    _ensure(con)
    rows = con.execute("SELECT run_id, run_date, taken_at FROM work.candidate_lease").fetchall()
    return rows[0] if rows else None


def _holder_gave_up(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Did the holder's most recent stage fail, or die?

    A stage of another run still marked `running` while we hold the warehouse for writing is a dead
    process (killed, out of memory, machine lost): a live stage would hold DuckDB's single writer lock
    itself, and the caller could not have opened the warehouse. Its candidates will never be published."""
    rows = con.execute(
        "SELECT outcome FROM meta.runs WHERE run_id = $r ORDER BY started_at DESC, "
        "CASE outcome WHEN 'running' THEN 0 ELSE 1 END", {"r": run_id}).fetchall()
    return bool(rows) and rows[0][0] in ("failed", "running")


def claim(con: duckdb.DuckDBPyConnection, run_id: str, run_date: date, now: datetime | None = None) -> None:
    """Take the work tables for `run_id` (compute). Raises CandidatesBusy while another run holds them."""
    now = now or datetime.now().replace(microsecond=0)
    current = holder(con)
    if current is not None and current[0] != run_id:
        other, other_date, since = current
        expired = since + timedelta(hours=LEASE_HOURS) <= now
        if not expired and not _holder_gave_up(con, other):
            raise CandidatesBusy(
                f"compute for {run_date} (run {run_id}) refused: run {other} computed the candidates for "
                f"{other_date} at {since} and has not published them yet; the work tables stay its own until its "
                f"publish finishes (or its last stage fails, or {LEASE_HOURS} h pass). Run {run_date} after it.")
    con.execute("DELETE FROM work.candidate_lease")
    con.execute("DELETE FROM work.validated_batches")
    con.execute("INSERT INTO work.candidate_lease VALUES ($r, $d, $t)", {"r": run_id, "d": run_date, "t": now})


def check(con: duckdb.DuckDBPyConnection, run_id: str, run_date: date, stage: str) -> None:
    """Refuse `stage` (gate, publish) when the work tables hold another run's candidates."""
    current = holder(con)
    if current is None:  # compute_day was called outside the stages (tests, benchmarks): nothing to compare
        return
    other, other_date, since = current
    if other != run_id or other_date != run_date:
        raise CandidatesBusy(
            f"{stage} for {run_date} (run {run_id}) refused: the work tables hold the candidates of run {other} "
            f"for {other_date} (computed at {since}), not this run's. Rerun compute for {run_date} first.")


def record_validated(con: duckdb.DuckDBPyConnection, run_id: str, run_date: date,
                     batches: list[tuple[str, str, int]]) -> None:
    """Keep what the gate validated: (suite, table, rows) per batch."""
    _ensure(con)
    con.execute("DELETE FROM work.validated_batches WHERE run_id = $r", {"r": run_id})
    if batches:
        con.executemany("INSERT INTO work.validated_batches VALUES (?, ?, ?, ?, ?)",
                        [(run_id, run_date, suite, table, int(rows)) for suite, table, rows in batches])


def validated_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """{suite: rows} the gate of `run_id` validated."""
    _ensure(con)
    return dict(con.execute("SELECT suite, rows FROM work.validated_batches WHERE run_id = $r",
                            {"r": run_id}).fetchall())


def release(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Give the work tables back (publish finished)."""
    _ensure(con)
    con.execute("DELETE FROM work.candidate_lease WHERE run_id = $r", {"r": run_id})
