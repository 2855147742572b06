"""Which tables every indicator and mart reads, found by parsing its SQL with DuckDB's own parser.

Nothing here is declared by hand except what no SQL file shows (HISTORY_OF below). Each SQL file is
handed to DuckDB's `json_serialize_sql`; every table it names (in FROM, JOIN, sub-queries, CTE bodies)
is one of its direct inputs, and a table macro it calls (`indicators/macros.sql`) is replaced by the
tables the macro's own SELECT reads. The lineage then follows, transitively:

    work.ind__<family>__<name>   indicators/<family>/<name>.sql
    work.<family>__<name>        indicators/<family>/<name>.sql without a yml (e.g. credit/records.sql)
    work.mart__<mart>            indicators/marts/<mart>.sql, or the union of every indicator's flags
    staging.<view>               the view's SELECT, as the warehouse migrations define it
    meta.<history>               the mart whose rows it keeps (HISTORY_OF)

down to the tables nothing here produces (staging.*, meta.* bookkeeping). The quality gate blocks a
mart when any table in its lineage failed a blocking check (expectations/gate.py:guarding_suites);
compute builds indicators and marts in the order this lineage gives (indicators/compute.py).
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import duckdb

from warehouse.migrate import apply_migrations

MACROS_FILE = "macros.sql"  # indicators/macros.sql: shared table macros (register as of D, ...)

# Tables written in Python from a mart's candidate partition (indicators/credit/tiers.py); each keeps that
# mart's rows of earlier runs, and a mart reading one depends on the mart it copies.
HISTORY_OF = {
    "meta.credit_flag_history": "work.mart__indicator_flags",
    "meta.credit_tier_history": "work.mart__merchant_credit_tiers",
    "meta.inspection_draws": "work.mart__inspection_sample",
}

_VIEW_BODY = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+.+?\s+AS\s+(.*?);?\s*$",
                        re.IGNORECASE | re.DOTALL)


class LineageError(ValueError):
    """A SQL file the lineage cannot read (not a SELECT, an unqualified table name, ...)."""


@dataclass(frozen=True)
class SqlEnvironment:
    """What the warehouse and the shared macros define, as the parser needs it."""

    views: dict[str, str]  # "schema.view" -> its SELECT
    table_macros: dict[str, str]  # macro name -> its SELECT


def macros_sql() -> str:
    """The text of indicators/macros.sql ("" when the package has none)."""
    entry = resources.files("indicators") / MACROS_FILE
    return entry.read_text(encoding="utf-8") if entry.is_file() else ""


@lru_cache(maxsize=1)
def environment() -> SqlEnvironment:
    """Views (from the migrations, applied to an in-memory database) and table macros (macros.sql)."""
    con = duckdb.connect()
    try:
        apply_migrations(con)
        macros = macros_sql()
        if macros.strip():
            try:
                con.execute(macros)
            except duckdb.Error as exc:
                raise LineageError(f"indicators/{MACROS_FILE} cannot be read: {exc}") from exc
        views = {}
        for schema, name, sql in con.execute(
                "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall():
            match = _VIEW_BODY.match(sql or "")
            if not match:
                raise LineageError(f"view {schema}.{name}: cannot find its SELECT in {sql!r}")
            views[f"{schema}.{name}"] = match.group(1)
        macros_found = dict(con.execute(
            "SELECT function_name, macro_definition FROM duckdb_functions() "
            "WHERE function_type = 'table_macro' AND NOT internal").fetchall())
    finally:
        con.close()
    return SqlEnvironment(views=views, table_macros=macros_found)


# one in-memory DuckDB per process for parsing (opening one costs ~4x the parse itself); keyed by pid because a
# connection must not be used across a fork (Airflow's task runners fork from processes that parsed DAG files)
_PARSERS: dict[int, duckdb.DuckDBPyConnection] = {}
_PARSER_LOCK = threading.Lock()


def _parse(sql: str, where: str) -> list:
    with _PARSER_LOCK:
        con = _PARSERS.get(os.getpid())
        if con is None:
            con = _PARSERS[os.getpid()] = duckdb.connect()
        tree = json.loads(con.execute("SELECT json_serialize_sql($s)", {"s": sql}).fetchone()[0])
    if tree.get("error"):
        raise LineageError(f"{where}: DuckDB cannot parse it as a SELECT: {tree.get('error_message')}")
    return tree["statements"]


def _walk(node, tables: set[str], functions: set[str], ctes: set[str], unqualified: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, tables, functions, ctes, unqualified)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "BASE_TABLE":
        if node.get("schema_name"):
            tables.add(f"{node['schema_name']}.{node['table_name']}")
        else:
            unqualified.add(node["table_name"])
    elif kind == "TABLE_FUNCTION":
        name = (node.get("function") or {}).get("function_name")
        if name:
            functions.add(name)
    for entry in (node.get("cte_map") or {}).get("map") or []:
        ctes.add(entry["key"])
    for value in node.values():
        _walk(value, tables, functions, ctes, unqualified)


@lru_cache(maxsize=None)
def _references(sql: str, where: str) -> tuple[frozenset[str], frozenset[str]]:
    """(tables, table macros) one SQL text reads, the macros' own tables and macros included."""
    env = environment()
    tables: set[str] = set()
    functions: set[str] = set()
    ctes: set[str] = set()
    unqualified: set[str] = set()
    _walk(_parse(sql, where), tables, functions, ctes, unqualified)
    strangers = sorted(unqualified - ctes)
    if strangers:
        raise LineageError(f"{where} reads {', '.join(strangers)} without a schema: write staging.<table>, "
                           "work.<table> or meta.<table> so its lineage is unambiguous")
    macros = functions & set(env.table_macros)
    for name in sorted(macros):
        more_tables, more_macros = _references(env.table_macros[name], f"table macro {name} ({MACROS_FILE})")
        tables |= more_tables
        macros |= more_macros
    return frozenset(tables), frozenset(macros)


def tables_read(sql: str, where: str = "SQL") -> frozenset[str]:
    """The schema-qualified tables and views one SQL text reads, with table macros expanded."""
    return _references(sql, where)[0]


def table_macros_used(sql: str, where: str = "SQL") -> frozenset[str]:
    """The table macros of indicators/macros.sql one SQL text calls, directly or through another macro."""
    return _references(sql, where)[1]


@dataclass(frozen=True)
class Lineage:
    """reads[t]: the tables the SQL producing table `t` reads directly (views and histories included)."""

    reads: dict[str, frozenset[str]]

    def inputs(self, table: str) -> frozenset[str]:
        """Every table `table` is computed from, transitively (never `table` itself)."""
        seen: set[str] = set()
        todo = list(self.reads.get(table, ()))
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(self.reads.get(current, ()))
        seen.discard(table)
        return frozenset(seen)

    def sources(self, table: str) -> frozenset[str]:
        """The inputs of `table` that nothing here produces: the staging and bookkeeping tables."""
        return frozenset(t for t in self.inputs(table) if t not in self.reads)

    def order(self, tables: list[str]) -> list[str]:
        """`tables` with every one after those of them it reads (stable otherwise). A table reading its own
        history (a mart's earlier runs) is not a cycle; any other cycle is an error."""
        wanted = list(dict.fromkeys(tables))
        needs = {t: {u for u in self.inputs(t) if u in wanted and u != t} for t in wanted}
        done: list[str] = []
        while len(done) < len(wanted):
            ready = [t for t in wanted if t not in done and needs[t] <= set(done)]
            if not ready:
                stuck = [t for t in wanted if t not in done]
                raise LineageError(f"these tables read each other in a cycle: {', '.join(stuck)}")
            done.append(ready[0])
        return done


def build_lineage(producers: dict[str, str]) -> Lineage:
    """The lineage of `producers` ({work table: the SELECT that builds it}), of the warehouse's views
    and of the history tables."""
    env = environment()
    reads = {table: tables_read(sql, table) for table, sql in producers.items()}
    for view, sql in env.views.items():
        reads.setdefault(view, tables_read(sql, f"view {view}"))
    for history, mart_table in HISTORY_OF.items():
        reads.setdefault(history, frozenset({mart_table}))
    return Lineage(reads=reads)


# --------------------------------------------------------------------------- docs/QUALITY.md

DOC_BEGIN = "<!-- lineage: generated by `python -m indicators.lineage --write`; do not edit by hand -->"
DOC_END = "<!-- lineage: end -->"


def blocking_section(lineage: Lineage, marts: list[str]) -> str:
    """The table of docs/QUALITY.md: for each mart, the staging tables and marts whose blocking failure
    stops it (besides its own suite and meta.ingestion_ledger, which stop every mart)."""
    lines = [DOC_BEGIN, "", "| mart | blocked by a failed staging table | blocked by a blocked mart |",
             "| --- | --- | --- |"]
    for mart in marts:
        table = f"work.mart__{mart}"
        inputs = lineage.inputs(table)
        staging = sorted(t.split(".", 1)[1] for t in lineage.sources(table) if t.startswith("staging."))
        upstream = sorted(t.removeprefix("work.mart__") for t in inputs if t.startswith("work.mart__") and t != table)
        lines.append(f"| `{mart}` | {', '.join(staging) or '–'} | {', '.join(upstream) or '–'} |")
    return "\n".join([*lines, "", DOC_END])


def _write_quality_doc() -> None:
    # imported here: indicators.compute imports this module (it builds the lineage it orders the compute by)
    from pathlib import Path

    from indicators.compute import day_lineage, mart_catalogue

    doc = Path(__file__).resolve().parents[1] / "docs" / "QUALITY.md"
    text = doc.read_text(encoding="utf-8")
    section = blocking_section(day_lineage(), list(mart_catalogue()["marts"]))
    if DOC_BEGIN not in text or DOC_END not in text:
        raise SystemExit(f"{doc}: add the markers {DOC_BEGIN!r} and {DOC_END!r} where the table goes")
    head, rest = text.split(DOC_BEGIN, 1)
    doc.write_text(head + section + rest.split(DOC_END, 1)[1], encoding="utf-8")
    print(f"wrote the lineage table of {doc}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m indicators.lineage --write   (refreshes the table in docs/QUALITY.md)")
    _write_quality_doc()
