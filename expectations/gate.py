"""The quality gate: validate each table's batch for the run date with its GX suite.

Write–audit–publish: the run's candidate partitions sit in work.mart__<mart>; a mart is published
only when its own blocking expectations and those of the staging tables it depends on pass.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

import duckdb
import pandas as pd

from expectations.suites import BLOCKING, load_suites

log = logging.getLogger(__name__)


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

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if r.severity == BLOCKING and not r.success]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if r.severity != BLOCKING and not r.success]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures


@lru_cache(maxsize=1)
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("market_monitor")
    asset = source.add_dataframe_asset("batch")
    return context, asset.add_batch_definition_whole_dataframe("whole")


def _observed(result) -> str | None:
    res = result.result or {}
    for key in ("observed_value", "unexpected_count"):
        if key in res:
            value = res[key]
            if key == "unexpected_count":
                sample = res.get("partial_unexpected_list") or []
                return json.dumps({"unexpected_count": value, "sample": [str(v) for v in sample[:5]]},
                                  ensure_ascii=False)
            return str(value)
    return None


def validate_frame(suite_name: str, df: pd.DataFrame, run_date: date, context: dict | None = None) -> SuiteOutcome:
    import great_expectations as gx

    spec = load_suites()[suite_name]
    table = spec.table
    pairs = spec.build(run_date, context or {})
    _, batch_definition = _context()
    suite = gx.ExpectationSuite(name=suite_name)
    for expectation, severity in pairs:
        expectation.meta = {"severity": severity}
        suite.add_expectation(expectation)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    validation = batch.validate(suite)
    outcome = SuiteOutcome(suite=suite_name, table_name=table, rows=len(df))
    for result in validation.results:
        cfg = result.expectation_config
        severity = (cfg.meta or {}).get("severity", BLOCKING)
        kwargs = cfg.kwargs or {}
        column = kwargs.get("column") or (",".join(kwargs["column_list"]) if "column_list" in kwargs else None)
        error = (result.exception_info or {}).get("exception_message") if result.exception_info else None
        outcome.results.append(ExpectationOutcome(
            suite=suite_name, table_name=table, expectation=cfg.type, column_name=column,
            severity=severity, success=bool(result.success), observed_value=_observed(result),
            details=error,
        ))
    return outcome


def batch_frame(con: duckdb.DuckDBPyConnection, suite_name: str, run_date: date) -> pd.DataFrame:
    spec = load_suites()[suite_name]
    schema, name = spec.table.split(".")
    sql = f'SELECT * FROM "{schema}"."{name}" WHERE "{spec.date_column}" = $d'  # identifiers from suite modules only
    return con.execute(sql, {"d": run_date}).df()


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


def run_gate(con: duckdb.DuckDBPyConnection, run_date: date, suite_names=None) -> dict[str, SuiteOutcome]:
    outcomes = {}
    for name in suite_names or load_suites():
        df = batch_frame(con, name, run_date)
        outcomes[name] = validate_frame(name, df, run_date)
        o = outcomes[name]
        log.info("quality %s: %d rows, %d blocking failures, %d warnings",
                 name, o.rows, len(o.blocking_failures), len(o.warnings))
    return outcomes
