"""Validating one batch with its suite: the GX contexts, the outcome of every expectation, and the two
engines (GX pandas on a DataFrame, or GX's own rules fed with metrics computed in DuckDB SQL).

expectations.gate chooses the batches and the engine and records the outcomes; this module runs one
validation and turns GX's result into `SuiteOutcome` rows.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from expectations import sql_checks
from expectations.sql_checks import ENGINE_PANDAS, ENGINE_SQL
from expectations.suites import BLOCKING, SEVERITIES, Suite, load_suites
from pipelines.core.sql import quote_ident

# great_expectations is imported inside the functions that use it (marked `# GX: lazy`): it takes ~4 s to
# import (measured), and every stage imports the gate through pipelines.run.daily.

DATASOURCE = "market_monitor"
BATCH_DEFINITION = "whole"
NOTES = {
    BLOCKING: "blocking: a failure stops publication of the partition (the previous one stays)",
    "warning": "warning: a failure is recorded and shown, the partition is still published",
}


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


def _base_sql(spec: Suite) -> str:
    if spec.batch_sql:
        return spec.batch_sql
    schema, name = spec.table.split(".")
    # identifiers come from suite modules only; the date is a bound parameter
    return f"SELECT * FROM {quote_ident(schema)}.{quote_ident(name)} WHERE {quote_ident(spec.date_column)} = $run_date"  # noqa: S608 - identifiers from suite modules, quoted with quote_ident; the date is bound
