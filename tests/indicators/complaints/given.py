"""Given-rows builders for the complaint indicator tests (in-memory warehouse)."""

from __future__ import annotations

import itertools

_seq = itertools.count(1)


def shop(con, shop_id, platform="tmall", uscc=None, region_code="210100", loaded="2026-10-01"):
    """A merchant-register row (staging.registry, which staging.dim_merchant reads)."""
    uscc = uscc or f"91210100MA{shop_id[-6:]:0>6}0X"[:18]
    con.execute(
        "INSERT INTO staging.registry (platform, shop_id, shop_name, uscc, uscc_valid, company_name, region_code,"
        " _business_date, _file_name, _sha256, _row) VALUES (?, ?, ?, ?, true, ?, ?, ?, 'given.csv', 'sha', ?)",
        [platform, shop_id, shop_id + "店", uscc, shop_id + "有限公司", region_code, loaded, next(_seq)],
    )
    return uscc


def orders(con, shop_id, day, n, loaded=None, status="delivered"):
    """n orders purchased from the shop on `day` (one item each), bulk-inserted in SQL."""
    if n <= 0:
        return
    tag = f"o{next(_seq)}_"
    loaded = loaded or day
    con.execute(
        "INSERT INTO staging.olist_orders (order_id, customer_id, order_status, order_purchase_timestamp,"
        " _business_date, _file_name, _sha256, _row) SELECT $tag || i, 'c' || i, $status,"
        " $day::TIMESTAMP + INTERVAL 10 HOUR, $loaded, 'given.csv', 'sha', i FROM range($n) t(i)",
        {"tag": tag, "status": status, "day": day, "loaded": loaded, "n": n},
    )
    con.execute(
        "INSERT INTO staging.olist_order_items (order_id, order_item_id, product_id, seller_id, price,"
        " _business_date, _file_name, _sha256, _row) SELECT $tag || i, 1, 'K1', $shop, 10, $loaded,"
        " 'given.csv', 'sha', i FROM range($n) t(i)",
        {"tag": tag, "shop": shop_id, "loaded": loaded, "n": n},
    )


def complaint(con, day, shop_id=None, uscc=None, timely=True, status="已办结", closed=None, result="调解成功",
              category="质量", region_code="210100", loaded=None, complaint_no=None, recovered=0):
    no = complaint_no or f"TS{next(_seq):08d}"
    con.execute(
        "INSERT INTO staging.complaints_12315 (complaint_no, registered_date, respondent_name, respondent_uscc,"
        " respondent_uscc_valid, platform_name, shop_id, region_code, complaint_category, complaint_text,"
        " handling_status, closed_date, responded_on_time, mediation_result, economic_loss_recovered_yuan,"
        " _business_date, _file_name, _sha256, _row)"
        " VALUES (?, ?, '某公司', ?, true, '天猫', ?, ?, ?, '[手机号]', ?, ?, ?, ?, ?, ?, 'given.csv', 'sha', ?)",
        [no, day, uscc, shop_id, region_code, category, status, closed if closed is not None else day,
         timely, result, recovered, loaded or day, next(_seq)],
    )
    return no


def complaints(con, day, shop_id, n, **kw):
    return [complaint(con, day, shop_id, **kw) for _ in range(n)]


def cfpb(con, day, company, response="Closed with explanation", timely=True, issue="Incorrect information",
         complaint_id=None, loaded=None):
    cid = complaint_id or str(next(_seq))
    con.execute(
        "INSERT INTO staging.cfpb_complaints (date_received, product, issue, company, company_response, timely,"
        " complaint_id, _business_date, _file_name, _sha256, _row)"
        " VALUES (?, 'Credit reporting', ?, ?, ?, ?, ?, ?, 'given.csv', 'sha', ?)",
        [day, issue, company, response, timely, cid, loaded or day, next(_seq)],
    )
    return cid
