"""Given-rows builders for SQL unit tests on an in-memory warehouse (dbt-style given/expect)."""

from __future__ import annotations

import itertools

from indicators.compute import create_macros as _create_macros

_seq = itertools.count(1)


def macros(con):
    """The shared as-of table macros (indicators/macros.sql) on the test connection, as compute_day creates them."""
    _create_macros(con)


def staged(con, table, day, file_name="given.csv", **columns):
    """One row of staging.<table> loaded on `day` (its _business_date) from `file_name`; other columns NULL."""
    names = list(columns) + ["_business_date", "_file_name", "_sha256", "_row"]
    values = list(columns.values()) + [day, file_name, "sha", next(_seq)]
    con.execute(
        f"INSERT INTO staging.{table} BY NAME SELECT "  # noqa: S608 - test helper: table and column names from the test
        + ", ".join(f"? AS {n}" for n in names),
        values,
    )


def merchant(con, shop_id, uscc="91210100MA0TEST00X", platform="tmall", region_code="210100",
             shop_name=None, company_name=None, day="2026-01-01"):
    """A register row loaded on `day` (registry_as_of(D) is the latest row per shop loaded by D)."""
    con.execute(
        "INSERT INTO staging.registry (platform, shop_id, shop_name, uscc, uscc_valid, company_name, region_code,"
        " _business_date, _file_name, _sha256, _row) VALUES (?, ?, ?, ?, true, ?, ?, ?, 'given.csv', 'sha', ?)",
        [platform, shop_id, shop_name or shop_id, uscc, company_name or f"{shop_id}有限公司", region_code, day,
         next(_seq)],
    )


def observation(con, day, shop_id, sku_id, price, price_type="promo", reference_price=None, promo_start=None,
                basis_disclosed=False, condition="new", currency="CNY", cohort=None, at="10:00:00",
                platform="tmall", region_code="210100", observation_id=None):
    oid = observation_id or f"obs{next(_seq)}"
    con.execute(
        "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id,"
        " sku_id, region_code, price_type, price, currency, reference_price, promo_start, basis_disclosed,"
        " account_cohort, condition, _business_date, _file_name, _sha256, _row)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'given.csv', 'sha', ?)",
        [oid, f"{day} {at}", day, platform, shop_id, sku_id, region_code, price_type, price, currency,
         reference_price, promo_start, basis_disclosed, cohort, condition, day, next(_seq)],
    )
    return oid


def trade(con, purchased_at, shop_id, sku_id, price, status="delivered", customer_id="c1", order_id=None):
    oid = order_id or f"ord{next(_seq)}"
    day = purchased_at[:10]
    con.execute(
        "INSERT INTO staging.olist_orders (order_id, customer_id, order_status, order_purchase_timestamp,"
        " _business_date, _file_name, _sha256, _row) VALUES (?, ?, ?, ?, ?, 'given.csv', 'sha', ?)",
        [oid, customer_id, status, purchased_at, day, next(_seq)],
    )
    con.execute(
        "INSERT INTO staging.olist_order_items (order_id, order_item_id, product_id, seller_id, price,"
        " _business_date, _file_name, _sha256, _row) VALUES (?, 1, ?, ?, ?, ?, 'given.csv', 'sha', ?)",
        [oid, sku_id, shop_id, price, day, next(_seq)],
    )
    return oid
