"""At connect: do the warehouse's staging.* tables agree with the source ymls? (The raw.* text copies were
dropped by migration 006: the landing file is the raw record, pipelines.ingest.landing_lines.)

`check_schema` is registered with the warehouse (warehouse.migrate.register_schema_check) when this module
is imported (pipelines.ingest.sqlfuncs imports it, so every writer path has it): after the migrations,
each connection compares its tables with pipelines/ingest/sources/*.yml and raises SchemaMismatch naming
table, column and the command that writes the missing migration (pipelines.ingest.ddl). The warehouse
layer cannot import the ingestion layer itself (pyproject [tool.importlinter]), hence the hook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from pipelines.core.errors import SchemaMismatch
from pipelines.ingest.catalogue import Table, all_tables
from warehouse.migrate import register_schema_check

NEW_MIGRATION_COMMAND = "python -m pipelines.ingest.ddl --new-migration"
# the lineage columns every staging table carries (warehouse/migrations/002_sources.sql)
LINEAGE_TYPES = {"_business_date": "DATE", "_file_name": "VARCHAR", "_sha256": "VARCHAR", "_row": "BIGINT"}

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
SCHEMAS = ("staging",)


def _type_key(sql_type: str) -> str:
    """Types compared without spaces; the integer widths count as one (002 wrote INTEGER by hand where the
    yml says integer = BIGINT; inserts cast, nothing is lost)."""
    t = re.sub(r"\s+", "", sql_type.split(" NOT NULL")[0]).upper()
    return "INTEGER" if t in _INTEGER_TYPES else t


def expected_schema(tables: list[Table] | None = None) -> dict[str, dict[str, str]]:
    """{"staging.<table>": {column: DuckDB type}} as the source ymls define them."""
    out: dict[str, dict[str, str]] = {}
    lineage = LINEAGE_TYPES
    for t in tables if tables is not None else all_tables():
        out[f"staging.{t.table}"] = {**dict(t.staging_columns()), **lineage}
    return out


def warehouse_schema(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """The base tables of staging.* in the connection's database, in column order."""
    rows = con.execute(
        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "  ON t.table_catalog = c.table_catalog AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_catalog = current_database() AND c.table_schema IN ('staging') "
        "  AND t.table_type = 'BASE TABLE' ORDER BY c.table_schema, c.table_name, c.ordinal_position").fetchall()
    out: dict[str, dict[str, str]] = {}
    for schema, table, column, data_type in rows:
        out.setdefault(f"{schema}.{table}", {})[column] = data_type
    return out


@dataclass(frozen=True)
class Difference:
    table: str                 # schema.table
    column: str | None         # None: the whole table is missing
    kind: str                  # missing_table | missing_column | type | extra_column
    expected: str | None = None
    actual: str | None = None

    def describe(self) -> str:
        if self.kind == "missing_table":
            return f"{self.table}: the table is missing"
        if self.kind == "missing_column":
            return f"{self.table}: column {self.column} ({self.expected}) is missing"
        if self.kind == "type":
            return f"{self.table}: column {self.column} is {self.actual}, the yml says {self.expected}"
        return f"{self.table}: column {self.column} ({self.actual}) is not in the yml"


def differences(actual: dict[str, dict[str, str]], tables: list[Table] | None = None) -> list[Difference]:
    out: list[Difference] = []
    for name, columns in expected_schema(tables).items():
        have = actual.get(name)
        if have is None:
            out.append(Difference(name, None, "missing_table"))
            continue
        for col, typ in columns.items():
            if col not in have:
                out.append(Difference(name, col, "missing_column", expected=typ))
            elif _type_key(have[col]) != _type_key(typ):
                out.append(Difference(name, col, "type", expected=typ, actual=have[col]))
        out += [Difference(name, col, "extra_column", actual=typ) for col, typ in have.items() if col not in columns]
    return out


def check_schema(con: duckdb.DuckDBPyConnection, tables: list[Table] | None = None) -> None:
    """Fail (SchemaMismatch) when the warehouse's staging tables differ from the source ymls."""
    found = differences(warehouse_schema(con), tables)
    if found:
        lines = "\n".join(f"  - {d.describe()}" for d in found)
        raise SchemaMismatch(
            "the warehouse's tables differ from the source ymls (pipelines/ingest/sources/*.yml), and no "
            f"migration in warehouse/migrations/ makes them agree:\n{lines}\n"
            f"A yml column or table was added without a migration: run `{NEW_MIGRATION_COMMAND}` in the "
            "repository, review the new warehouse/migrations/NNN_*.sql, reinstall, and connect again (new "
            "migrations are applied at connect). A changed type or a removed column needs a hand-written "
            "migration (docs/DEPLOYMENT.md, \"Schema upgrades\").")


register_schema_check(check_schema)
