"""Evaluate a suite's expectations in DuckDB (SQL) instead of GX's pandas engine, for large batches.

The quality gate (expectations/gate.py) uses this path when a batch has at least
`MARKET_MONITOR_GATE_SQL_ROWS` rows (default 200,000): pulling millions of rows into pandas costs
gigabytes and GX's pandas checks ~7 s per million rows, while DuckDB computes the same counts in
one streaming aggregate per batch (plus one GROUP BY per uniqueness check, and one small query per
*failing* check for its sample of unexpected values).

Parity with GX: only the metrics are computed here (row count, missing count, unexpected count,
rows considered after `ignore_row_if`, column min / max / distinct count, up to 20 unexpected
values). Success, `mostly`, unexpected percentages and the result layout come from the
expectation's own GX `_validate` method fed with those metrics, so the decision rule is GX's.
Results are real `ExpectationValidationResult` / `ExpectationSuiteValidationResult` objects (stored
and rendered in Data Docs like the pandas ones), marked `meta.engine = "duckdb-sql"`.

Anything this module cannot translate exactly (an expectation type or option it does not know, a
row condition other than `column == literal`, a value set whose types differ from the column's, a
column of a type whose pandas comparison differs, a regex outside a safe subset is run with Python's
`re` through a DuckDB UDF instead) raises `Unsupported`, and the gate validates that suite with GX
pandas: a check is never skipped silently.

Known differences from the pandas engine (display only, never the decision): the partial
unexpected list is the 20 smallest unexpected values (deterministic) rather than the first 20 in
row order, and there is no `partial_unexpected_index_list` (a SQL batch has no row index).

Why one module of ~650 lines: it is one translator (expectation → SQL plan → metrics → GX's own
`_validate`), and every part of it must agree with the others on the same plan objects and the same
pandas semantics; split, a reader would have to hold four files to check one expectation's parity.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.core.sql import quote_ident

# great_expectations is imported inside the functions that use it (marked `# GX: lazy`): it takes ~4 s to
# import (measured), and this module is imported by every stage through pipelines.run.daily, so the
# ingest, publish and report stages, their Airflow tasks and the CLI's other commands do not pay it.

_UDF_IDS = itertools.count()

ENGINE_SQL = "duckdb-sql"
ENGINE_PANDAS = "gx-pandas"
ROWS_ENV = "MARKET_MONITOR_GATE_SQL_ROWS"
DEFAULT_SQL_ROWS = 200_000
RESULT_FORMAT = "SUMMARY"  # what Batch.validate uses by default
PARTIAL = 20  # GX's partial_unexpected_count in SUMMARY

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
           "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")
DATETIME = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
STRING = ("VARCHAR", "JSON")


class Unsupported(ValueError):
    """The SQL path cannot evaluate this expectation exactly as GX pandas would: use pandas."""


def sql_rows_threshold() -> int:
    """Batches with at least this many rows are validated in DuckDB (env MARKET_MONITOR_GATE_SQL_ROWS)."""
    raw = os.environ.get(ROWS_ENV, "").strip()
    if not raw:
        return DEFAULT_SQL_ROWS
    try:
        value = int(raw.replace("_", ""))
    except ValueError as exc:
        raise ValueError(f"{ROWS_ENV} must be a whole number of rows, not {raw!r}") from exc
    if value < 0:
        raise ValueError(f"{ROWS_ENV} must be >= 0, not {value}")
    return value


def _family(sql_type: str) -> str:
    t = sql_type.upper()
    base = t.split("(", 1)[0].strip()
    if base in NUMERIC:
        return "numeric"
    if base in DATETIME:
        return "datetime"
    if base in STRING:
        return "string"
    if base == "BOOLEAN":
        return "boolean"
    return "other"  # TIMESTAMPTZ (tz-aware in pandas), lists, structs, intervals, … : pandas path


# --------------------------------------------------------------------------- regex

_SAFE_ESCAPES = {"d": r"\p{Nd}", "D": r"\P{Nd}"}  # Python's \d is any Unicode decimal digit (Nd)


def _re2(regex: str) -> str | None:
    """The RE2 pattern with Python `re.search` semantics, or None when the pattern is outside the
    subset whose meaning is the same in both (lookarounds, \\w \\s \\b, back references, flags,
    `$` other than at the very end, …)."""
    out: list[str] = []
    i, n, in_class = 0, len(regex), False
    while i < n:
        ch = regex[i]
        if ch == "\\":
            if i + 1 >= n:
                return None
            nxt = regex[i + 1]
            if nxt in _SAFE_ESCAPES:
                out.append(_SAFE_ESCAPES[nxt])
            elif not nxt.isalnum():  # an escaped punctuation character is that character
                out.append("\\" + nxt)
            else:
                return None
            i += 2
            continue
        if in_class:
            if ch == "[":
                return None  # nested set syntax differs
            if ch == "]":
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
            if regex[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if regex[i + 1:i + 2] == "]":  # a literal ] first in the set
                out.append(r"\]")
                i += 1
        elif ch == "(":
            if regex[i + 1:i + 3] == "?:":
                out.append("(?:")
                i += 3
                continue
            if regex[i + 1:i + 2] == "?":
                return None  # lookarounds, named groups, inline flags
            out.append(ch)
        elif ch == "$":
            if i != n - 1:
                return None
            out.append(r"\n?\z")  # Python's $ also matches before a final newline
        elif ch == "^":
            if i != 0:
                return None
            out.append(r"\A")
        elif ch == "{" and not re.match(r"\{\d*(,\d*)?\}", regex[i:]):
            out.append(r"\{")  # Python reads a brace that is not a repeat literally
        else:
            out.append(ch)
        i += 1
    if in_class:
        return None
    return "".join(out)


# --------------------------------------------------------------------------- plans

@dataclass
class _Plan:
    expectation: Any
    kind: str  # map | not_null | null | unique | pair | compound | agg | rowcount
    domain: str = "TRUE"  # the row condition
    columns: list[str] = field(default_factory=list)
    ok: str | None = None  # predicate of an expected non-missing row (map / pair)
    ignore: str = "FALSE"  # rows a pair / compound check leaves out
    agg: str | None = None  # min | max | distinct
    family: str | None = None
    expr: str | None = None  # the column as pandas holds it (DECIMAL as DOUBLE, DATE as TIMESTAMP)
    metrics: dict = field(default_factory=dict)


class _Params:
    def __init__(self):
        self.values: dict[str, Any] = {}

    def add(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return "$" + name


def _row_condition(expectation, types: dict[str, str], params: _Params) -> str:
    cond = getattr(expectation, "row_condition", None)
    if not cond:
        return "TRUE"
    parser = getattr(expectation, "condition_parser", None)
    if getattr(cond, "type", None) == "pass_through":  # GX 1.x wraps a pandas condition string
        cond = cond.pass_through_filter
    if not isinstance(cond, str) or parser != "pandas":
        raise Unsupported(f"row_condition {cond!r} with parser {parser!r}")
    m = re.fullmatch(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*==\s*("([^"\\]*)"|\'([^\'\\]*)\'|True|False|-?\d+)\s*', cond)
    if not m or m.group(1) not in types:
        raise Unsupported(f"row_condition {cond!r} (only `column == literal` is translated)")
    col, lit = m.group(1), m.group(2)
    fam = _family(types[col])
    if lit in ("True", "False"):
        if fam != "boolean":
            raise Unsupported(f"row_condition {cond!r} on a {types[col]} column")
        return f"coalesce({quote_ident(col)} = {lit.upper()}, FALSE)"
    if lit[0] in "\"'":
        if fam != "string":
            raise Unsupported(f"row_condition {cond!r} on a {types[col]} column")
        value = m.group(3) if m.group(3) is not None else m.group(4)
        return f"coalesce({quote_ident(col)} = {params.add(value)}, FALSE)"
    if fam != "numeric":
        raise Unsupported(f"row_condition {cond!r} on a {types[col]} column")
    return f"coalesce({quote_ident(col)} = {params.add(int(lit))}, FALSE)"


def _col(expectation, attr: str, types: dict[str, str]) -> str:
    name = getattr(expectation, attr)
    if name not in types:
        raise Unsupported(f"column {name!r} is not in the batch")  # GX pandas reports the error
    return name


def _value(col: str, family: str, sql_type: str = "") -> str:
    """The column as pandas sees it: DECIMAL becomes float64 in the DataFrame, dates datetimes."""
    if family == "numeric" and sql_type.upper().startswith("DECIMAL"):
        return f"CAST({quote_ident(col)} AS DOUBLE)"
    if family == "datetime":
        return f"CAST({quote_ident(col)} AS TIMESTAMP)"
    return quote_ident(col)


def _bound(value, family: str, params: _Params) -> str:
    if isinstance(value, bool) or value is None:
        raise Unsupported(f"bound {value!r}")
    if family == "numeric" and isinstance(value, (int, float)):
        return f"CAST({params.add(float(value))} AS DOUBLE)"
    if family == "datetime" and isinstance(value, datetime) and value.tzinfo is None:
        return f"CAST({params.add(value)} AS TIMESTAMP)"
    raise Unsupported(f"bound {value!r} ({type(value).__name__}) for a {family} column")


def _literal(value, family: str, params: _Params) -> str:
    """A value of a set, compared as pandas would (same Python type family only)."""
    if value is None:
        raise Unsupported("None in a value set")
    if isinstance(value, bool):
        if family != "boolean":
            raise Unsupported(f"{value!r} in the value set of a {family} column")
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if family != "numeric":
            raise Unsupported(f"{value!r} in the value set of a {family} column")
        return f"CAST({params.add(float(value))} AS DOUBLE)"
    if isinstance(value, str):
        if family != "string":
            raise Unsupported(f"{value!r} in the value set of a {family} column")
        return params.add(value)
    raise Unsupported(f"{value!r} ({type(value).__name__}) in a value set")


def _between(lo, hi, strict_lo, strict_hi, expr, family, params) -> str:
    if lo is None and hi is None:
        raise Unsupported("between without bounds (GX raises)")
    if lo is not None and hi is not None and lo > hi:
        raise Unsupported("min_value > max_value (GX raises)")
    parts = []
    if lo is not None:
        parts.append(f"{expr} {'>' if strict_lo else '>='} {_bound(lo, family, params)}")
    if hi is not None:
        parts.append(f"{expr} {'<' if strict_hi else '<='} {_bound(hi, family, params)}")
    return " AND ".join(parts)


def _python_predicate(con, kind: str, regex: str | None, udfs: list[str]) -> str:
    """A DuckDB UDF running Python (`re.search` / `json.loads`) for exact GX semantics."""
    # unique per process: a rolled-back transaction may bring back an earlier (removed) function
    name = f"_mm_gate_{kind}_{os.getpid()}_{next(_UDF_IDS)}"
    if kind == "regex":
        pattern = re.compile(regex)

        def fn(values):
            return pa.array([None if v is None else pattern.search(v) is not None for v in values.to_pylist()],
                            type=pa.bool_())
    else:
        def is_json(v):
            try:
                json.loads(v)
                return True
            except Exception:  # noqa: BLE001 - the same rule as GX's is_json
                return False

        def fn(values):
            return pa.array([None if v is None else is_json(v) for v in values.to_pylist()], type=pa.bool_())
    con.create_function(name, fn, ["VARCHAR"], "BOOLEAN", type="arrow", null_handling="special",
                        side_effects=False)
    udfs.append(name)
    return name


_MAP_TYPES = {
    "expect_column_values_to_be_between", "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_be_json_parseable",
}
_KNOWN_FIELDS = {  # options each type may carry; anything else set => pandas path
    "expect_column_values_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_values_to_be_in_set": {"value_set"},
    "expect_column_values_to_match_regex": {"regex"},
    "expect_column_values_to_not_match_regex": {"regex"},
    "expect_column_values_to_be_json_parseable": set(),
    "expect_column_values_to_not_be_null": set(),
    "expect_column_values_to_be_null": set(),
    "expect_column_values_to_be_unique": set(),
    "expect_column_pair_values_a_to_be_greater_than_b": {"or_equal", "ignore_row_if"},
    "expect_column_pair_values_to_be_equal": {"ignore_row_if"},
    "expect_column_pair_values_to_be_in_set": {"value_pairs_set", "ignore_row_if"},
    "expect_compound_columns_to_be_unique": {"ignore_row_if"},
    "expect_column_max_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_min_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_unique_value_count_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_table_row_count_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
}
_ALWAYS_OK = {"column", "column_A", "column_B", "column_list", "mostly", "row_condition", "condition_parser",
              "result_format", "batch_id", "catch_exceptions", "meta", "notes", "id", "description",
              "severity", "rendered_content", "windows"}


def _check_options(expectation) -> None:
    etype = expectation.expectation_type
    allowed = _KNOWN_FIELDS.get(etype)
    if allowed is None:
        raise Unsupported(f"expectation type {etype}")
    fields = type(expectation).__fields__  # pydantic v1 models
    for name, spec in fields.items():
        if name in _ALWAYS_OK or name in allowed:
            continue
        value = getattr(expectation, name, None)
        default = spec.default
        if value not in (None, False) and value != default:
            raise Unsupported(f"{etype} option {name}={value!r}")
    if getattr(expectation, "windows", None):
        raise Unsupported(f"{etype} with windows")
    for name in ("min_value", "max_value", "value_set", "mostly"):
        if isinstance(getattr(expectation, name, None), dict):  # a suite parameter
            raise Unsupported(f"{etype} {name} given as a suite parameter")


def plan(con, expectation, types: dict[str, str], params: _Params, udfs: list[str]) -> _Plan:
    """How to compute one expectation's metrics in SQL (raises Unsupported)."""
    _check_options(expectation)
    etype = expectation.expectation_type
    domain = _row_condition(expectation, types, params)
    e = expectation
    if etype == "expect_table_row_count_to_be_between":
        return _Plan(e, "rowcount", domain)
    if etype == "expect_compound_columns_to_be_unique":
        cols = list(e.column_list)
        for c in cols:
            if c not in types:
                raise Unsupported(f"column {c!r} is not in the batch")
        mode = e.ignore_row_if or "all_values_are_missing"
        nulls = [f"{quote_ident(c)} IS NULL" for c in cols]
        ignore = {"all_values_are_missing": " AND ".join(nulls), "any_value_is_missing": " OR ".join(nulls),
                  "never": "FALSE"}.get(mode)
        if ignore is None:
            raise Unsupported(f"ignore_row_if={mode!r}")
        return _Plan(e, "compound", domain, cols, ignore=f"({ignore})",
                     metrics={"_fams": [_family(types[c]) for c in cols]})
    if etype.startswith("expect_column_pair_values"):
        a, b = _col(e, "column_A", types), _col(e, "column_B", types)
        fa, fb = _family(types[a]), _family(types[b])
        mode = e.ignore_row_if or "both_values_are_missing"
        ignore = {"both_values_are_missing": f"({quote_ident(a)} IS NULL AND {quote_ident(b)} IS NULL)",
                  "either_value_is_missing": f"({quote_ident(a)} IS NULL OR {quote_ident(b)} IS NULL)",
                  "neither": "FALSE"}.get(mode)
        if ignore is None:
            raise Unsupported(f"ignore_row_if={mode!r}")
        if etype == "expect_column_pair_values_to_be_in_set":
            if e.value_pairs_set is None:
                raise Unsupported("value_pairs_set None")
            terms = []
            for x, y in e.value_pairs_set:
                ta = f"{quote_ident(a)} IS NULL" if x is None else f"{_value(a, fa, types[a])} = {_literal(x, fa, params)}"
                tb = f"{quote_ident(b)} IS NULL" if y is None else f"{_value(b, fb, types[b])} = {_literal(y, fb, params)}"
                terms.append(f"({ta} AND {tb})")
            ok = "(" + (" OR ".join(terms) or "FALSE") + ")"
        else:
            if fa != fb or fa not in ("numeric", "datetime", "string", "boolean"):
                raise Unsupported(f"{etype} on {types[a]} and {types[b]}")
            if etype.endswith("greater_than_b") and fa not in ("numeric", "datetime"):
                raise Unsupported(f"{etype} on {types[a]} columns")
            op = "=" if etype.endswith("to_be_equal") else (">=" if e.or_equal else ">")
            ok = f"{_value(a, fa, types[a])} {op} {_value(b, fb, types[b])}"
        return _Plan(e, "pair", domain, [a, b], ok=ok, ignore=ignore)
    col = _col(e, "column", types)
    fam = _family(types[col])
    expr = _value(col, fam, types[col])
    if etype == "expect_column_values_to_not_be_null":
        return _Plan(e, "not_null", domain, [col])
    if etype == "expect_column_values_to_be_null":
        return _Plan(e, "null", domain, [col], family=fam, expr=expr)
    if etype == "expect_column_values_to_be_unique":
        if fam == "other":
            raise Unsupported(f"{etype} on a {types[col]} column")
        return _Plan(e, "unique", domain, [col], family=fam, expr=expr)
    if etype in ("expect_column_max_to_be_between", "expect_column_min_to_be_between",
                 "expect_column_unique_value_count_to_be_between"):
        if etype == "expect_column_unique_value_count_to_be_between":
            if fam == "other":
                raise Unsupported(f"{etype} on a {types[col]} column")
            return _Plan(e, "agg", domain, [col], agg="distinct", family=fam, expr=expr)
        if fam not in ("numeric", "datetime"):
            raise Unsupported(f"{etype} on a {types[col]} column")
        for bound in (e.min_value, e.max_value):
            if bound is not None:
                _bound(bound, fam, _Params())  # the same type rule as per-value between
        return _Plan(e, "agg", domain, [col], agg=etype.split("_")[2], family=fam, expr=expr)
    if etype not in _MAP_TYPES:
        raise Unsupported(f"expectation type {etype}")
    if etype == "expect_column_values_to_be_between":
        if fam not in ("numeric", "datetime"):
            raise Unsupported(f"{etype} on a {types[col]} column")
        ok = _between(e.min_value, e.max_value, e.strict_min, e.strict_max, expr, fam, params)
    elif etype == "expect_column_values_to_be_in_set":
        if e.value_set is None:
            raise Unsupported("value_set None")
        if len(e.value_set) == 0:
            ok = "FALSE"
        else:
            ok = f"{expr} IN ({', '.join(_literal(v, fam, params) for v in e.value_set)})"
    elif etype in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        if fam != "string":
            raise Unsupported(f"{etype} on a {types[col]} column (pandas matches its str())")
        pattern = _re2(e.regex)
        if pattern is not None:
            hit = f"regexp_matches({quote_ident(col)}, {params.add(pattern)})"
        else:
            hit = f"{_python_predicate(con, 'regex', e.regex, udfs)}({quote_ident(col)})"
        ok = hit if etype.endswith("to_match_regex") and "not_match" not in etype else f"NOT {hit}"
    else:  # json parseable
        if fam != "string":
            raise Unsupported(f"{etype} on a {types[col]} column")
        ok = f"{_python_predicate(con, 'json', None, udfs)}({quote_ident(col)})"
    return _Plan(e, "map", domain, [col], ok=ok, family=fam, expr=expr)


# --------------------------------------------------------------------------- evaluation

def _py(value, family: str | None):
    """A DuckDB value as the pandas frame would hold it."""
    if value is None:
        return None
    if family == "datetime" and isinstance(value, (date, datetime)):
        return pd.Timestamp(value)
    if family == "numeric" and not isinstance(value, (bool, int)):
        return float(value)
    return value


def _aggregates(p: _Plan, i: int) -> list[str]:
    d = p.domain
    out = [f"count_if({d}) AS n{i}"]
    if p.kind == "map":
        c = quote_ident(p.columns[0])
        out += [f"count_if({d} AND {c} IS NULL) AS m{i}",
                f"count_if({d} AND {c} IS NOT NULL AND NOT coalesce({p.ok}, FALSE)) AS u{i}"]
    elif p.kind in ("not_null", "null", "unique"):
        c = quote_ident(p.columns[0])
        out += [f"count_if({d} AND {c} IS NULL) AS m{i}"]
    elif p.kind == "pair":
        out += [f"count_if({d} AND NOT {p.ignore}) AS f{i}",
                f"count_if({d} AND NOT {p.ignore} AND NOT coalesce({p.ok}, FALSE)) AS u{i}"]
    elif p.kind == "compound":
        out += [f"count_if({d} AND NOT {p.ignore}) AS f{i}"]
    elif p.kind == "agg" and p.agg == "distinct":
        out += [f"count(DISTINCT {quote_ident(p.columns[0])}) FILTER (WHERE {d}) AS a{i}"]
    elif p.kind == "agg":
        out += [f"{p.agg}({p.expr}) FILTER (WHERE {d}) AS a{i}"]
    return out


def _unexpected_where(p: _Plan) -> str:
    c = quote_ident(p.columns[0]) if p.columns else None
    if p.kind == "map":
        return f"{p.domain} AND {c} IS NOT NULL AND NOT coalesce({p.ok}, FALSE)"
    if p.kind == "null":
        return f"{p.domain} AND {c} IS NOT NULL"
    if p.kind == "pair":
        return f"{p.domain} AND NOT {p.ignore} AND NOT coalesce({p.ok}, FALSE)"
    raise AssertionError(p.kind)


def _run(con, sql: str, params: dict):
    """Execute with only the parameters the statement names (DuckDB rejects unused ones)."""
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in names})


def _sample(con, batch: str, p: _Plan, params: dict) -> list:
    if p.kind == "pair":
        a, b = (quote_ident(c) for c in p.columns)
        rows = _run(con, f"WITH b AS ({batch}) SELECT {a}, {b} FROM b WHERE {_unexpected_where(p)} "  # noqa: S608 - identifiers quoted with quote_ident, predicates built here from expectation configs; values bound
                           f"ORDER BY {a} NULLS LAST, {b} NULLS LAST LIMIT {PARTIAL}", params).fetchall()
        fa = p.metrics.get("_fa")
        return [(_py(x, fa), _py(y, p.metrics.get("_fb"))) for x, y in rows]
    c = quote_ident(p.columns[0])
    expr = p.expr or c
    rows = _run(con, f"WITH b AS ({batch}) SELECT {expr} FROM b WHERE {_unexpected_where(p)} "  # noqa: S608 - identifiers quoted with quote_ident, predicates built here from expectation configs; values bound
                       f"ORDER BY 1 LIMIT {PARTIAL}", params).fetchall()
    return [_py(r[0], p.family) for r in rows]


def _duplicates(con, batch: str, p: _Plan, params: dict, want_sample: bool) -> tuple[int, list]:
    """GX counts every row of a duplicated value (or key) as unexpected."""
    cols = ", ".join(quote_ident(c) for c in p.columns)
    where = f"{p.domain} AND {quote_ident(p.columns[0])} IS NOT NULL" if p.kind == "unique" else \
        f"{p.domain} AND NOT {p.ignore}"
    sql = (f"WITH b AS ({batch}), g AS (SELECT {cols}, count(*) AS _mm_dup_n FROM b WHERE {where} "  # noqa: S608 - identifiers quoted with quote_ident, predicates built here; values bound
           f"GROUP BY ALL HAVING count(*) > 1) SELECT coalesce(sum(_mm_dup_n), 0)::BIGINT FROM g")
    (count,) = _run(con, sql, params).fetchone()
    sample: list = []
    if count and want_sample:
        order = ", ".join(f"{quote_ident(c)} NULLS LAST" for c in p.columns)
        rows = _run(
            con, f"WITH b AS ({batch}), g AS (SELECT {cols}, count(*) AS _mm_dup_n FROM b WHERE {where} "  # noqa: S608 - identifiers quoted with quote_ident, predicates built here; values bound
            f"GROUP BY ALL HAVING count(*) > 1 ORDER BY {order} LIMIT {PARTIAL}) "
            f"SELECT {cols}, _mm_dup_n FROM g ORDER BY {order}", params).fetchall()
        for *values, k in rows:
            for _ in range(k):
                if len(sample) >= PARTIAL:
                    break
                sample.append(_py(values[0], p.family) if p.kind == "unique" else
                              {c: _py(v, f) for c, v, f in zip(p.columns, values, p.metrics["_fams"])})
    return int(count), sample


def _metrics(p: _Plan, row: dict, i: int) -> dict:
    e = p.expectation
    n = row[f"n{i}"]
    if p.kind == "rowcount":
        return {"table.row_count": n}
    if p.kind == "agg":
        name = {"min": "column.min", "max": "column.max", "distinct": "column.distinct_values.count"}[p.agg]
        value = row[f"a{i}"]
        if p.agg != "distinct":
            value = _py(value, p.family)
            if value is None and p.family == "datetime":  # pandas' max of no datetimes is NaT
                value = pd.NaT
        return {name: value}
    mm = e.map_metric
    if p.kind in ("map", "unique"):
        return {"table.row_count": n, "column_values.nonnull.unexpected_count": row[f"m{i}"],
                f"{mm}.unexpected_count": row.get(f"u{i}")}
    if p.kind == "not_null":
        return {"table.row_count": n, f"{mm}.unexpected_count": row[f"m{i}"]}
    if p.kind == "null":
        return {"table.row_count": n, f"{mm}.unexpected_count": n - row[f"m{i}"]}
    if p.kind in ("pair", "compound"):
        return {"table.row_count": n, f"{mm}.filtered_row_count": row[f"f{i}"],
                f"{mm}.unexpected_count": row.get(f"u{i}")}
    raise AssertionError(p.kind)


def batch_columns(con, batch_sql: str, params: dict) -> dict[str, str]:
    rel = _run(con, f"DESCRIBE SELECT * FROM ({batch_sql}) AS b", params).fetchall()  # noqa: S608 - suite SQL from code; values bound
    return {r[0]: r[1] for r in rel}


def evaluate(con: duckdb.DuckDBPyConnection, batch_sql: str, params: dict, expectations: list) -> list:
    """GX ExpectationValidationResults for `expectations` on the batch `batch_sql` (bound `params`).
    Raises Unsupported (before running any query) when one cannot be evaluated exactly."""
    from great_expectations.core import ExpectationValidationResult  # GX: lazy

    types = batch_columns(con, batch_sql, params)
    bound = _Params()
    udfs: list[str] = []
    try:
        plans = []
        for e in expectations:
            p = plan(con, e, types, bound, udfs)
            if p.kind == "pair":
                p.metrics["_fa"], p.metrics["_fb"] = (_family(types[c]) for c in p.columns)
            plans.append(p)
        allp = dict(params) | bound.values
        needed = sorted({c for p in plans for c in p.columns} | _condition_columns(plans, types))
        if needed:
            batch = f"SELECT {', '.join(quote_ident(c) for c in needed)} FROM ({batch_sql}) AS s"  # noqa: S608 - column names quoted with quote_ident
        else:
            batch = f"SELECT 1 AS _one FROM ({batch_sql}) AS s"  # noqa: S608 - suite SQL from code
        aggs = [a for i, p in enumerate(plans) for a in _aggregates(p, i)] or ["count(*) AS n"]
        cur = _run(con, f"WITH b AS ({batch}) SELECT {', '.join(aggs)} FROM b", allp)  # noqa: S608 - aggregates built here from quoted identifiers; values bound
        names = [d[0] for d in cur.description]
        # count_if over no rows is NULL in DuckDB: a count of nothing is 0
        row = {k: (0 if v is None and k[0] in "nmuf" else v) for k, v in zip(names, cur.fetchone())}
        results = []
        for i, p in enumerate(plans):
            m = _metrics(p, row, i)
            if p.kind in ("unique", "compound"):
                m[f"{p.expectation.map_metric}.unexpected_count"], sample = _duplicates(con, batch, p, allp, True)
                m[f"{p.expectation.map_metric}.unexpected_values"] = sample
            elif p.kind in ("map", "pair", "null", "not_null"):
                count = m[f"{p.expectation.map_metric}.unexpected_count"]
                if p.kind == "not_null":
                    sample = [None] * min(count, PARTIAL)
                else:
                    sample = _sample(con, batch, p, allp) if count else []
                m[f"{p.expectation.map_metric}.unexpected_values"] = sample
            out = p.expectation._validate(metrics=m, runtime_configuration={"result_format": RESULT_FORMAT})
            results.append(ExpectationValidationResult(
                success=bool(out["success"]), result=out.get("result", {}),
                expectation_config=p.expectation.configuration, meta={"engine": ENGINE_SQL},
                exception_info={"raised_exception": False, "exception_traceback": None,
                                "exception_message": None}))
        return results
    finally:
        for name in udfs:
            try:
                con.remove_function(name)
            except duckdb.Error:  # pragma: no cover - already gone
                pass


def _condition_columns(plans: list[_Plan], types: dict[str, str]) -> set[str]:
    cols = set()
    for p in plans:
        cond = getattr(p.expectation, "row_condition", None)
        cond = getattr(cond, "pass_through_filter", cond)
        if isinstance(cond, str):
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", cond)
            if m and m.group(1) in types:
                cols.add(m.group(1))
    return cols


def suite_result(suite, results: list, meta: dict):
    """An ExpectationSuiteValidationResult as GX's Batch.validate builds it."""
    import great_expectations as gx  # GX: lazy
    from great_expectations.core import ExpectationSuiteValidationResult  # GX: lazy

    evaluated = len(results)
    successful = sum(1 for r in results if r.success)
    statistics = {
        "evaluated_expectations": evaluated,
        "successful_expectations": successful,
        "unsuccessful_expectations": evaluated - successful,
        "success_percent": (100.0 * successful / evaluated) if evaluated else None,
    }
    return ExpectationSuiteValidationResult(
        success=successful == evaluated, results=results, suite_name=suite.name, statistics=statistics,
        meta={"great_expectations_version": gx.__version__, "engine": ENGINE_SQL, **meta})
