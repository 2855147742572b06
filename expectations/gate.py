"""The quality gate: validate each table's batch for the run date with its GX suite.

Write–audit–publish: the run's candidate partitions sit in work.mart__<mart>; a mart is published
only when its own blocking expectations, those of every table in its lineage (the staging tables and
marts its SQL reads, transitively: indicators/lineage.py) and those of suites marked BLOCKS = "all"
(the ledger identities) pass (`guarding_suites`, used by pipelines/run/daily.py:publish). The rows
each suite validated are kept for publish, which writes exactly those (indicators/candidates.py).

Two engines give the same GX results. Batches under MARKET_MONITOR_GATE_SQL_ROWS rows (default
200,000) are DataFrames taken from DuckDB with only the columns the suite's expectations name,
validated by GX's pandas engine (GX cannot validate DuckDB through SQLAlchemy here). Larger batches
are evaluated in DuckDB by expectations/sql_checks.py (one aggregate query per batch, memory
bounded by DuckDB), whose metrics are fed to each expectation's own GX `_validate`; a suite with
an expectation that path cannot translate exactly falls back to pandas. Every result says which
engine produced it (`details` in meta.quality_results, `meta.engine` in the GX results).
With a home, results are stored in a GX file context rooted in HOME/quality, so suites, validation
results and Data Docs live there; without one (unit tests), nothing is stored.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from datetime import date, datetime

import duckdb
import pandas as pd

from expectations.blocked_batches import record_blocked_batches
from expectations.sql_checks import Unsupported, sql_rows_threshold
from expectations.suites import BLOCKING, Suite, load_suites, source_table
from expectations.validation import (  # noqa: F401 - re-exported: the gate's public names
    ExpectationOutcome,
    SuiteOutcome,
    _base_sql,
    _batch_definition,
    _columns_named,
    _ephemeral,
    _expected,
    _observed,
    _outcome,
    _prepared,
    _quiet,
    file_context,
    validate_frame,
    validate_sql,
)
from indicators import candidates
from indicators.compute import mart_catalogue, mart_table
from indicators.lineage import Lineage
from pipelines.core.sql import quote_ident
from pipelines.ingest import freshness
from pipelines.ingest.catalogue import load_source

# great_expectations is imported inside the functions that use it (marked `# GX: lazy`): it takes ~4 s to
# import (measured), and this module is imported by every stage through pipelines.run.daily, so the
# ingest, publish and report stages, their Airflow tasks and the CLI's other commands do not pay it.

log = logging.getLogger(__name__)

# files whose rows are in staging (skipped_same_file keeps the earlier ledger row)
DATA_OUTCOMES = ("loaded", "replaced")
# files the row bounds count: those loaded, and those rejected (their rows should be there and are not,
# so the table's minimum is missed and the marts that read it are blocked: a rejected file is noticed).
# A `duplicate` file is not counted: its rows are the first copy's.
ROW_BOUND_OUTCOMES = (*DATA_OUTCOMES, "rejected")


# --------------------------------------------------------------------------- batches

def batch_rows(con: duckdb.DuckDBPyConnection, suite_name: str, run_date: date) -> int:
    sql = _base_sql(load_suites()[suite_name])
    return con.execute(f"SELECT count(*) FROM ({sql}) AS b", {"run_date": run_date}).fetchone()[0]  # noqa: S608 - suite SQL from code, date bound


def batch_frame(con: duckdb.DuckDBPyConnection, suite_name: str, run_date: date,
                columns: set[str] | None = None) -> pd.DataFrame:
    """The suite's batch for the run date; only `columns` (those the expectations name) when given."""
    spec = load_suites()[suite_name]
    sql = _base_sql(spec)
    if columns is not None:
        available = [d[0] for d in con.execute(f"SELECT * FROM ({sql}) AS b LIMIT 0", {"run_date": run_date}).description]  # noqa: S608 - suite SQL from code, date bound
        keep = [c for c in available if c in columns] or available[:1]
        sql = f"SELECT {', '.join(quote_ident(c) for c in keep)} FROM ({sql}) AS b"  # noqa: S608 - column names quoted with quote_ident
    return con.execute(sql, {"run_date": run_date}).df()


def _table_matches(table, name: str) -> bool:
    """Does the landed file `name` go to `table` (first table of the source whose pattern matches)?"""
    low = name.lower().rsplit("/", 1)[-1]
    for t in load_source(table.source).tables:
        if any(fnmatch.fnmatch(low, p.lower()) for p in t.file_patterns):
            return t.table == table.table
    return False


def suite_context(con: duckdb.DuckDBPyConnection, spec: Suite, run_date: date) -> dict:
    """What a suite's bounds need: for a staging table, the day's data files and its row bounds."""
    if not spec.source:
        return {}
    table = source_table(spec.source, spec.table.split(".", 1)[1])
    names = con.execute(
        "SELECT file_name FROM meta.ingestion_ledger WHERE source = $s AND business_date = $d "
        "AND list_contains($outcomes, outcome)",
        {"s": spec.source, "d": run_date, "outcomes": list(ROW_BOUND_OUTCOMES)},
    ).fetchall()
    return {"files": sum(1 for (n,) in names if _table_matches(table, n)), "row_bounds": dict(table.row_bounds)}


def _failed_to_read(spec: Suite, exc: Exception) -> SuiteOutcome:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return SuiteOutcome(spec.name, spec.table, 0, [ExpectationOutcome(
        spec.name, spec.table, "batch_readable", None, BLOCKING, False, None,
        f"error: the batch could not be read from {spec.table}: {first}")])


def default_suites() -> list[str]:
    """Every staging and meta suite, and the suite of every mart in the catalogue (a suite whose mart
    is not built is not run; a mart without a suite is blocked by publish)."""
    marts = mart_catalogue()["marts"]
    return [n for n in load_suites() if not n.startswith("mart.") or n.split(".", 1)[1] in marts]


def guarding_suites(mart: str, lineage: Lineage) -> list[str]:
    """The suites whose blocking failure stops `mart`: its own, the suite of every table in its lineage
    (a staging table, or a mart it is built from, e.g. indicator_flags for the credit tiers), and the
    suites that guard every mart (BLOCKS = "all")."""
    suites = load_suites()
    own = f"mart.{mart}"
    read = lineage.inputs(mart_table(mart))
    from_lineage = sorted(n for n, s in suites.items() if n != own and s.table in read)
    everywhere = sorted(n for n, s in suites.items() if s.blocks == "all" and n != own and n not in from_lineage)
    return [own, *from_lineage, *everywhere]


def run_gate(con: duckdb.DuckDBPyConnection, run_date: date, suite_names=None, *, home=None,
             run_id: str | None = None, gx_context=None) -> dict[str, SuiteOutcome]:
    """Validate every suite's batch for `run_date`. With `home` (or `gx_context`), in HOME/quality's
    GX file context, which stores suites and validation results for Data Docs."""
    suites = load_suites()
    if gx_context is None and home is not None:
        gx_context = file_context(home.quality)
    threshold = sql_rows_threshold()
    outcomes = {}
    for name in suite_names or default_suites():
        spec = suites[name]
        t0 = time.perf_counter()
        context = suite_context(con, spec, run_date)
        pairs = spec.build(run_date, context)
        o = None
        try:
            rows = batch_rows(con, name, run_date)
            if rows > 0 and rows >= threshold:  # an empty batch: pandas skips its column checks
                try:
                    o = validate_sql(con, name, run_date, rows, gx_context=gx_context, run_id=run_id, pairs=pairs)
                except Unsupported as exc:
                    log.info("quality %s: %d rows validated with GX pandas, not SQL: %s", name, rows, exc)
            if o is None:
                df = batch_frame(con, name, run_date, _columns_named(pairs))
        except duckdb.Error as exc:  # e.g. a mart whose work table was not built: fail closed
            outcomes[name] = _failed_to_read(spec, exc)
            continue
        if o is None:
            o = validate_frame(name, df, run_date, context, gx_context=gx_context, run_id=run_id, pairs=pairs)
            del df
        o.seconds = round(time.perf_counter() - t0, 3)
        outcomes[name] = o
        log.info("quality %s: %d rows (%s), %d blocking failures, %d warnings in %.2f s",
                 name, o.rows, o.engine, len(o.blocking_failures), len(o.warnings), o.seconds)
    if suite_names is None:  # the whole day's gate: freshness is part of it (a chosen list of suites is not a day)
        add_freshness(outcomes, freshness.check(con, run_date, home))
    return outcomes


def add_freshness(outcomes: dict[str, SuiteOutcome], fresh: freshness.Freshness) -> None:
    """Freshness as blocking checks (pipelines/ingest/freshness.py): on the suite of every staging table of
    a source expected for the day, `expect_source_delivered` (failed when the source delivered nothing, so
    the lineage blocks exactly the marts that read it; their previous partitions stay); on the suites that
    guard every mart, `expect_day_delivered`, failed when no source delivered anything for the day."""
    suites = load_suites()
    gaps = {g.source: g.describe() for g in fresh.gaps}
    for name, o in outcomes.items():
        spec = suites[name]
        if spec.source in fresh.expected:
            gap = gaps.get(spec.source)
            o.results.append(ExpectationOutcome(
                name, o.table_name, freshness.SOURCE_DELIVERED, None, BLOCKING, gap is None,
                gap or f"{spec.source}: delivered for {fresh.business_date}",
                f"source {spec.source} is expected for {fresh.business_date} ({load_source(spec.source).expected})"))
        elif spec.blocks == "all" and fresh.nothing_delivered:
            o.results.append(ExpectationOutcome(
                name, o.table_name, freshness.DAY_DELIVERED, None, BLOCKING, False, fresh.day_line(),
                "a day without any delivery is not a quiet day: nothing was looked at"))


def day_gaps(outcomes: dict[str, SuiteOutcome]) -> list[str]:
    """The freshness gaps among the gate's outcomes: one line per missing source (and one when nothing at all
    was delivered), as the run's message, the alerts and the Airflow verdict name them."""
    return freshness.in_order(r.observed_value for o in outcomes.values() for r in o.results
                              if r.expectation in freshness.FRESHNESS_CHECKS and not r.success and r.observed_value)


def record(con: duckdb.DuckDBPyConnection, run_id: str, run_date: date, outcomes: list[SuiteOutcome]) -> None:
    now = datetime.now().replace(microsecond=0)
    rows = [
        (run_id, run_date, r.suite, r.table_name, r.expectation, r.column_name, r.severity, r.success,
         r.observed_value, r.details, now)
        for o in outcomes for r in o.results
    ]
    con.execute("DELETE FROM meta.quality_results WHERE run_id = $r", {"r": run_id})
    if rows:
        con.executemany("INSERT INTO meta.quality_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    # publish compares its partitions with these counts (the batch a suite could not read has none)
    candidates.record_validated(con, run_id, run_date, [(o.suite, o.table_name, o.rows) for o in outcomes])
    # a staging batch that failed is left out of every later day's inputs until a rerun passes
    record_blocked_batches(con, run_id, run_date, outcomes)
