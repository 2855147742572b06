"""Given-rows builders for the integrity indicators (orders, buyers, reviews) on an in-memory warehouse."""

from __future__ import annotations

import itertools
import json

from indicators.compute import run_indicator
from indicators.registry import load_catalogue

_seq = itertools.count(1)


def indicator(indicator_id):
    return next(i for i in load_catalogue() if i.id == indicator_id)


def result(con, ind, run_date, overrides=None):
    run_indicator(con, ind, run_date, overrides or {})
    cur = con.execute(f'SELECT * FROM work."{ind.work_table}" ORDER BY entity_id')
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    for row in rows:
        row["evidence"] = json.loads(row["evidence"])
    return rows


def by_shop(rows):
    return {r["shop_id"]: r for r in rows}


def merchant(con, shop_id, uscc="91210100MA0TEST00X", platform="tmall", region_code="210100"):
    con.execute(
        "INSERT INTO staging.registry (platform, shop_id, shop_name, uscc, uscc_valid, region_code, _business_date,"
        " _file_name, _sha256, _row) VALUES (?, ?, ?, ?, true, ?, DATE '2026-01-01', 'given.csv', 'sha', ?)",
        [platform, shop_id, shop_id, uscc, region_code, next(_seq)],
    )


def product(con, product_id, category):
    con.execute(
        "INSERT INTO staging.olist_products (product_id, product_category_name, _business_date, _file_name, _sha256,"
        " _row) VALUES (?, ?, DATE '2026-01-01', 'given.csv', 'sha', ?)",
        [product_id, category, next(_seq)],
    )


def order(con, shop_id, purchased_at, buyer, order_id=None, customer_id=None, delivered_at=None,
          estimated_at=None, status="delivered", items=1, product_id="P1", extra_shops=()):
    """One order of `buyer` (customer_unique_id) at `shop_id`; a fresh customer_id per order as in Olist."""
    oid = order_id or f"o{next(_seq):06d}"
    cid = customer_id or f"c{next(_seq):06d}"
    day = purchased_at[:10]
    con.execute(
        "INSERT INTO staging.olist_orders (order_id, customer_id, order_status, order_purchase_timestamp,"
        " order_delivered_customer_date, order_estimated_delivery_date, _business_date, _file_name, _sha256, _row)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'given.csv', 'sha', ?)",
        [oid, cid, status, purchased_at, delivered_at, estimated_at, day, next(_seq)],
    )
    for n, shop in enumerate([shop_id] * items + list(extra_shops), start=1):
        con.execute(
            "INSERT INTO staging.olist_order_items (order_id, order_item_id, product_id, seller_id, price,"
            " _business_date, _file_name, _sha256, _row) VALUES (?, ?, ?, ?, 10, ?, 'given.csv', 'sha', ?)",
            [oid, n, product_id, shop, day, next(_seq)],
        )
    con.execute(
        "INSERT INTO staging.olist_customers (customer_id, customer_unique_id, _business_date, _file_name, _sha256,"
        " _row) VALUES (?, ?, ?, 'given.csv', 'sha', ?)",
        [cid, buyer, day, next(_seq)],
    )
    return oid


def review(con, order_id, score, answered_at, created_at=None, review_id=None):
    rid = review_id or f"r{next(_seq):06d}"
    con.execute(
        "INSERT INTO staging.olist_order_reviews (review_id, order_id, review_score, review_creation_date,"
        " review_answer_timestamp, _business_date, _file_name, _sha256, _row)"
        " VALUES (?, ?, ?, ?, ?, ?, 'given.csv', 'sha', ?)",
        [rid, order_id, score, created_at or answered_at[:10] + " 00:00:00", answered_at, answered_at[:10], next(_seq)],
    )
    return rid
