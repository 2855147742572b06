"""Read-only SQL for analysts: `market-monitor query "SQL"`.

A query runs in its own in-memory DuckDB session that holds only what is published: one view per
published mart, the derived views (`<mart>_latest`, `complaint_rates_month_final`, `leads`),
`data_dictionary` and `value_labels` (all over the parquet under HOME/marts, made by
pipelines/publish/views.py), and `ingestion_ledger` (the ledger's bookkeeping columns, copied from the
warehouse). The warehouse itself is never attached to the session, so its raw, staging and work tables
and the quarantined rows (raw text) cannot be reached; file access is then locked to the marts folder and
the configuration locked, so a query can neither write, attach, nor read files elsewhere. Only single
SELECT-like statements are accepted.
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
from pipelines.core.sql import quote_literal
from pipelines.publish.views import create_views

READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}
# The ledger's bookkeeping columns (docs/CONTRACT.md §3); its `message` can quote a rejected file's text.
LEDGER_COLUMNS = ("source, business_date, file_name, sha256, size_bytes, rows_read, rows_loaded, rows_quarantined, "
                  "outcome, encoding, loaded_at")
LEDGER_COMMENT = ("入库台账 — One row per landed file and load attempt: rows read, loaded and quarantined, outcome "
                  "(the reason of a rejection is in `market-monitor status` and HOME/quarantine)")
REACHABLE = ("the published marts and their views (<mart>, <mart>_latest, complaint_rates_month_final, leads), "
             "data_dictionary, value_labels and ingestion_ledger")


def _published_dictionary(con: duckdb.DuckDBPyConnection, home: Home) -> list[dict]:
    """The rows of the published data dictionary (the column comments of the views)."""
    if not home.dictionary_file.exists():
        return []
    cur = con.execute(f"SELECT * FROM read_parquet({quote_literal(home.dictionary_file)})")  # noqa: S608 - path quoted by quote_literal
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _copy_ledger(con: duckdb.DuckDBPyConnection, home: Home) -> None:
    """`ingestion_ledger`: the ledger's bookkeeping columns, copied into the session from the warehouse
    (attached read-only for the copy, then detached). While a run holds the warehouse the table is empty
    and its comment says why."""
    comment = LEDGER_COMMENT
    copied = False
    if home.db_path.exists():
        try:
            con.execute(f"ATTACH {quote_literal(home.db_path)} AS warehouse (READ_ONLY)")
        except duckdb.Error:
            comment += "; EMPTY in this query: a running job holds the warehouse, try again when it finishes"
        else:
            try:
                con.execute(f"CREATE TABLE main.ingestion_ledger AS SELECT {LEDGER_COLUMNS} "  # noqa: S608 - fixed column list
                            "FROM warehouse.meta.ingestion_ledger ORDER BY business_date, source, file_name")
                copied = True
            finally:
                con.execute("DETACH warehouse")
    if not copied:
        con.execute("CREATE TABLE main.ingestion_ledger (source VARCHAR, business_date DATE, file_name VARCHAR, "
                    "sha256 VARCHAR, size_bytes BIGINT, rows_read BIGINT, rows_loaded BIGINT, "
                    "rows_quarantined BIGINT, outcome VARCHAR, encoding VARCHAR, loaded_at TIMESTAMP)")
    con.execute(f"COMMENT ON TABLE main.ingestion_ledger IS {quote_literal(comment)}")


def open_reader(home: Home) -> duckdb.DuckDBPyConnection:
    """A read-only in-memory session over the published data only (see the module docstring)."""
    con = duckdb.connect(":memory:")
    try:
        create_views(con, home, _published_dictionary(con, home))
        _copy_ledger(con, home)
        allowed = str(home.marts) + "/"
        con.execute(f"SET allowed_directories = [{quote_literal(allowed)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _failure(exc: duckdb.Error) -> UserError:
    text = f"query failed: {exc}"
    if isinstance(exc, duckdb.CatalogException):
        text += f"\nquery sees only {REACHABLE}; raw, staging, work and meta tables are not reachable from it"
    return UserError(text)


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
            raise _failure(exc) from None
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
