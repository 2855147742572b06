"""Read-only SQL for analysts: `market-monitor query "SQL"`.

The warehouse is opened read-only, every published mart is a view over its parquet files, and file
access is then locked to the marts folder, so a query can neither write, attach, nor read files
elsewhere. Only single SELECT-like statements are accepted.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

import duckdb

from pipelines.core.errors import UserError
from pipelines.core.home import Home

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}


def _sql_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _view_sources(home: Home) -> dict[str, str]:
    """{view name: SELECT over its parquet} for every published mart and the data dictionary."""
    from pipelines.publish.dictionary import (
        DICTIONARY_FILE,
        DICTIONARY_MART,
        published_marts,
        read_parquet_sql,
    )

    sources = {}
    for mart in published_marts(home):
        sources[mart] = f"SELECT * FROM {read_parquet_sql(home, mart)}"  # noqa: S608 - path quoted by sql_literal, values bound
    dictionary = home.mart_dir(DICTIONARY_MART) / DICTIONARY_FILE
    if dictionary.exists():
        sources[DICTIONARY_MART] = f"SELECT * FROM read_parquet({_sql_literal(dictionary)})"  # noqa: S608 - path quoted by sql_literal, values bound
    return sources


def create_mart_views(con: duckdb.DuckDBPyConnection, home: Home, dictionary: list[dict] | None = None) -> dict:
    """(Re)create in the warehouse one view per published mart (CONTRACT §4 names) over its parquet,
    plus `data_dictionary`, with each column commented from the dictionary. Called by the writer after
    publish. Paths and comments are SQL string literals (DDL takes no bound parameters), quoted.
    Returns {view: number of columns}."""
    from pipelines.publish.dictionary import column_comment

    comments = {(r["mart"], r["column_name"]): column_comment(r) for r in (dictionary or []) if r["label_zh"]}
    created = {}
    for view, select in _view_sources(home).items():
        con.execute(f"CREATE OR REPLACE VIEW main.{_ident(view)} AS {select}")
        columns = [r[0] for r in con.execute(f"DESCRIBE main.{_ident(view)}").fetchall()]
        for column in columns:
            text = comments.get((view, column))
            if text:
                con.execute(f"COMMENT ON COLUMN main.{_ident(view)}.{_ident(column)} IS {_sql_literal(text)}")
        created[view] = len(columns)
    return created


def open_reader(home: Home) -> duckdb.DuckDBPyConnection:
    """A read-only session with one view per published mart. Uses the warehouse's own views (with
    their column comments) when the warehouse is there; falls back to temporary views in an
    in-memory session when the warehouse file is absent, held by a running writer, or lacks a view."""
    con = None
    if home.db_path.exists():
        try:
            con = duckdb.connect(str(home.db_path), read_only=True)
        except (duckdb.IOException, duckdb.ConnectionException):
            con = None  # a run holds the writer lock: the published parquet is still consistent
    if con is None:
        con = duckdb.connect(":memory:")
    existing = {r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal").fetchall()}
    for view, select in _view_sources(home).items():
        if view not in existing:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(view)} AS {select}")
    allowed = str(home.marts) + "/"
    con.execute(f"SET allowed_directories = [{_sql_literal(allowed)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_query(home: Home, sql: str) -> tuple[list[str], list[tuple]]:
    con = open_reader(home)
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise UserError(f"query: the SQL does not parse: {exc}") from None
        if len(statements) != 1:
            raise UserError(f"query: give exactly one statement (got {len(statements)})")
        kind = statements[0].type.name
        if kind not in READ_ONLY_TYPES:
            raise UserError(f"query is read-only: a {kind} statement is refused. "
                            "Use SELECT (the marts are views: indicator_flags, price_reference_checks, …).")
        try:
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description]
            return columns, cur.fetchall()
        except duckdb.Error as exc:
            raise UserError(f"query failed: {exc}") from None
    finally:
        con.close()


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def format_rows(columns: list[str], rows: list[tuple], fmt: str = "table", max_width: int = 60) -> str:
    if fmt == "json":
        return json.dumps([{c: _plain(v) for c, v in zip(columns, r)} for r in rows], ensure_ascii=False,
                          indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in r] for r in rows])
        return buf.getvalue().rstrip("\n")
    cells = [[("NULL" if v is None else str(_plain(v)))[:max_width] for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [line, "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |", line]
    out += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |" for r in cells]
    out += [line, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"]
    return "\n".join(out)
