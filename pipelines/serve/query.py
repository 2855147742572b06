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
from pipelines.core.sql import quote_ident, quote_literal
from pipelines.publish.views import view_sources

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}


def open_reader(home: Home) -> duckdb.DuckDBPyConnection:
    """A read-only session with one view per published mart (pipelines/publish/views.py). Uses the
    warehouse's own views (with their column comments) when the warehouse is there; falls back to
    temporary views in an in-memory session when the warehouse file is absent, held by a running
    writer, or lacks a view."""
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
    for view, select in view_sources(home).items():
        if view not in existing:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS {select}")
    allowed = str(home.marts) + "/"
    con.execute(f"SET allowed_directories = [{quote_literal(allowed)}]")
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
