"""Given/expect tests of price.cn_reference_7d (《规范促销行为暂行规定》 7-day lowest transaction price)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from indicators.compute import run_indicator
from indicators.registry import load_catalogue
from tests.indicators.given import merchant, observation, trade

RUN = date(2026, 11, 10)
PROMO_START = "2026-11-10"


@pytest.fixture
def indicator():
    return next(i for i in load_catalogue() if i.id == "price.cn_reference_7d")


def result(con, indicator, run_date=RUN, overrides=None):
    run_indicator(con, indicator, run_date, overrides or {})
    cur = con.execute(f'SELECT * FROM work."{indicator.work_table}" ORDER BY entity_id')
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def test_lowest_trade_in_7_days_is_the_basis(mem_warehouse, indicator):
    con = mem_warehouse
    merchant(con, "S1")
    trade(con, "2026-11-04 09:00:00", "S1", "K1", 100)
    trade(con, "2026-11-06 09:00:00", "S1", "K1", 80)
    observation(con, "2026-11-10", "S1", "K1", 90, reference_price=150, promo_start=PROMO_START)
    [row] = result(con, indicator)
    assert row["cn_basis_source"] == "lowest_7d"
    assert float(row["cn_basis_price"]) == 80
    assert row["tx_count_7d"] == 2
    assert row["rpi_cn"] == pytest.approx(150 / 80, abs=1e-4)
    assert row["flagged"] and row["severity"] == "high"  # promo 90 >= basis 80: no real reduction
    assert row["uscc"] == "91210100MA0TEST00X"
    evidence = json.loads(row["evidence"])
    assert evidence["basis_window"] == ["2026-11-03", "2026-11-09"]
    assert evidence["cn_basis_price"] == 80


def test_window_edges_exactly_seven_days(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-11-03 00:00:00", "S1", "K1", 50)  # t0 - 7 days exactly: inside
    trade(con, "2026-11-02 23:59:59", "S1", "K1", 10)  # one second earlier: outside
    trade(con, "2026-11-10 00:00:00", "S1", "K1", 5)  # at t0: outside (the window ends before the promotion)
    observation(con, "2026-11-10", "S1", "K1", 60, reference_price=100, promo_start=PROMO_START)
    [row] = result(con, indicator)
    assert float(row["lowest_tx_price_7d"]) == 50
    assert row["tx_count_7d"] == 1


def test_no_trade_in_7_days_falls_back_to_last_trade(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-09-01 12:00:00", "S1", "K1", 70)
    trade(con, "2026-10-01 12:00:00", "S1", "K1", 120)  # the last trade before the promotion
    observation(con, "2026-11-10", "S1", "K1", 100, reference_price=130, promo_start=PROMO_START)
    [row] = result(con, indicator)
    assert row["lowest_tx_price_7d"] is None
    assert row["cn_basis_source"] == "last_trade"
    assert float(row["cn_basis_price"]) == 120
    assert row["rpi_cn"] == pytest.approx(130 / 120, abs=1e-4)
    assert row["flagged"]  # RPI 1.083 > 1.02
    assert row["severity"] == "medium"


def test_refunds_and_cancellations_are_not_transactions(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-11-05 10:00:00", "S1", "K1", 100)
    trade(con, "2026-11-06 10:00:00", "S1", "K1", 20, status="canceled")
    trade(con, "2026-11-07 10:00:00", "S1", "K1", 30, status="unavailable")
    trade(con, "2026-11-08 10:00:00", "S1", "K1", 40, status="refunded")
    observation(con, "2026-11-10", "S1", "K1", 90, reference_price=100, promo_start=PROMO_START)
    [row] = result(con, indicator)
    assert float(row["lowest_tx_price_7d"]) == 100
    assert not row["flagged"]  # 原价 100 equals the real 7-day low: an honest promotion


def test_disclosed_basis_is_handled_separately(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-11-05 10:00:00", "S1", "K1", 50)
    observation(con, "2026-11-10", "S1", "K1", 60, reference_price=200, promo_start=PROMO_START,
                basis_disclosed=True)
    [row] = result(con, indicator)
    assert row["check_status"] == "basis_disclosed"
    assert not row["flagged"] and not row["violates"]


def test_no_trade_ever_is_not_flagged(mem_warehouse, indicator):
    con = mem_warehouse
    observation(con, "2026-11-10", "S1", "K1", 60, reference_price=200, promo_start=PROMO_START)
    [row] = result(con, indicator)
    assert row["check_status"] == "no_trade" and not row["flagged"]


def test_other_shops_trades_do_not_count(mem_warehouse, indicator):
    """同一经营场所: the same store, not platform-wide."""
    con = mem_warehouse
    trade(con, "2026-11-05 10:00:00", "S2", "K1", 10)
    trade(con, "2026-11-05 10:00:00", "S1", "K1", 100)
    observation(con, "2026-11-10", "S1", "K1", 90, reference_price=100, promo_start=PROMO_START)
    [row] = result(con, indicator)
    assert float(row["cn_basis_price"]) == 100 and not row["flagged"]


def test_discount_gap_threshold_and_override(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-11-05 10:00:00", "S1", "K1", 100)
    observation(con, "2026-11-10", "S1", "K1", 80, reference_price=103, promo_start=PROMO_START)
    [row] = result(con, indicator)
    assert row["rpi_cn"] == pytest.approx(1.03)
    assert row["flagged"]
    [row] = result(con, indicator, overrides={"price.cn_reference_7d": {"rpi_threshold": 1.05}})
    assert row["disc_gap_cn"] < 0.05 and not row["flagged"]
    with pytest.raises(KeyError):
        result(con, indicator, overrides={"price.cn_reference_7d": {"no_such_threshold": 1}})


def test_used_items_and_other_currencies_never_flag(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-11-05 10:00:00", "S1", "K1", 50)
    observation(con, "2026-11-10", "S1", "K1", 60, reference_price=200, promo_start=PROMO_START, condition="used")
    observation(con, "2026-11-10", "S1", "K1", 60, reference_price=200, promo_start=PROMO_START, currency="USD")
    assert result(con, indicator) == []


def test_a_running_promotion_is_flagged_each_day_as_the_same_lead(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-11-05 10:00:00", "S1", "K1", 50)
    observation(con, "2026-11-10", "S1", "K1", 60, reference_price=200, promo_start=PROMO_START)
    observation(con, "2026-11-11", "S1", "K1", 60, reference_price=200, promo_start=PROMO_START)
    [first] = result(con, indicator, run_date=date(2026, 11, 10))
    [second] = result(con, indicator, run_date=date(2026, 11, 11))
    assert first["flagged"] and second["flagged"]
    assert first["entity_id"] == second["entity_id"] and first["window_start"] == second["window_start"]
    assert first["first_seen_date"] == second["first_seen_date"] == date(2026, 11, 10)


def test_later_data_does_not_change_an_earlier_date(mem_warehouse, indicator):
    con = mem_warehouse
    trade(con, "2026-11-05 10:00:00", "S1", "K1", 100)
    observation(con, "2026-11-10", "S1", "K1", 90, reference_price=100, promo_start=PROMO_START)
    before = result(con, indicator)
    trade(con, "2026-11-10 12:00:00", "S1", "K1", 1)  # a trade after the promotion started
    assert result(con, indicator) == before
