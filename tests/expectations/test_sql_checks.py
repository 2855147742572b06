"""The DuckDB SQL engine of the gate (expectations/sql_checks.py) gives GX pandas' results.

Each case builds a table in an in-memory DuckDB, validates `SELECT * FROM t` with GX's pandas
engine (the frame DuckDB hands to pandas, as the gate does) and with the SQL path, and compares
success, element / missing / unexpected counts and observed values expectation by expectation.
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import great_expectations.expectations as gxe
import numpy as np
import pytest

from expectations import sql_checks
from expectations.gate import _batch_definition, _ephemeral, run_gate
from expectations.suites import BLOCKING
from tests.expectations.conftest import D
from tests.expectations.test_suites import BROKEN as BROKEN_CASES
from tests.expectations.test_suites import OURS

T0 = datetime(2026, 3, 10)
T1 = datetime(2026, 3, 10, 23, 59, 59, 999999)
PHONE = r"(?<!\d)1[3-9]\d{9}(?!\d)"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PAIRS = [("uscc", None), ("unmatched", "no_uscc"), ("unmatched", "ambiguous")]

# 10 rows; column -> SQL expression of i (0..9). GOOD passes every expectation below.
GOOD = {
    "k": "i::INTEGER", "k2": "'x' || i", "code": "'3101' || lpad((10 + i)::VARCHAR, 2, '0')",
    "txt": "'call 1********** please'", "js": "'{\"a\": ' || i || '}'", "flag": "true",
    "d": "DATE '2026-03-10'", "ts": "TIMESTAMP '2026-03-10 08:00:00' + to_hours(i)",
    "x": "(1.5 + i)::DECIMAL(18, 2)", "y": "i / 10.0", "a": "i + 1", "b": "i", "da": "DATE '2026-03-10'",
    "db": "DATE '2026-03-09'", "m": "CASE WHEN i < 5 THEN 'uscc' ELSE 'unmatched' END",
    "r": "CASE WHEN i < 5 THEN NULL ELSE 'ambiguous' END", "src": "CASE WHEN i < 2 THEN 'cfpb' ELSE 'x' END",
    "gate": "i >= 2", "rank": "CASE WHEN i >= 2 THEN i END", "nul": "NULL::INTEGER", "seed": "42",
    "ok": "i >= 2", "da2": "DATE '2026-03-10'",
}
BROKEN = GOOD | {
    "k": "(i % 8)::INTEGER",  # 4 rows share a value
    "k2": "CASE WHEN i < 2 THEN NULL ELSE 'x' || (i % 3) END",
    "code": "CASE i WHEN 0 THEN '31010' WHEN 1 THEN e'310101\\n' WHEN 2 THEN '３１０１０１' WHEN 3 THEN NULL "
            "ELSE '310101' END",
    "txt": "CASE i WHEN 0 THEN 'call 13812345678' WHEN 1 THEN '138123456789' WHEN 2 THEN 'mail a.b@ex.com' "
           "WHEN 3 THEN NULL ELSE 'ok' END",
    "js": "CASE i WHEN 0 THEN 'NaN' WHEN 1 THEN '{bad' WHEN 2 THEN ' [1] ' WHEN 3 THEN NULL ELSE '{}' END",
    "flag": "CASE WHEN i = 0 THEN false WHEN i = 1 THEN NULL ELSE true END",
    "d": "DATE '2026-03-09' + (i % 3)::INTEGER", "ts": "CASE WHEN i = 9 THEN NULL ELSE TIMESTAMP '2026-03-10 23:59:59' "
                                             "+ to_microseconds(i % 2) END",
    "x": "CASE WHEN i = 0 THEN 0 WHEN i = 1 THEN NULL ELSE -1.25 + i END::DECIMAL(18, 2)",
    "y": "CASE WHEN i = 9 THEN NULL ELSE i / 8.0 END",
    "a": "CASE i WHEN 0 THEN NULL WHEN 1 THEN NULL WHEN 2 THEN 5 WHEN 3 THEN 3 ELSE i - 1 END",
    "b": "CASE i WHEN 0 THEN NULL WHEN 1 THEN 7 WHEN 2 THEN NULL WHEN 3 THEN 3 ELSE i END",
    "da": "CASE WHEN i = 0 THEN NULL ELSE DATE '2026-03-08' + (i % 3)::INTEGER END",
    "m": "CASE WHEN i < 5 THEN 'uscc' WHEN i = 9 THEN NULL ELSE 'unmatched' END",
    "r": "CASE WHEN i = 0 THEN 'ambiguous' WHEN i < 5 THEN NULL WHEN i = 8 THEN NULL ELSE 'ambiguous' END",
    "gate": "CASE WHEN i = 5 THEN NULL ELSE i >= 2 END", "rank": "CASE WHEN i >= 1 THEN i END",
    "seed": "CASE WHEN i < 3 THEN 41 ELSE 42 END",
    "ok": "CASE WHEN i = 0 THEN NULL ELSE i % 4 <> 0 END",  # 2 false of 9 non-null
    "da2": "CASE WHEN i = 4 THEN DATE '2026-03-11' WHEN i = 5 THEN NULL ELSE DATE '2026-03-10' END",
}
ALL_NULL = {c: f"NULL::{t}" for c, t in [
    ("k", "INTEGER"), ("k2", "VARCHAR"), ("code", "VARCHAR"), ("txt", "VARCHAR"), ("js", "VARCHAR"),
    ("flag", "BOOLEAN"), ("d", "DATE"), ("ts", "TIMESTAMP"), ("x", "DECIMAL(18, 2)"), ("y", "DOUBLE"),
    ("a", "INTEGER"), ("b", "INTEGER"), ("da", "DATE"), ("db", "DATE"), ("m", "VARCHAR"), ("r", "VARCHAR"),
    ("src", "VARCHAR"), ("gate", "BOOLEAN"), ("rank", "INTEGER"), ("nul", "INTEGER"), ("seed", "INTEGER"),
    ("ok", "BOOLEAN"), ("da2", "DATE")]}


def expectations():
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="k"),
        gxe.ExpectColumnValuesToNotBeNull(column="k2", mostly=0.8),  # exactly 8 of 10 in BROKEN
        gxe.ExpectColumnValuesToNotBeNull(column="k2", mostly=0.81),
        gxe.ExpectColumnValuesToBeNull(column="nul"),
        gxe.ExpectColumnValuesToBeNull(column="rank", row_condition="gate == False", condition_parser="pandas"),
        gxe.ExpectColumnValuesToBeNull(column="rank", row_condition='src == "cfpb"', condition_parser="pandas"),
        gxe.ExpectColumnValuesToBeUnique(column="k"),
        gxe.ExpectColumnValuesToBeUnique(column="code"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["k2", "d"]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["k", "k2"]),
        gxe.ExpectColumnValuesToMatchRegex(column="code", regex=r"^\d{6}$"),
        gxe.ExpectColumnValuesToMatchRegex(column="code", regex=r"^[0-9]{6}$"),
        gxe.ExpectColumnValuesToMatchRegex(column="code", regex=r"10"),
        gxe.ExpectColumnValuesToNotMatchRegex(column="txt", regex=PHONE),
        gxe.ExpectColumnValuesToNotMatchRegex(column="txt", regex=EMAIL),
        gxe.ExpectColumnValuesToBeJsonParseable(column="js"),
        gxe.ExpectColumnValuesToBeInSet(column="flag", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="ok", value_set=[True], mostly=0.7),  # 7/9 in BROKEN
        gxe.ExpectColumnValuesToBeInSet(column="ok", value_set=[True], mostly=0.8),
        gxe.ExpectColumnValuesToBeInSet(column="m", value_set=["uscc", "unmatched"]),
        gxe.ExpectColumnValuesToBeInSet(column="ok", value_set=[False], row_condition="gate == False",
                                        condition_parser="pandas"),
        gxe.ExpectColumnValuesToBeBetween(column="x", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeBetween(column="x", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="y", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="y", min_value=0, max_value=1, strict_max=True, mostly=0.5),
        gxe.ExpectColumnValuesToBeBetween(column="d", min_value=T0, max_value=T1),
        gxe.ExpectColumnValuesToBeBetween(column="ts", max_value=T1),
        gxe.ExpectColumnValuesToBeBetween(column="da2", min_value=T0, max_value=T0),
        gxe.ExpectColumnMaxToBeBetween(column="ts", max_value=T1),
        gxe.ExpectColumnMaxToBeBetween(column="d", max_value=T1),
        gxe.ExpectColumnMinToBeBetween(column="x", min_value=0, strict_min=True),
        gxe.ExpectColumnMinToBeBetween(column="d", min_value=T0),
        gxe.ExpectColumnMaxToBeBetween(column="nul", max_value=3),
        gxe.ExpectColumnUniqueValueCountToBeBetween(column="seed", min_value=0, max_value=1),
        gxe.ExpectTableRowCountToBeBetween(min_value=10, max_value=None),
        gxe.ExpectTableRowCountToBeBetween(min_value=None, max_value=9),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="a", column_B="b"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="a", column_B="b", or_equal=True,
                                                    ignore_row_if="either_value_is_missing"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="da", column_B="db", or_equal=True),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="d", column_B="da2"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="b", column_B="rank", ignore_row_if="either_value_is_missing"),
        gxe.ExpectColumnPairValuesToBeInSet(column_A="m", column_B="r", value_pairs_set=PAIRS, ignore_row_if="neither"),
        gxe.ExpectColumnPairValuesToBeInSet(column_A="m", column_B="r", value_pairs_set=PAIRS),
    ]


def _table(con, columns: dict, rows: int = 10) -> None:
    select = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE t AS SELECT {select} FROM range({rows}) r(i)")  # noqa: S608 - test literals


def _pandas(con, exps):
    import great_expectations as gx

    df = con.execute("SELECT * FROM t").df()
    suite = gx.ExpectationSuite(name="parity", expectations=exps)
    batch = _batch_definition(_ephemeral(), "parity").get_batch(batch_parameters={"dataframe": df})
    return batch.validate(suite).results


def _key(result) -> str:
    cfg = result.expectation_config
    kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
    return cfg.type + json.dumps(kwargs, sort_keys=True, default=str)


KEYS = ("element_count", "missing_count", "unexpected_count", "observed_value")


def _plain(value):
    """numpy scalars as Python values (pandas hands numpy ints, DuckDB Python ints)."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    import pandas as pd

    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None  # NaN, NaT, pd.NA: pandas' ways of saying missing
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    return value.item() if hasattr(value, "item") and not hasattr(value, "tz") else value


def _raised(result) -> bool:
    info = result.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(v.get("raised_exception") for v in info.values())


def _compare(gx_result, sql_result):
    g, s = gx_result.result, sql_result.result
    shown = f"{gx_result.expectation_config.type} {gx_result.expectation_config.kwargs}: pandas {g} sql {s}"
    if _raised(gx_result):
        # GX pandas cannot compare a nullable integer with <NA> (a pair row with one value missing
        # that ignore_row_if keeps) and fails with an error; SQL counts the row as unexpected.
        assert gx_result.expectation_config.type.startswith("expect_column_pair_values"), shown
        assert not gx_result.success and not sql_result.success and s["unexpected_count"] > 0, shown
        return
    assert bool(gx_result.success) == bool(sql_result.success), shown
    for key in KEYS:
        assert _plain(g.get(key)) == _plain(s.get(key)), f"{key}: {shown}"
    if g.get("unexpected_percent") is not None:
        assert g["unexpected_percent"] == pytest.approx(s["unexpected_percent"]), shown
    if g.get("partial_unexpected_list") is not None:  # the same values (SQL orders them; pandas by row)
        assert sorted(map(repr, map(_plain, g["partial_unexpected_list"]))) == \
            sorted(map(repr, map(_plain, s["partial_unexpected_list"]))), shown


@pytest.mark.parametrize("columns, rows, where", [
    (GOOD, 10, "good"), (BROKEN, 10, "broken"), (ALL_NULL, 10, "all null"), (GOOD, 0, "empty")],
    ids=["good", "broken", "all-null", "empty"])
def test_sql_engine_matches_gx_pandas(columns, rows, where):
    con = duckdb.connect()
    _table(con, columns, rows)
    exps = expectations()
    pandas_results = _pandas(con, exps)
    sql_results = sql_checks.evaluate(con, "SELECT * FROM t", {}, expectations())
    assert len(sql_results) == len(pandas_results) == len(exps)
    by_key = {_key(r): r for r in pandas_results}  # GX does not keep the suite's order
    assert len(by_key) == len(exps)
    for s in sql_results:
        _compare(by_key[_key(s)], s)
        assert s.meta["engine"] == "duckdb-sql"
    if where == "good":  # only the two checks that fail on any 10-row table with an all-null column
        assert sorted(r.expectation_config.type for r in sql_results if not r.success) == [
            "expect_column_max_to_be_between", "expect_table_row_count_to_be_between"]
    if where == "broken":  # the broken frame really breaks most checks
        assert sum(not r.success for r in sql_results) >= 30


def test_broken_cases_exercise_every_expectation_type():
    used = {e.expectation_type for e in expectations()}
    in_suites = set()
    from expectations.suites import load_suites

    for spec in load_suites().values():
        in_suites |= {e.expectation_type for e, _ in spec.build(D, {"files": 1, "row_bounds": {"min": 1, "max": 2}})}
    assert in_suites <= used


def test_regex_translation_keeps_python_semantics():
    assert sql_checks._re2(r"^\d{6}$") == r"\A\p{Nd}{6}\n?\z"
    assert sql_checks._re2(PHONE) is None  # lookarounds: Python re through a UDF
    assert sql_checks._re2(r"\w+") is None
    assert sql_checks._re2(r"a$b") is None
    assert sql_checks._re2(EMAIL) == EMAIL


@pytest.mark.parametrize("expectation", [
    gxe.ExpectColumnValuesToBeNull(column="k", row_condition="k > 3", condition_parser="pandas"),
    gxe.ExpectColumnValuesToBeInSet(column="k", value_set=["1"]),  # str set on an integer column
    gxe.ExpectColumnValuesToBeBetween(column="code", min_value=0),
    gxe.ExpectColumnValuesToMatchRegex(column="k", regex=r"\d"),  # pandas matches str() of numbers
    gxe.ExpectColumnValuesToBeBetween(column="missing_column", min_value=0),
    gxe.ExpectColumnValuesToBeDecreasing(column="k"),  # a type the SQL engine does not know
], ids=["condition", "set-types", "between-str", "regex-int", "no-column", "unknown-type"])
def test_what_sql_cannot_translate_exactly_is_refused(expectation):
    con = duckdb.connect()
    _table(con, GOOD)
    with pytest.raises(sql_checks.Unsupported):
        sql_checks.evaluate(con, "SELECT * FROM t", {}, [expectation])


def test_threshold_from_environment(monkeypatch):
    monkeypatch.delenv(sql_checks.ROWS_ENV, raising=False)
    assert sql_checks.sql_rows_threshold() == 200_000
    monkeypatch.setenv(sql_checks.ROWS_ENV, "1_000")
    assert sql_checks.sql_rows_threshold() == 1000
    monkeypatch.setenv(sql_checks.ROWS_ENV, "many")
    with pytest.raises(ValueError, match=sql_checks.ROWS_ENV):
        sql_checks.sql_rows_threshold()


# --------------------------------------------------------------------------- the real suites

def _by_expectation(outcome):
    return sorted((r.expectation, r.column_name or "", r.severity, r.success, r.details.rsplit(" [engine", 1)[0])
                  for r in outcome.results)


def _both_ways(con, monkeypatch, suites):
    monkeypatch.setenv(sql_checks.ROWS_ENV, "0")
    sql = run_gate(con, D, suites)
    monkeypatch.setenv(sql_checks.ROWS_ENV, str(10**12))
    pandas = run_gate(con, D, suites)
    return sql, pandas


def test_every_real_suite_gives_the_same_results_both_ways(warehouse, monkeypatch):
    sql, pandas = _both_ways(warehouse, monkeypatch, OURS)
    for name in OURS:
        assert sql[name].engine == "duckdb-sql" and pandas[name].engine == "gx-pandas", name
        assert _by_expectation(sql[name]) == _by_expectation(pandas[name]), name
        assert sql[name].rows == pandas[name].rows


@pytest.mark.parametrize("suite, breaking_sql, expectation, column", BROKEN_CASES,
                         ids=[f"{b[0]}-{b[2].removeprefix('expect_')}-{b[3]}" for b in BROKEN_CASES])
def test_every_broken_case_gives_the_same_results_both_ways(warehouse, monkeypatch, suite, breaking_sql,
                                                            expectation, column):
    warehouse.execute(breaking_sql)
    sql, pandas = _both_ways(warehouse, monkeypatch, [suite])
    # an emptied batch stays on pandas (its column checks are skipped as vacuous either way)
    assert sql[suite].engine == ("duckdb-sql" if sql[suite].rows else "gx-pandas")
    assert _by_expectation(sql[suite]) == _by_expectation(pandas[suite])
    assert (expectation, column) in {(r.expectation, r.column_name) for r in sql[suite].blocking_failures}


def test_big_batch_with_duplicate_ids_is_blocked_in_sql(warehouse, monkeypatch):
    """250,000 price rows (over the default threshold), two sharing an id: the SQL engine runs and blocks."""
    from benchmarks.gate import make_batch

    monkeypatch.delenv(sql_checks.ROWS_ENV, raising=False)
    warehouse.execute("DELETE FROM staging.price_observations")
    warehouse.execute("DELETE FROM meta.ingestion_ledger WHERE source = 'price_observations'")
    make_batch(warehouse, 250_000, D)
    warehouse.execute("UPDATE staging.price_observations SET observation_id = 'o7' WHERE observation_id = 'o8'")
    suite = "staging.price_observations"
    outcome = run_gate(warehouse, D, [suite])[suite]
    assert outcome.engine == "duckdb-sql" and outcome.rows == 250_000
    assert [(r.expectation, r.column_name) for r in outcome.blocking_failures] == [
        ("expect_column_values_to_be_unique", "observation_id")]
    failure = outcome.blocking_failures[0]
    assert '"unexpected_count": 2' in failure.observed_value and '"o7"' in failure.observed_value
    assert "duckdb-sql" in failure.details
    assert outcome.validation.meta["engine"] == "duckdb-sql"
    failed = [r for r in outcome.validation.results if not r.success]
    assert [r.expectation_config.meta["severity"] for r in failed] == [BLOCKING]
    assert failed[0].result["unexpected_count"] == 2 and failed[0].result["element_count"] == 250_000
