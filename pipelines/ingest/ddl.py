"""The schema of raw.* and staging.* generated from the source metadata.

warehouse/migrations/002_sources.sql is this text (a test keeps them equal). The three staging tables
the indicators were first built on (price_observations, olist_orders, olist_order_items) are written
out by hand there and kept verbatim here."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.catalogue import all_tables

HAND_WRITTEN = ("price_observations", "olist_orders", "olist_order_items")
LINEAGE_DDL = [
    ("_business_date", "DATE      NOT NULL"),
    ("_file_name", "VARCHAR   NOT NULL"),
    ("_sha256", "VARCHAR   NOT NULL"),
    ("_row", "BIGINT    NOT NULL"),
]

# HEADER opens warehouse/migrations/002_sources.sql, which a test keeps equal to render_migration():
# its "CONTRACT §3" (docs/CONTRACT.md §3) and test file name (now tests/ingest/test_metadata_privacy.py)
# can only change together with that migration file.
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


def render_migration() -> str:
    parts = [HEADER, _hand_written(), ""]
    for t in all_tables():
        if t.table not in HAND_WRITTEN:
            nn = {c.name for c in t.columns if not c.nullable}
            lines = [_col(n, typ, n in nn) for n, typ in t.staging_columns()]
            lines += [f"    {n:<32} {typ}" for n, typ in LINEAGE_DDL]
            parts.append(f"CREATE TABLE IF NOT EXISTS staging.{t.table} (\n" + ",\n".join(lines) + "\n);\n")
    for t in all_tables():
        lines = [f"    {c.name:<32} VARCHAR" for c in t.columns] + [f"    {'_extra':<32} VARCHAR"]
        lines += [f"    {n:<32} {typ}" for n, typ in LINEAGE_DDL]
        parts.append(f"CREATE TABLE IF NOT EXISTS raw.{t.table} (\n" + ",\n".join(lines) + "\n);\n")
    for t in all_tables():
        if t.history:
            key = ", ".join(t.key)
            order = ", ".join(
                f"{c} DESC NULLS LAST" if not c.startswith("_") else f"{c} DESC" for c in t.current_order
            )
            parts.append(
                f"CREATE OR REPLACE VIEW staging.{t.table}_current AS\n"  # noqa: S608 - DDL from pipelines/ingest/sources/*.yml metadata (validated names), no values
                f"SELECT * EXCLUDE (_version) FROM (\n"
                f"    SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY {order}) AS _version\n"
                f"    FROM staging.{t.table}\n) WHERE _version = 1;\n"
            )
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


def write_migration(path=None):
    path = path or Path(__file__).resolve().parents[2] / "warehouse" / "migrations" / "002_sources.sql"
    path.write_text(render_migration(), encoding="utf-8")
    return path
