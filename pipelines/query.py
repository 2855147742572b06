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

from pipelines.errors import UserError
from pipelines.home import Home

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_reader(home: Home) -> duckdb.DuckDBPyConnection:
    """A read-only session with one view per published mart. Falls back to an in-memory session
    over the parquet marts when the warehouse file is absent or held by a running writer."""
    con = None
    if home.db_path.exists():
        try:
            con = duckdb.connect(str(home.db_path), read_only=True)
        except duckdb.IOException:
            con = None  # a run holds the writer lock: the published parquet is still consistent
    if con is None:
        con = duckdb.connect(":memory:")
    if home.marts.exists():
        for mart_dir in sorted(p for p in home.marts.iterdir() if p.is_dir()):
            if not any(mart_dir.glob("dt=*/part-0.parquet")):
                continue
            pattern = str(mart_dir / "dt=*" / "part-0.parquet")
            # Identifier and path come from our own folder names; both are quoted, never pasted raw.
            name = '"' + mart_dir.name.replace('"', '""') + '"'
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM "
                        f"read_parquet({_sql_literal(pattern)}, hive_partitioning = true)")
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
