"""The schema of staging.*, from the source metadata; append-only migrations.

warehouse/migrations/002_sources.sql is frozen: it was rendered once from the source ymls by
`render_migration()` and, like every applied migration, is never edited again (its sha256 is pinned in
warehouse/migrations/MANIFEST.sha256). A column or table added to a source yml later becomes a new
numbered migration:

    python -m pipelines.ingest.ddl --new-migration [--name add_channel]   # writes NNN_<name>.sql
    python -m pipelines.ingest.ddl --check                                # exit 1 when one is missing

which compares the schema the existing migrations build with the ymls and writes `ALTER TABLE … ADD
COLUMN` (or CREATE TABLE for a new table). At connect, pipelines.ingest.schema_check compares the
warehouse's staging tables with the ymls and fails, naming table, column and this command, when they
disagree. (002 and 005 also created raw.<table> text copies; 006 dropped them: the landing file is the
raw record. `render_migration` still renders them, to keep 002 verifiable.) The three staging tables the indicators were first built on
(price_observations, olist_orders, olist_order_items) were written out by hand in 002 and are kept
verbatim here (HAND_SQL)."""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import duckdb

from pipelines.core.errors import UserError
from pipelines.ingest.catalogue import Table, all_tables
from pipelines.ingest.schema_check import NEW_MIGRATION_COMMAND, differences, warehouse_schema
from warehouse.migrate import MANIFEST_NAME, apply_migrations, migration_files

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "warehouse" / "migrations"
HAND_WRITTEN = ("price_observations", "olist_orders", "olist_order_items")
LINEAGE_DDL = [
    ("_business_date", "DATE      NOT NULL"),
    ("_file_name", "VARCHAR   NOT NULL"),
    ("_sha256", "VARCHAR   NOT NULL"),
    ("_row", "BIGINT    NOT NULL"),
]

# HEADER opens warehouse/migrations/002_sources.sql, frozen (never edited): its "CONTRACT §3"
# (docs/CONTRACT.md §3) and test file name (now tests/ingest/test_metadata_privacy.py) stay as written.
HEADER = """-- Staging and raw tables of the sources (CONTRACT §3), generated from pipelines/ingest/sources/*.yml by
-- pipelines.ingest.ddl.render_migration(); tests/ingest/test_metadata.py keeps the two equal.
-- Every row carries where it came from: _business_date (the landing folder's date), _file_name,
-- _sha256 and _row (1-based data row, header excluded).
-- raw.<table>: every structurally sound row as text, as it arrived (free text unmasked: never
-- published), extra columns as JSON in _extra. staging.<table>: typed, validated, normalised, PII-masked.
-- Tables with history (penalties, lists, registry) keep every version; <table>_current shows the latest.
"""


def _col(name: str, typ: str, not_null: bool) -> str:
    return f"    {name:<32} {typ}{' NOT NULL' if not_null else ''}"


def _hand_written() -> str:
    return HAND_SQL.strip()


def _staging_create(t: Table) -> str:
    nn = {c.name for c in t.columns if not c.nullable}
    lines = [_col(n, typ, n in nn) for n, typ in t.staging_columns()]
    lines += [f"    {n:<32} {typ}" for n, typ in LINEAGE_DDL]
    return f"CREATE TABLE IF NOT EXISTS staging.{t.table} (\n" + ",\n".join(lines) + "\n);\n"


def _raw_create(t: Table) -> str:
    lines = [f"    {c.name:<32} VARCHAR" for c in t.columns] + [f"    {'_extra':<32} VARCHAR"]
    lines += [f"    {n:<32} {typ}" for n, typ in LINEAGE_DDL]
    return f"CREATE TABLE IF NOT EXISTS raw.{t.table} (\n" + ",\n".join(lines) + "\n);\n"


def _current_view(t: Table) -> str:
    key = ", ".join(t.key)
    order = ", ".join(f"{c} DESC NULLS LAST" if not c.startswith("_") else f"{c} DESC" for c in t.current_order)
    return (
        f"CREATE OR REPLACE VIEW staging.{t.table}_current AS\n"  # noqa: S608 - DDL from pipelines/ingest/sources/*.yml metadata (validated names), no values
        f"SELECT * EXCLUDE (_version) FROM (\n"
        f"    SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY {order}) AS _version\n"
        f"    FROM staging.{t.table}\n) WHERE _version = 1;\n"
    )


def render_migration() -> str:
    """The whole raw/staging schema of the ymls as one script: what 002_sources.sql was rendered from
    (frozen since; later columns come from `render_new_migration`)."""
    parts = [HEADER, _hand_written(), ""]
    for t in all_tables():
        if t.table not in HAND_WRITTEN:
            parts.append(_staging_create(t))
    for t in all_tables():
        parts.append(_raw_create(t))
    for t in all_tables():
        if t.history:
            parts.append(_current_view(t))
    parts.append(
        "-- The canonical merchant dimension: every platform shop with its legal entity (latest registry row).\n"
        "CREATE OR REPLACE VIEW staging.dim_merchant AS\n"
        "SELECT platform, shop_id, shop_name, uscc, uscc_valid, company_name, region_code, established_date,\n"
        "       _business_date AS registered_as_of\n"
        "FROM staging.registry_current;\n"
    )
    return "\n".join(parts)


HAND_SQL = """
CREATE TABLE IF NOT EXISTS staging.price_observations (
    observation_id   VARCHAR   NOT NULL,
    observed_at      TIMESTAMP NOT NULL,   -- local time, Asia/Shanghai
    observed_date    DATE      NOT NULL,
    platform         VARCHAR   NOT NULL,
    shop_id          VARCHAR   NOT NULL,
    sku_id           VARCHAR   NOT NULL,
    variant          VARCHAR,
    product_name     VARCHAR,
    category         VARCHAR,
    region_code      VARCHAR,
    price_type       VARCHAR   NOT NULL,   -- list | promo | checkout
    price            DECIMAL(18, 2) NOT NULL,
    currency         VARCHAR,
    reference_price  DECIMAL(18, 2),       -- strike-through 原价 shown next to a promotion
    promo_start      DATE,
    basis_disclosed  BOOLEAN,
    account_cohort   VARCHAR,              -- new | existing | vip | control | NULL
    device           VARCHAR,
    condition        VARCHAR,
    url              VARCHAR,
    _business_date   DATE      NOT NULL,
    _file_name       VARCHAR   NOT NULL,
    _sha256          VARCHAR   NOT NULL,
    _row             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_orders (
    order_id                        VARCHAR   NOT NULL,
    customer_id                     VARCHAR,
    order_status                    VARCHAR,
    order_purchase_timestamp        TIMESTAMP,
    order_approved_at               TIMESTAMP,
    order_delivered_carrier_date    TIMESTAMP,
    order_delivered_customer_date   TIMESTAMP,
    order_estimated_delivery_date   TIMESTAMP,
    _business_date   DATE      NOT NULL,
    _file_name       VARCHAR   NOT NULL,
    _sha256          VARCHAR   NOT NULL,
    _row             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_order_items (
    order_id             VARCHAR   NOT NULL,
    order_item_id        INTEGER   NOT NULL,
    product_id           VARCHAR   NOT NULL,   -- = sku_id
    seller_id            VARCHAR   NOT NULL,   -- = shop_id
    shipping_limit_date  TIMESTAMP,
    price                DECIMAL(18, 2) NOT NULL,
    freight_value        DECIMAL(18, 2),
    _business_date   DATE      NOT NULL,
    _file_name       VARCHAR   NOT NULL,
    _sha256          VARCHAR   NOT NULL,
    _row             BIGINT    NOT NULL
);
"""



# --------------------------------------------------------------------------- new migrations

def migrations_schema(folder: Path | None = None) -> dict[str, dict[str, str]]:
    """The staging schema that the migrations (shipped, or in `folder`) build on an empty warehouse."""
    con = duckdb.connect(":memory:")
    try:
        apply_migrations(con, check=False, folder=folder)
        return warehouse_schema(con)
    finally:
        con.close()


def render_new_migration(tables: list[Table] | None = None, folder: Path | None = None) -> str | None:
    """The SQL of the migration that brings the migrations' schema to the ymls' (None: nothing to do).
    Only additions are generated; a type change or a removed column raises UserError (hand-written)."""
    tables = tables if tables is not None else all_tables()
    found = differences(migrations_schema(folder), tables)
    if not found:
        return None
    manual = [d for d in found if d.kind in ("type", "extra_column")]
    if manual:
        raise UserError("these differences need a hand-written migration (docs/DEPLOYMENT.md, \"Schema "
                        "upgrades\"): " + "; ".join(d.describe() for d in manual))
    by_name = {t.table: t for t in tables}
    parts = ["-- Generated by `" + NEW_MIGRATION_COMMAND + "` from pipelines/ingest/sources/*.yml.",
             "-- Applied once at connect; never edit it after release (warehouse/migrations/MANIFEST.sha256).",
             "-- New columns are nullable whatever the yml says: rows loaded before have none (the gate checks",
             "-- required columns on each day's batch).", ""]
    new_tables = {d.table for d in found if d.kind == "missing_table"}
    for d in found:
        _schema, table = d.table.split(".")
        t = by_name[table]
        if d.kind == "missing_table":
            parts.append(_staging_create(t))
            if t.history:
                parts.append(_current_view(t))
        elif d.table not in new_tables:
            parts.append(f"ALTER TABLE {d.table} ADD COLUMN IF NOT EXISTS {d.column} {d.expected};")
    return "\n".join(parts).rstrip("\n") + "\n"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(folder: Path = MIGRATIONS_DIR) -> dict[str, str]:
    """{file name: sha256} pinned for every released migration."""
    path = folder / MANIFEST_NAME
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            out[name.strip()] = digest
    return out


def write_new_migration(name: str = "sources", tables: list[Table] | None = None,
                        folder: Path = MIGRATIONS_DIR) -> Path | None:
    """Write NNN_<name>.sql (next number) and pin it in the manifest; None when the schema is current."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise UserError(f"migration name {name!r}: use lower-case letters, digits and _")
    sql = render_new_migration(tables, folder)
    if sql is None:
        return None
    number = max((v for v, _, _ in migration_files(folder)), default=0) + 1
    path = folder / f"{number:03d}_{name}.sql"
    path.write_text(sql, encoding="utf-8")
    with (folder / MANIFEST_NAME).open("a", encoding="utf-8") as manifest:
        manifest.write(f"{_sha256(sql)}  {path.name}\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.ingest.ddl", description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--new-migration", action="store_true",
                        help="write warehouse/migrations/NNN_<name>.sql for what the ymls add")
    action.add_argument("--check", action="store_true", help="exit 1 when the ymls need a new migration")
    parser.add_argument("--name", default="sources", help="file name after the number (default: sources)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            sql = render_new_migration()
            if sql is None:
                print("the migrations build exactly the schema of the source ymls")
                return 0
            print(f"the source ymls need a new migration (run `{NEW_MIGRATION_COMMAND}`):\n{sql}")
            return 1
        path = write_new_migration(args.name)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print("the migrations build exactly the schema of the source ymls: nothing to write" if path is None
          else f"wrote {path} (pinned in {MANIFEST_NAME}); review it, then commit both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
