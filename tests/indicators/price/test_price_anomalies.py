"""Given/expect tests of price.pre_promo_runup, price.phantom_reference, price.spike_mad and
price.sustained_below_market, including their documented pitfalls."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.indicators.given import merchant, observation, trade
from tests.indicators.price._run import days, indicator, rows

RUN = date(2026, 11, 10)


def _series(con, shop, sku, start, n, price, **kw):
    for d in days(start, n):
        observation(con, d.isoformat(), shop, sku, price, price_type="list", **kw)


# ---------------------------------------------------------------- pre-promotion run-up (先涨后降)
def test_runup_claimed_as_discount_is_flagged(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.pre_promo_runup")
    merchant(con, "S1")
    _series(con, "S1", "K1", date(2026, 9, 20), 30, 100)      # baseline [t0-60, t0-14)
    _series(con, "S1", "K1", date(2026, 10, 31), 10, 125)     # raised in the 10 days before
    observation(con, "2026-11-10", "S1", "K1", 100, reference_price=125, promo_start="2026-11-10")
    [row] = rows(con, ind, RUN)
    assert row["runup"] == pytest.approx(1.25) and row["flagged"]
    assert row["severity"] == "high"  # promo 100 >= baseline 100: no real reduction
    ev = json.loads(row["evidence"])
    assert ev["baseline_median_price"] == 100 and ev["runup_high_price"] == 125


def test_cost_increase_shared_by_the_market_is_not_a_runup(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.pre_promo_runup")
    for shop in ("S1", "S2", "S3", "S4"):
        _series(con, shop, "K1", date(2026, 9, 20), 30, 100)
        _series(con, shop, "K1", date(2026, 10, 31), 10, 125)  # the whole market reprices (cost shock)
    observation(con, "2026-11-10", "S1", "K1", 100, reference_price=125, promo_start="2026-11-10")
    [row] = rows(con, ind, RUN)
    assert row["runup"] == pytest.approx(1.25) and row["market_runup"] == pytest.approx(1.25)
    assert not row["flagged"]


def test_honest_promotion_after_a_raise_with_the_old_reference_is_not_a_runup(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.pre_promo_runup")
    _series(con, "S1", "K1", date(2026, 9, 20), 30, 100)
    _series(con, "S1", "K1", date(2026, 10, 31), 10, 125)
    observation(con, "2026-11-10", "S1", "K1", 90, reference_price=100, promo_start="2026-11-10")
    [row] = rows(con, ind, RUN)
    assert not row["flagged"]


def test_runup_needs_a_baseline(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.pre_promo_runup")
    _series(con, "S1", "K1", date(2026, 10, 24), 3, 100)      # only 3 baseline days
    _series(con, "S1", "K1", date(2026, 10, 31), 10, 125)
    observation(con, "2026-11-10", "S1", "K1", 100, reference_price=125, promo_start="2026-11-10")
    [row] = rows(con, ind, RUN)
    assert not row["flagged"]


# ---------------------------------------------------------------- phantom reference
def _phantom(con, shop, n_days, start=date(2026, 8, 13)):
    for d in days(start, n_days):
        observation(con, d.isoformat(), shop, "K1", 100, reference_price=160, promo_start="2026-08-01",
                    basis_disclosed=True)


def test_reference_shown_on_most_days_and_never_traded_is_flagged(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.phantom_reference")
    _phantom(con, "S1", 90)                      # every day of [D-89, D]
    trade(con, "2026-10-01 10:00:00", "S1", "K1", 100)
    trade(con, "2026-10-02 10:00:00", "S1", "K1", 170, status="canceled")   # not a trade
    [row] = rows(con, ind, RUN)
    assert row["days_shown"] == 90 and row["trades_at_or_above"] == 0
    assert row["flagged"] and row["severity"] == "high"


def test_reference_that_did_trade_or_short_promotion_is_not_phantom(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.phantom_reference")
    _phantom(con, "S1", 90)
    trade(con, "2026-10-01 10:00:00", "S1", "K1", 160)  # sold at the reference
    _phantom(con, "S2", 60, start=date(2026, 9, 12))    # 60 of 90 days < 80 %
    r1, r2 = rows(con, ind, RUN)
    assert r1["trades_at_or_above"] == 1 and not r1["flagged"]
    assert r2["days_shown"] == 60 and not r2["flagged"]


# ---------------------------------------------------------------- spike (modified z on MAD)
def _market(con, sku, prices, day="2026-11-10", shops=None):
    for i, p in enumerate(prices):
        observation(con, day, (shops or [f"M{i}" for i in range(len(prices))])[i], sku, p, price_type="list")


def test_spike_far_above_cross_seller_median_is_flagged(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.spike_mad")
    _series(con, "S1", "K1", date(2026, 10, 20), 21, 100)
    for i, p in enumerate([96, 98, 100, 102, 104]):
        _series(con, f"M{i}", "K1", date(2026, 10, 20), 22, p)
    observation(con, "2026-11-10", "S1", "K1", 250, price_type="list")
    by_shop = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    assert by_shop["S1"]["flagged"] and by_shop["S1"]["scale_used"] == "mad"
    assert by_shop["S1"]["modified_z"] == pytest.approx(0.6745 * (250 - 101) / 3, abs=0.01)  # median 101, MAD 3
    assert not any(r["flagged"] for s, r in by_shop.items() if s != "S1")


def test_mad_zero_uses_mean_absolute_deviation(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.spike_mad")
    _market(con, "K1", [100, 100, 100, 100, 100, 300], shops=["A", "B", "C", "D", "E", "S1"])
    by_shop = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    s1 = by_shop["S1"]
    assert s1["sku_mad"] == 0 and s1["scale_used"] == "meanad"
    assert s1["modified_z"] == pytest.approx(200 / (1.253314 * 200 / 6), abs=0.01)
    assert s1["flagged"]  # no own history: the cross-section decides
    assert by_shop["A"]["modified_z"] == 0 and not by_shop["A"]["flagged"]


def test_identical_prices_and_thin_trading_never_flag(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.spike_mad")
    _market(con, "K1", [100] * 6)
    _market(con, "K2", [100, 101, 99, 500], shops=["A", "B", "C", "S1"])  # 4 sellers < min_sellers
    out = rows(con, ind, RUN)
    assert all(r["scale_used"] == "no_dispersion" for r in out if r["sku_id"] == "K1")
    assert not any(r["flagged"] for r in out)


def test_campaign_day_is_not_a_spike(mem_warehouse):
    """双11: most sellers cut their price together; a seller that keeps its usual price is not spiking."""
    con, ind = mem_warehouse, indicator("price.spike_mad")
    for i in range(8):
        _series(con, f"M{i}", "K1", date(2026, 10, 20), 21, 100 + i)
        observation(con, "2026-11-10", f"M{i}", "K1", round((100 + i) * 0.7, 2), reference_price=100 + i,
                    promo_start="2026-11-10")
    _series(con, "S1", "K1", date(2026, 10, 20), 22, 104)   # no campaign, usual price
    by_shop = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    assert by_shop["S1"]["modified_z"] > 3.5            # far above the campaign-day median
    assert by_shop["S1"]["own_ratio"] == pytest.approx(1.0)
    assert not by_shop["S1"]["flagged"]


def test_used_and_foreign_currency_prices_are_not_scored(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.spike_mad")
    _market(con, "K1", [100, 101, 99, 100, 102])
    observation(con, "2026-11-10", "S1", "K1", 400, price_type="list", condition="refurbished")
    observation(con, "2026-11-10", "S2", "K1", 700, price_type="list", currency="USD")
    assert {r["shop_id"] for r in rows(con, ind, RUN)} == {"M0", "M1", "M2", "M3", "M4"}


# ---------------------------------------------------------------- sustained below market
def test_sustained_below_market_with_rising_share(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.sustained_below_market")
    peers = [96, 98, 99, 100, 101, 102, 103, 104, 105, 107]   # 10 peers: enough for a 10th percentile
    for s in ("S1", *(f"P{i + 1}" for i in range(len(peers)))):
        merchant(con, s)
    for d in days(date(2026, 10, 14), 28):
        observation(con, d.isoformat(), "S1", "K1", 75, price_type="list")
        for i, p in enumerate(peers):
            observation(con, d.isoformat(), f"P{i + 1}", "K1", p, price_type="list")
        recent = d >= date(2026, 10, 28)
        for k in range(4 if recent else 1):
            trade(con, f"{d} 1{k}:00:00", "S1", "K1", 75)
        trade(con, f"{d} 09:00:00", "P1", "K1", 98)
        trade(con, f"{d} 09:30:00", "P2", "K1", 100)
    by_shop = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    s1 = by_shop["S1"]
    assert s1["days_below"] == 28 and s1["below_share"] == 1.0
    assert s1["share_recent"] > s1["share_prior"] and s1["share_z"] > 3.09
    assert s1["flagged"]
    assert not any(r["flagged"] for s, r in by_shop.items() if s != "S1")


def test_below_market_with_flat_share_or_too_few_peers_is_not_flagged(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.sustained_below_market")
    peers = [96, 98, 99, 100, 101, 102, 103, 104, 105, 107]   # 10 peers: enough for a 10th percentile
    for s in ("S1", "S2", "Q1", *(f"P{i + 1}" for i in range(len(peers)))):
        merchant(con, s)
    for d in days(date(2026, 10, 14), 28):
        observation(con, d.isoformat(), "S1", "K1", 75, price_type="list")
        for i, p in enumerate(peers):
            observation(con, d.isoformat(), f"P{i + 1}", "K1", p, price_type="list")
        trade(con, f"{d} 10:00:00", "S1", "K1", 75)
        trade(con, f"{d} 09:00:00", "P1", "K1", 98)
        observation(con, d.isoformat(), "S2", "K2", 50, price_type="list")     # thin cell: one peer
        observation(con, d.isoformat(), "Q1", "K2", 100, price_type="list")
        for k in range(3 if d >= date(2026, 10, 28) else 1):
            trade(con, f"{d} 1{k}:30:00", "S2", "K2", 50)
    by_shop = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    assert by_shop["S1"]["below_share"] == 1.0 and not by_shop["S1"]["flagged"]  # share flat
    assert by_shop["S2"]["days_below"] == 0 and not by_shop["S2"]["flagged"]      # fewer than min_peers
