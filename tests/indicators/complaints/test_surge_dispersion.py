"""Issue 20 (false positives and power of complaints.surge): the day-to-day over-dispersion of complaint counts and
a market ratio that merchants surging together cannot raise.

- Complaints come in clusters: a merchant's daily count varies more than a Poisson count with its mean. The rule
  estimates the source's dispersion alpha (negative binomial, Var = m + alpha m^2) from all merchants' baseline days
  and takes the upper tail of that distribution, not the Poisson one (the wide clean provinces' false alarms were
  8 complaints against ~1.2 expected, Poisson p 5e-5, in a generator whose daily counts have alpha ~0.7).
- The market ratio leaves out every other merchant that is itself a surge against the first market ratio (p <
  market_trim_p), not only the largest riser: 20 large sellers surging on one day raised a total over the source
  1.8x and hid themselves (the power curves' high_volume misses).
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest

from tests.indicators.complaints.conftest import by_id, on_another_warehouse
from tests.indicators.complaints.given import cfpb, complaint

RUN = date(2026, 11, 20)
ALPHA = 0.00003   # surge_alpha in indicators/complaints/surge.yml


def poisson_tail(c, lam):
    return 1 - sum(math.exp(-lam) * lam ** j / math.factorial(j) for j in range(c))


def enterprise(con, day, uscc):
    return complaint(con, day, shop_id=None, uscc=uscc)


def test_clustered_complaint_days_are_not_a_surge_but_a_real_one_is(mem_warehouse, run):
    """12 merchants whose complaints come 4 at a time every fourth day (mean 1 a day, variance 3.1: alpha 2.1).
    8 on one day is ordinary for them (Poisson p 1e-5 would have flagged it); 40 is a surge."""
    con = mem_warehouse
    names = [f"91210100MA{i:08d}" for i in range(12)]
    for k in range(1, 29):
        if k % 4 == 0:
            for name in names:
                for _ in range(4):
                    enterprise(con, (RUN - timedelta(days=k)).isoformat(), name)
    today = {**dict.fromkeys(names, 1), names[3]: 8, names[7]: 40}
    for name, n in today.items():
        for _ in range(n):
            enterprise(con, RUN.isoformat(), name)
    rows = by_id(run(con, "complaints.surge", RUN))
    eight, forty = rows[names[3]], rows[names[7]]
    ev = json.loads(eight["evidence"])
    assert ev["dispersion"] == pytest.approx((7 * 9 + 21 * 1) / 27 - 1, abs=1e-3)   # s^2 - m over m^2, m = 1
    assert eight["expected_today"] == pytest.approx(1) and eight["value"] == pytest.approx(8)
    assert poisson_tail(8, 1.0) < ALPHA                  # the Poisson tail would call it a surge ...
    assert eight["p_value"] > 1e-3 and not eight["flagged"]   # ... the source's own dispersion does not
    assert forty["p_value"] < ALPHA and forty["flagged"]
    assert not any(r["flagged"] for k, r in rows.items() if k not in (names[7],))


def test_many_merchants_surging_on_one_day_do_not_raise_their_own_control(mem_warehouse, run):
    """20 companies at 1 a day (1 on D) and 5 large ones at 5 a day that all have 60 on D. Without the large riser
    only, each big company's market is 200 on D against 35 a day (5.7x) and its 60 is 2.1x that: hidden. The four
    other large risers are surges against the first market ratio and are left out: the market is the 20 small
    companies (1x), and every large one is flagged."""
    con = mem_warehouse
    small = [f"SMALL{i:02d}" for i in range(20)]
    big = [f"BIG{i}" for i in range(5)]
    for k in range(1, 29):
        d = (RUN - timedelta(days=k)).isoformat()
        for name in small:
            cfpb(con, d, name)
        for name in big:
            for _ in range(5):
                cfpb(con, d, name)
    for name in small:
        cfpb(con, RUN.isoformat(), name)
    for name in big:
        for _ in range(60):
            cfpb(con, RUN.isoformat(), name)
    rows = by_id(run(con, "complaints.surge", RUN))
    assert (320 - 60 - 60) / ((1260 - 140 - 140) / 28) == pytest.approx(200 / 35)   # the old market: 5.7x
    for name in big:
        r = rows[name]
        ev = json.loads(r["evidence"])
        assert r["market_today"] == 20 and r["market_baseline"] == 560 and r["market_ratio"] == pytest.approx(1)
        assert ev["market_merchants_screened_out"] in (3, 4)   # the others (the largest riser is left out anyway)
        assert r["expected_today"] == pytest.approx(5) and r["flagged"]
    assert not any(rows[name]["flagged"] for name in small)


def test_shops_that_opened_inside_the_window_are_measured_over_their_open_days(mem_warehouse, run):
    """10 shops active throughout and 30 that opened 14 days before D, all at 1 complaint (of 10 orders) a day, and
    the same on D: nothing rose. Dividing the new shops' 14 baseline complaints by 28 days made the market's
    baseline 24 a day against 39 on D (a 'rise' of 1.6x) and each new shop's own mean 0.5 a day. Measured over the
    days since their first order, the market ratio is 1 and a new shop's mean is 1 a day."""
    from tests.indicators.complaints.given import orders, shop

    con = mem_warehouse
    old = [f"OLD{i:03d}" for i in range(10)]
    new = [f"NEW{i:03d}" for i in range(30)]
    for name in old + new:
        shop(con, name)
        first = 28 if name in old else 14
        for k in range(first, -1, -1):
            d = (RUN - timedelta(days=k)).isoformat()
            orders(con, name, d, 10)
            if k > 0 or name != "NEW000":
                complaint(con, d, shop_id=name)
    for _ in range(4):                                    # NEW000: 5 on D against its 1 a day
        complaint(con, RUN.isoformat(), shop_id="NEW000")
    rows = by_id(run(con, "complaints.surge", RUN))
    for name in old + new[1:]:
        assert rows[name]["market_ratio"] == pytest.approx(1.0, abs=0.02)
        assert not rows[name]["flagged"]
    n0 = rows["NEW000"]
    ev = json.loads(n0["evidence"])
    assert ev["baseline_active_days"] == 14 and ev["baseline_complaints"] == 14
    assert n0["market_ratio"] == pytest.approx(1.0, abs=0.02) and n0["expected_today"] == pytest.approx(1.0)
    assert ev["market_baseline_complaints"] == pytest.approx(38 * 28)   # 9 old + 29 new shops, full-window equivalents


def _surge_of_a_source(con, run, order) -> list[tuple]:
    # 30 merchants with uneven baselines (1-5 complaints every k-th day): the dispersion and the market ratio add up
    # 30 unequal fractions (shops that opened inside the window count their baseline scaled to the full window)
    names = [f"91210100MB{i:08d}" for i in range(30)]
    for i in order:
        for k in range(1, 29):
            if k % (2 + i % 5) == 0:
                for _ in range(1 + (i * 7) % 5):
                    enterprise(con, (RUN - timedelta(days=k)).isoformat(), names[i])
        for _ in range(1 + i % 4 + (9 if i == 11 else 0)):
            enterprise(con, RUN.isoformat(), names[i])
    rows = run(con, "complaints.surge", RUN)
    # the complaint ids differ (the given rows are numbered in the order they are written): everything else must not
    return sorted((r["entity_id"], r["p_value"], r["expected_today"], r["value"],
                   {k: v for k, v in json.loads(r["evidence"]).items() if k != "complaint_ids"}) for r in rows)


def test_the_p_values_do_not_depend_on_the_order_rows_are_read(mem_warehouse, run):
    """A rerun of a date gives the same p-values to the last bit: the dispersion and the market sums are exact DECIMAL
    sums, not floating-point sums whose rounding follows the scan (and thread) order."""
    forward = _surge_of_a_source(mem_warehouse, run, range(30))
    backward = on_another_warehouse(lambda con: _surge_of_a_source(con, run, reversed(range(30))))
    assert forward[0][4]["dispersion"] > 0  # the dispersion was fitted, so its sums matter
    assert backward == forward
