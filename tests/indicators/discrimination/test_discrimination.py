"""Given/expect tests of discrimination.paired_probe and discrimination.loyalty_premium."""

from __future__ import annotations

import json
from datetime import date

from tests.indicators.given import merchant, observation
from tests.indicators.price._run import indicator, rows

RUN = date(2026, 11, 10)
ROUNDS = ("10:00", "15:00", "21:00")


def _round(con, shop, sku, at, prices, platform="tmall"):
    """One probe round: cohort -> price, observed within a minute."""
    for k, (cohort, price) in enumerate(prices):
        observation(con, "2026-11-10", shop, sku, price, price_type="checkout", cohort=cohort,
                    at=f"{at}:{10 * k:02d}", platform=platform)


def _noise(con, n=30):
    """Control-vs-control noise of the platform: up to 0.4 %."""
    for j in range(n):
        _round(con, f"N{j}", "KN", "12:00", [("control", 100.0), ("control", 100.0 + (j % 5) * 0.1),
                                            ("new", 100.0), ("existing", 100.0)])


def test_cohort_charged_more_beyond_control_noise_in_two_rounds(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    merchant(con, "S1")
    _noise(con)
    for at in ROUNDS:
        _round(con, "S1", "K1", at, [("new", 100), ("existing", 112), ("vip", 112), ("control", 100), ("control", 100)])
    out = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    s1 = out["S1"]
    assert s1["flagged"] and s1["value"] == 0.12 and s1["uscc"] == "91210100MA0TEST00X"
    ev = json.loads(s1["evidence"])
    assert ev["cohorts_charged_more"] == ["existing", "vip"]
    assert ev["noise_gap_quantile"] < 0.01 and ev["control_pairs"] >= 30
    assert not any(r["flagged"] for s, r in out.items() if s != "S1")


def test_gap_in_one_round_or_within_noise_or_cheaper_is_not_flagged(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    _noise(con)
    _round(con, "S1", "K1", "10:00", [("existing", 112), ("control", 100), ("control", 100)])   # one round only
    _round(con, "S1", "K1", "15:00", [("existing", 100), ("control", 100), ("control", 100)])
    _round(con, "S1", "K1", "21:00", [("existing", 100), ("control", 100), ("control", 100)])
    for at in ROUNDS:
        _round(con, "S2", "K1", at, [("vip", 100.3), ("control", 100), ("control", 100)])       # within noise
        _round(con, "S3", "K1", at, [("new", 80), ("control", 100), ("control", 100)])          # new-user offer
    out = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    assert not out["S1"]["flagged"] and not out["S2"]["flagged"] and not out["S3"]["flagged"]


def test_probes_hours_apart_are_not_one_round(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    _noise(con)
    for at in ("10:00", "15:00", "21:00"):
        observation(con, "2026-11-10", "S1", "K1", 100, price_type="checkout", cohort="control", at=f"{at}:00")
    for at in ("11:00", "16:00", "22:00"):   # the cohort's probes are an hour later: no control in their round
        observation(con, "2026-11-10", "S1", "K1", 120, price_type="checkout", cohort="vip", at=f"{at}:00")
    assert not any(r["flagged"] for r in rows(con, ind, RUN))


# ---------------------------------------------------------------- loyalty premium
def _order(con, oid, ts, shop, sku, price, person, status="delivered", payment="alipay"):
    day = ts[:10]
    con.execute("INSERT INTO staging.olist_orders (order_id, customer_id, order_status, order_purchase_timestamp,"
                " _business_date, _file_name, _sha256, _row) VALUES (?, ?, ?, ?, ?, 'g', 's', 1)",
                [oid, "c" + oid, status, ts, day])
    con.execute("INSERT INTO staging.olist_order_items (order_id, order_item_id, product_id, seller_id, price,"
                " _business_date, _file_name, _sha256, _row) VALUES (?, 1, ?, ?, ?, ?, 'g', 's', 1)",
                [oid, sku, shop, price, day])
    con.execute("INSERT INTO staging.olist_customers (customer_id, customer_unique_id, _business_date, _file_name,"
                " _sha256, _row) VALUES (?, ?, ?, 'g', 's', 1)", ["c" + oid, person, day])
    con.execute("INSERT INTO staging.olist_order_payments (order_id, payment_sequential, payment_type,"
                " payment_value, _business_date, _file_name, _sha256, _row) VALUES (?, 1, ?, ?, ?, 'g', 's', 1)",
                [oid, payment, price, day])


def _shop_day(con, shop, n_repeat, n_first, repeat_price, first_price=100.0):
    for k in range(n_repeat):
        person = f"{shop}-loyal{k}"
        _order(con, f"{shop}-old{k}", "2026-10-01 10:00:00", shop, "K0", 50, person)   # earlier order, other SKU
        _order(con, f"{shop}-r{k}", "2026-11-10 12:00:00", shop, "K1", repeat_price, person)
    for k in range(n_first):
        _order(con, f"{shop}-f{k}", "2026-11-10 12:00:00", shop, "K1", first_price, f"{shop}-new{k}")


def test_repeat_buyers_paying_more_is_flagged(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.loyalty_premium")
    merchant(con, "S1")
    _shop_day(con, "S1", 30, 30, 112)
    row = next(r for r in rows(con, ind, RUN) if r["shop_id"] == "S1" and r["sku_id"] == "K1")
    assert row["repeat_orders"] == 30 and row["first_orders"] == 30
    assert row["value"] == 1.12 and row["flagged"] and row["severity"] == "high"
    ev = json.loads(row["evidence"])
    assert ev["repeat_order_ids_sample"][0].startswith("S1-r") and ev["first_order_ids_sample"][0].startswith("S1-f")


def test_small_groups_vouchers_and_cancellations(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.loyalty_premium")
    _shop_day(con, "S2", 29, 40, 112)                      # 29 repeat orders < 30
    _shop_day(con, "S3", 30, 30, 100)                      # same price: LP 1
    _shop_day(con, "S4", 30, 30, 112)
    # S4's first-time buyers paid with vouchers (new-user coupons) and some repeat orders were cancelled
    con.execute("UPDATE staging.olist_order_payments SET payment_type = 'voucher' WHERE order_id LIKE 'S4-f1%'")
    con.execute("UPDATE staging.olist_orders SET order_status = 'canceled' WHERE order_id LIKE 'S4-r2%'")
    out = {r["shop_id"]: r for r in rows(con, ind, RUN) if r["sku_id"] == "K1"}
    assert not out["S2"]["flagged"] and not out["S3"]["flagged"]
    assert out["S4"]["first_orders"] < 30 and out["S4"]["repeat_orders"] < 30 and not out["S4"]["flagged"]


def test_customer_id_is_not_the_person(mem_warehouse):
    """Olist: customer_id is per order; two orders of one person have two customer_ids."""
    con, ind = mem_warehouse, indicator("discrimination.loyalty_premium")
    _shop_day(con, "S1", 30, 30, 112)
    [row] = [r for r in rows(con, ind, RUN) if r["sku_id"] == "K1"]
    assert row["repeat_orders"] == 30   # recognised although every order has its own customer_id
