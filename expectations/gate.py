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
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from expectations import sql_checks
from expectations.blocked_batches import record_blocked_batches
from expectations.sql_checks import ENGINE_PANDAS, ENGINE_SQL, Unsupported, sql_rows_threshold
from expectations.suites import BLOCKING, SEVERITIES, Suite, load_suites, source_table
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

DATASOURCE = "market_monitor"
BATCH_DEFINITION = "whole"
NOTES = {
    BLOCKING: "blocking: a failure stops publication of the partition (the previous one stays)",
    "warning": "warning: a failure is recorded and shown, the partition is still published",
}
# files whose rows are in staging (skipped_same_file keeps the earlier ledger row)
DATA_OUTCOMES = ("loaded", "replaced")
# files the row bounds count: those loaded, and those rejected (their rows should be there and are not,
# so the table's minimum is missed and the marts that read it are blocked: a rejected file is noticed).
# A `duplicate` file is not counted: its rows are the first copy's.
ROW_BOUND_OUTCOMES = (*DATA_OUTCOMES, "rejected")


@dataclass
class ExpectationOutcome:
    suite: str
    table_name: str
    expectation: str
    column_name: str | None
    severity: str
    success: bool
    observed_value: str | None
    details: str | None


@dataclass
class SuiteOutcome:
    suite: str
    table_name: str
    rows: int
    results: list[ExpectationOutcome] = field(default_factory=list)
    seconds: float = 0.0
    engine: str = ENGINE_PANDAS  # which engine evaluated the batch: gx-pandas or duckdb-sql
    validation: object = field(default=None, repr=False, compare=False)  # the GX result
    result_key: object = field(default=None, repr=False, compare=False)  # where HOME/quality/gx stored it

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if r.severity == BLOCKING and not r.success]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if r.severity != BLOCKING and not r.success]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures


# --------------------------------------------------------------------------- GX contexts

def _quiet(context):
    from great_expectations.data_context.types.base import ProgressBarsConfig  # GX: lazy

    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@lru_cache(maxsize=1)
def _ephemeral():
    import great_expectations as gx  # GX: lazy

    return _quiet(gx.get_context(mode="ephemeral"))


def file_context(quality_root: Path):
    """The GX file context of a home: HOME/quality/gx/ (suites, results, Data Docs)."""
    import great_expectations as gx  # GX: lazy

    quality_root = Path(quality_root)
    quality_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(quality_root))
    _quiet(context)
    return context


def _batch_definition(context, suite_name: str):
    try:
        source = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(suite_name)
    except LookupError:
        asset = source.add_dataframe_asset(suite_name)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except (KeyError, LookupError, ValueError):
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


# --------------------------------------------------------------------------- results

def _observed(result) -> str | None:
    res = result.result or {}
    if "observed_value" in res:
        return str(res["observed_value"])
    if "unexpected_count" in res:
        sample = res.get("partial_unexpected_list") or []
        return json.dumps({"unexpected_count": res["unexpected_count"],
                           "unexpected_percent": round(float(res.get("unexpected_percent") or 0), 4),
                           "sample": [str(v) for v in sample[:5]]}, ensure_ascii=False)
    return None


def _expected(kwargs: dict) -> str:
    """What the expectation asked for, short (value sets cut), for messages and the results table."""
    shown = {}
    for key, value in kwargs.items():
        if key in ("column", "column_list", "column_A", "column_B", "batch_id", "result_format") or value is None:
            continue
        if isinstance(value, (list, tuple, set)) and len(value) > 8:
            value = [*list(value)[:8], "…"]
        shown[key] = value if isinstance(value, (int, float, bool, str, list)) else str(value)
    return json.dumps(shown, ensure_ascii=False, default=str)


def _columns_named(pairs) -> set[str] | None:
    """The columns the expectations name; None (= all) when one filters rows with a condition."""
    cols: set[str] = set()
    for expectation, _ in pairs:
        if getattr(expectation, "row_condition", None):
            return None
        for attr in ("column", "column_A", "column_B"):
            value = getattr(expectation, attr, None)
            if isinstance(value, str):
                cols.add(value)
        cols.update(getattr(expectation, "column_list", None) or [])
    return cols


def _prepared(suite_name: str, pairs) -> list:
    expectations = []
    for expectation, severity in pairs:
        if severity not in SEVERITIES:
            raise ValueError(f"suite {suite_name}: severity must be one of {SEVERITIES}, not {severity!r}")
        expectation.meta = {"severity": severity}
        expectation.notes = NOTES[severity]
        expectations.append(expectation)
    return expectations


def _outcome(suite_name: str, spec: Suite, rows: int, validation, run_date: date, *, engine: str,
             gx_context=None, run_id: str | None = None) -> SuiteOutcome:
    """Store the GX result in the home's file context (for Data Docs) and turn it into outcome rows."""
    from great_expectations.core.run_identifier import RunIdentifier  # GX: lazy

    validation.meta["engine"] = engine
    for result in validation.results:
        result.meta = {**(result.meta or {}), "engine": engine}
    key = None
    if gx_context is not None and validation.results:
        from great_expectations.data_context.types.resource_identifiers import (  # GX: lazy
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        identifier = RunIdentifier(run_name=run_id or f"{run_date.isoformat()}__adhoc",
                                   run_time=datetime.now(timezone.utc))
        validation.meta["run_id"] = identifier
        validation.meta["validation_time"] = identifier.run_time
        validation.meta["batch_parameters"] = {"run_date": run_date.isoformat(), "table": spec.table}
        key = ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                                         run_id=identifier, batch_identifier=f"{DATASOURCE}-{suite_name}")
        gx_context.validation_results_store.set(key, validation)
    outcome = SuiteOutcome(suite=suite_name, table_name=spec.table, rows=rows, engine=engine,
                           validation=validation, result_key=key)
    for result in validation.results:
        cfg = result.expectation_config
        severity = (cfg.meta or {}).get("severity", BLOCKING)
        kwargs = cfg.kwargs or {}
        column = kwargs.get("column") or (",".join(kwargs["column_list"]) if "column_list" in kwargs else None)
        if column is None and "column_A" in kwargs:
            column = f"{kwargs['column_A']},{kwargs['column_B']}"
        error = None
        if result.exception_info and result.exception_info.get("raised_exception"):
            error = "error: " + str(result.exception_info.get("exception_message"))[:500]
        outcome.results.append(ExpectationOutcome(
            suite=suite_name, table_name=spec.table, expectation=cfg.type, column_name=column,
            severity=severity, success=bool(result.success), observed_value=_observed(result),
            details=(error or "expected " + _expected(kwargs)) + f" [engine {engine}]",
        ))
    return outcome


def validate_frame(suite_name: str, df: pd.DataFrame, run_date: date, context: dict | None = None, *,
                   gx_context=None, run_id: str | None = None, pairs=None) -> SuiteOutcome:
    """Validate one batch with its suite (GX pandas engine). With `gx_context` (the home's file
    context) the result is stored there for Data Docs; without, nothing is stored (unit tests of suites)."""
    import great_expectations as gx  # GX: lazy

    t0 = time.perf_counter()
    spec = load_suites()[suite_name]
    if pairs is None:
        pairs = spec.build(run_date, context or {})
    skipped = 0
    if len(df) == 0:  # column checks are vacuous on no rows; GX costs ~30 ms per expectation anyway
        table_level = [(e, sev) for e, sev in pairs if _columns_named([(e, sev)]) == set()]
        skipped = len(pairs) - len(table_level)
        pairs = table_level
    expectations = _prepared(suite_name, pairs)
    # Validation always runs in the ephemeral context: a file context re-reads its YAML config for
    # every store access, which made the gate ~4x slower. The result is then stored in the home's
    # file context (HOME/quality/gx), which is all Data Docs need.
    ctx = _ephemeral()
    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations,
                                meta={"table": spec.table, "run_date": run_date.isoformat()})
    batch = _batch_definition(ctx, suite_name).get_batch(batch_parameters={"dataframe": df})
    validation = batch.validate(suite)
    outcome = _outcome(suite_name, spec, len(df), validation, run_date, engine=ENGINE_PANDAS,
                       gx_context=gx_context, run_id=run_id)
    if skipped:
        outcome.results.append(ExpectationOutcome(
            suite=suite_name, table_name=spec.table, expectation="empty_batch", column_name=None,
            severity="warning", success=True, observed_value="0",
            details=f"no rows for {run_date}: {skipped} column checks hold vacuously and were not run"))
    outcome.seconds = round(time.perf_counter() - t0, 3)
    return outcome


def validate_sql(con: duckdb.DuckDBPyConnection, suite_name: str, run_date: date, rows: int, *,
                 gx_context=None, run_id: str | None = None, pairs=None, context: dict | None = None) -> SuiteOutcome:
    """Validate one batch in DuckDB (expectations/sql_checks.py); the same GX result objects as
    validate_frame. Raises sql_checks.Unsupported (before storing anything) when an expectation
    cannot be evaluated exactly in SQL: the caller then uses validate_frame."""
    t0 = time.perf_counter()
    spec = load_suites()[suite_name]
    if pairs is None:
        pairs = spec.build(run_date, context or {})
    expectations = _prepared(suite_name, pairs)
    results = sql_checks.evaluate(con, _base_sql(spec), {"run_date": run_date}, expectations)
    validation = sql_checks.suite_result(spec, results, {
        "active_batch_definition": {"datasource_name": DATASOURCE, "data_asset_name": suite_name,
                                    "batch_definition_name": BATCH_DEFINITION},
        "batch_spec": {"query": _base_sql(spec).strip(), "engine": ENGINE_SQL},
        "batch_markers": {"rows": rows}})
    outcome = _outcome(suite_name, spec, rows, validation, run_date, engine=ENGINE_SQL,
                       gx_context=gx_context, run_id=run_id)
    outcome.seconds = round(time.perf_counter() - t0, 3)
    return outcome


# --------------------------------------------------------------------------- batches

def _base_sql(spec: Suite) -> str:
    if spec.batch_sql:
        return spec.batch_sql
    schema, name = spec.table.split(".")
    # identifiers come from suite modules only; the date is a bound parameter
    return f"SELECT * FROM {quote_ident(schema)}.{quote_ident(name)} WHERE {quote_ident(spec.date_column)} = $run_date"  # noqa: S608 - identifiers from suite modules, quoted with quote_ident; the date is bound


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
