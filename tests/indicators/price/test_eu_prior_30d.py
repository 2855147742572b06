"""Given/expect tests of price.eu_prior_30d (Directive 98/6/EC Art. 6a, 30-day lowest offered price)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.indicators.given import merchant, observation
from tests.indicators.price._run import days, indicator, rows

RUN = date(2026, 11, 10)
T0 = "2026-11-10"


@pytest.fixture
def ind():
    return indicator("price.eu_prior_30d")


def test_lowest_offered_price_in_30_days_is_the_prior_price(mem_warehouse, ind):
    con = mem_warehouse
    merchant(con, "S1")
    for d in days(date(2026, 10, 11), 30):  # [t0-30, t0)
        observation(con, d.isoformat(), "S1", "K1", 100, price_type="list")
    low = observation(con, "2026-10-20", "S1", "K1", 80, price_type="promo", reference_price=100, promo_start="2026-10-20")
    observation(con, T0, "S1", "K1", 85, reference_price=100, promo_start=T0, basis_disclosed=True)
    [row] = rows(con, ind, RUN)
    assert row["prior_price_30d"] == 80 and row["prior_price_source"] == "in_window"
    assert row["announced_reduction"] == pytest.approx(0.15)
    assert row["true_reduction_eu"] == pytest.approx(1 - 85 / 80, abs=1e-4)
    assert row["flagged"] and row["severity"] == "high"  # 85 >= 80: no reduction at all
    ev = json.loads(row["evidence"])
    assert ev["prior_price_observation_id"] == low and ev["prior_window"] == ["2026-10-11", "2026-11-09"]
    assert row["uscc"] == "91210100MA0TEST00X"


def test_price_set_before_the_window_is_carried_forward(mem_warehouse, ind):
    """Sylius/PriceHistoryPlugin#53: the price in force when the window opens counts."""
    con = mem_warehouse
    observation(con, "2026-09-30", "S1", "K1", 70, price_type="list")  # set before t0-30, still in force
    observation(con, "2026-10-25", "S1", "K1", 100, price_type="list")
    observation(con, T0, "S1", "K1", 90, reference_price=100, promo_start=T0)
    [row] = rows(con, ind, RUN)
    assert row["prior_price_30d"] == 70 and row["prior_price_source"] == "carried_forward"
    assert row["flagged"]


def test_carried_price_replaced_on_the_window_first_day_does_not_count(mem_warehouse, ind):
    con = mem_warehouse
    observation(con, "2026-09-30", "S1", "K1", 70, price_type="list")
    observation(con, "2026-10-11", "S1", "K1", 100, price_type="list")  # window's first day
    observation(con, T0, "S1", "K1", 90, reference_price=100, promo_start=T0)
    [row] = rows(con, ind, RUN)
    assert row["prior_price_30d"] == 100 and not row["flagged"]  # honest 10 % off


def test_window_ends_strictly_before_the_promotion(mem_warehouse, ind):
    """wc-price-history#193 / iworks/omnibus#12: the sale price itself is never the prior price."""
    con = mem_warehouse
    observation(con, "2026-11-09", "S1", "K1", 100, price_type="list")
    observation(con, T0, "S1", "K1", 60, price_type="list", at="08:00:00")  # same day as t0: outside
    observation(con, T0, "S1", "K1", 80, reference_price=100, promo_start=T0)
    [row] = rows(con, ind, RUN)
    assert row["prior_price_30d"] == 100 and not row["flagged"]


def test_no_prior_offer_is_not_flagged_and_tolerance_is_configurable(mem_warehouse, ind):
    con = mem_warehouse
    observation(con, T0, "S1", "K1", 80, reference_price=100, promo_start=T0)
    observation(con, "2026-11-01", "S2", "K1", 100.3, price_type="list")
    observation(con, T0, "S2", "K1", 80, reference_price=101, promo_start=T0)
    r1, r2 = rows(con, ind, RUN)
    assert r1["eu_check_status"] == "no_prior_price" and not r1["flagged"]
    assert r2["overstatement_eu"] == pytest.approx((1 - 80 / 101) - (1 - 80 / 100.3), abs=1e-4)
    assert r2["flagged"]  # 0.55 pp > 0.5 pp
    _, r2 = rows(con, ind, RUN, {"price.eu_prior_30d": {"tolerance_pp": 0.01}})
    assert not r2["flagged"]


def test_scraping_errors_never_set_the_prior_price(mem_warehouse, ind):
    con = mem_warehouse
    observation(con, "2026-11-01", "S1", "K1", 100, price_type="list")
    observation(con, "2026-11-02", "S1", "K1", 40, price_type="list", condition="used")
    observation(con, "2026-11-03", "S1", "K1", 14, price_type="list", currency="USD")
    observation(con, T0, "S1", "K1", 90, reference_price=100, promo_start=T0)
    [row] = rows(con, ind, RUN)
    assert row["prior_price_30d"] == 100 and not row["flagged"]


def test_later_data_does_not_change_an_earlier_date(mem_warehouse, ind):
    con = mem_warehouse
    observation(con, "2026-11-01", "S1", "K1", 100, price_type="list")
    observation(con, T0, "S1", "K1", 80, reference_price=100, promo_start=T0)
    before = rows(con, ind, RUN)
    observation(con, "2026-11-11", "S1", "K1", 10, price_type="list")
    assert rows(con, ind, RUN) == before
    assert not rows(con, ind, date(2026, 11, 11))  # no promotion observed on the 11th
