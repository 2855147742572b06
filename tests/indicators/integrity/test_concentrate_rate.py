"""Given/expect tests of integrity.concentrate_rate (order brushing, Shopee rule), incl. the window edges."""

from __future__ import annotations

from datetime import date

import pytest

from tests.indicators.integrity.given import by_shop, indicator, merchant, order, result

RUN = date(2026, 11, 10)


@pytest.fixture
def ind():
    return indicator("integrity.concentrate_rate")


def test_three_orders_of_one_buyer_in_an_hour_are_brushing(mem_warehouse, ind):
    con = mem_warehouse
    merchant(con, "S1")
    ids = [order(con, "S1", f"2026-11-10 14:{m:02d}:00", "u1") for m in (0, 20, 40)]
    order(con, "S1", "2026-11-10 18:00:00", "u2")
    [row] = result(con, ind, RUN)
    assert row["flagged"] and row["value"] == 3.0
    assert row["concentrate_window_orders"] == 3 and row["concentrate_window_buyers"] == 1
    assert row["orders_on_day"] == 4
    assert row["uscc"] == "91210100MA0TEST00X" and row["platform"] == "tmall"
    assert row["window_start"] == RUN and row["window_end"] == RUN
    ev = row["evidence"]
    assert sorted(ev["order_ids"]) == sorted(ids)
    assert ev["suspicious_buyers"] == [{"buyer_id": "u1", "orders": 3}]


def test_customer_id_is_per_order_the_buyer_is_the_person(mem_warehouse, ind):
    """Olist gives every order a new customer_id: counting customer_id would never see a repeat buyer."""
    con = mem_warehouse
    for m in (0, 10, 20):
        order(con, "S1", f"2026-11-10 09:{m:02d}:00", "same_person")
    [row] = result(con, ind, RUN)
    assert row["concentrate_window_buyers"] == 1 and row["flagged"]


def test_exactly_one_hour_apart_is_outside_the_window(mem_warehouse, ind):
    con = mem_warehouse
    order(con, "S1", "2026-11-10 10:00:00", "u1")
    order(con, "S1", "2026-11-10 10:30:00", "u1")
    order(con, "S1", "2026-11-10 11:00:00", "u1")  # t0 + 60 min: outside [t0, t0 + 1h)
    [row] = result(con, ind, RUN)
    assert row["concentrate_window_orders"] == 2 and not row["flagged"]
    order(con, "S1", "2026-11-10 10:59:59", "u1")  # one second inside: 3 orders within the hour of 10:00
    [row] = result(con, ind, RUN)
    assert row["flagged"] and row["value"] >= 3


def test_window_ending_at_an_order_is_found(mem_warehouse, ind):
    """Only the window that ENDS at the last order of u1 holds the ratio: every window starting at an order
    (10:00 -> u1 x3 + u2 + u3 = 5/3; 10:20 -> 4/3; ...) also takes the later orders of other buyers."""
    con = mem_warehouse
    for t in ("10:00:00", "10:20:00", "10:40:00"):
        order(con, "S1", f"2026-11-10 {t}", "u1")
    order(con, "S1", "2026-11-10 10:50:00", "u2")
    order(con, "S1", "2026-11-10 10:55:00", "u3")
    [row] = result(con, ind, RUN)
    assert row["value"] == 3.0 and row["flagged"]
    ev = row["evidence"]
    assert ev["anchor_side"] == "end"
    assert ev["first_order_at"] == "2026-11-10 10:00:00" and ev["last_order_at"] == "2026-11-10 10:40:00"
    assert ev["suspicious_buyers"] == [{"buyer_id": "u1", "orders": 3}]


def test_orders_in_the_same_second_do_not_double_count(mem_warehouse, ind):
    """Windows grouped by (shop, ts) instead of by anchor order double counted such orders (clean data read 2.67)."""
    con = mem_warehouse
    for b in ("u1", "u2", "u3", "u4"):
        order(con, "S1", "2026-11-10 12:00:00", b)
    order(con, "S1", "2026-11-10 12:00:00", "u1")
    order(con, "S1", "2026-11-10 12:30:00", "u2")
    [row] = result(con, ind, RUN)
    assert row["concentrate_window_orders"] == 6 and row["concentrate_window_buyers"] == 4
    assert row["value"] == pytest.approx(1.5) and not row["flagged"]


def test_several_items_of_one_order_count_once(mem_warehouse, ind):
    con = mem_warehouse
    order(con, "S1", "2026-11-10 12:00:00", "u1", items=3)
    order(con, "S1", "2026-11-10 12:10:00", "u1", items=2)
    [row] = result(con, ind, RUN)
    assert row["concentrate_window_orders"] == 2 and not row["flagged"]


def test_window_crossing_midnight_counts_on_the_run_date(mem_warehouse, ind):
    con = mem_warehouse
    order(con, "S1", "2026-11-09 23:40:00", "u1")
    order(con, "S1", "2026-11-09 23:55:00", "u1")
    order(con, "S1", "2026-11-10 00:20:00", "u1")
    [row] = result(con, ind, RUN)
    assert row["flagged"] and row["window_start"] == date(2026, 11, 9) and row["window_end"] == RUN
    # the day before sees only its own two orders
    [prev] = result(con, ind, date(2026, 11, 9))
    assert not prev["flagged"] and prev["concentrate_window_orders"] == 2


def test_shops_are_separate_and_old_windows_are_not_judged_again(mem_warehouse, ind):
    con = mem_warehouse
    for m in (0, 5, 10):
        order(con, "S1", f"2026-11-08 09:{m:02d}:00", "u1")     # brushing two days before
        order(con, "S2", f"2026-11-10 09:{m:02d}:00", f"b{m}")  # three different buyers
    order(con, "S1", "2026-11-10 09:00:00", "u1")
    order(con, "S3", "2026-11-10 09:00:00", "u1")
    rows = by_shop(result(con, ind, RUN))
    assert set(rows) == {"S1", "S2", "S3"}
    assert not any(r["flagged"] for r in rows.values())


def test_later_orders_do_not_change_an_earlier_date(mem_warehouse, ind):
    con = mem_warehouse
    order(con, "S1", "2026-11-10 23:30:00", "u1")
    order(con, "S1", "2026-11-10 23:40:00", "u1")
    before = result(con, ind, RUN)
    order(con, "S1", "2026-11-11 00:05:00", "u1")
    assert result(con, ind, RUN) == before
    [next_day] = result(con, ind, date(2026, 11, 11))
    assert next_day["flagged"]


def test_threshold_override(mem_warehouse, ind):
    con = mem_warehouse
    for m in (0, 10, 20):
        order(con, "S1", f"2026-11-10 09:{m:02d}:00", "u1")
    [row] = result(con, ind, RUN, overrides={"integrity.concentrate_rate": {"concentrate_threshold": 4}})
    assert not row["flagged"]
