"""Given/expect tests of complaints.surge's source-wide control (issue 20, CFPB real data).

A merchant's complaints on D are tested against its own baseline scaled by the market ratio: the source's
complaints on D against its daily mean over the same baseline window, leaving out the merchant itself and the one
other merchant with the largest rise on D, floored at 1. On the real CFPB extract the whole feed rose up to 10x
from one day to the next (an unevenly drawn sample), and every large company "surged" with it.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest

from tests.indicators.complaints.conftest import by_id
from tests.indicators.complaints.given import cfpb, complaint

RUN = date(2026, 11, 20)
COMPANIES = [f"BANK{i:02d}" for i in range(10)]
ALPHA = 0.00003         # surge_alpha in indicators/complaints/surge.yml
RATIO = 5.0             # surge_ratio_threshold


def poisson_tail(c, lam):
    return 1 - sum(math.exp(-lam) * lam ** j / math.factorial(j) for j in range(c))


def history(con, companies, per_day=1, add=cfpb, loaded=None):
    """`per_day` complaints a day against each company on each of the 28 baseline days before RUN."""
    for k in range(1, 29):
        d = (RUN - timedelta(days=k)).isoformat()
        for name in companies:
            for _ in range(per_day):
                add(con, d, name, loaded=loaded)


def on_run_date(con, counts: dict[str, int], add=cfpb, loaded=None):
    for name, n in counts.items():
        for _ in range(n):
            add(con, RUN.isoformat(), name, loaded=loaded)


def enterprise(con, day, uscc, loaded=None):
    """A 12315 complaint against an enterprise with no shop (the merchant is its USCC)."""
    return complaint(con, day, shop_id=None, uscc=uscc, loaded=loaded)


@pytest.mark.parametrize("add", [cfpb, enterprise], ids=["cfpb", "12315"])
def test_a_whole_market_rising_alike_is_not_a_surge(mem_warehouse, run, add):
    con = mem_warehouse
    history(con, COMPANIES, add=add)                       # 1 a day each, 10 a day in all
    on_run_date(con, dict.fromkeys(COMPANIES, 10), add=add)  # the whole source x10 (every merchant alike)
    rows = run(con, "complaints.surge", RUN)
    assert len(rows) == 10
    # without the control each would be a surge: 10 against 1 expected, p far below alpha
    assert 10 / 1 >= RATIO and poisson_tail(10, 1.0) < ALPHA
    for r in rows:
        # market: 8 other merchants (itself and the largest other riser left out), 80 on D against 224 / 28 a day
        assert r["market_today"] == 80 and r["market_baseline"] == 224
        assert r["market_ratio"] == pytest.approx(10)
        assert r["expected_today"] == pytest.approx(10)
        assert r["value"] == pytest.approx(1) and not r["flagged"]


@pytest.mark.parametrize("add", [cfpb, enterprise], ids=["cfpb", "12315"])
def test_b_one_merchant_x10_in_a_flat_market_is_a_surge(mem_warehouse, run, add):
    con = mem_warehouse
    history(con, COMPANIES, add=add)
    on_run_date(con, {**dict.fromkeys(COMPANIES, 1), "BANK03": 10}, add=add)
    rows = by_id(run(con, "complaints.surge", RUN))
    hit = rows["BANK03"]
    assert hit["market_ratio"] == pytest.approx(1)        # its own rise is not counted as the market's
    assert hit["expected_today"] == pytest.approx(1) and hit["value"] == pytest.approx(10)
    assert hit["p_value"] == pytest.approx(poisson_tail(10, 1.0), rel=1e-6)
    assert hit["flagged"]
    ev = json.loads(hit["evidence"])
    assert ev["market_ratio"] == pytest.approx(1) and ev["market_complaints"] == 8
    assert ev["market_baseline_complaints"] == 224
    assert [k for k, r in rows.items() if r["flagged"]] == ["BANK03"]


def test_c_market_x3_and_one_merchant_x30_is_a_surge(mem_warehouse, run):
    con = mem_warehouse
    history(con, COMPANIES)
    on_run_date(con, {**dict.fromkeys(COMPANIES, 3), "BANK07": 30})
    rows = by_id(run(con, "complaints.surge", RUN))
    hit = rows["BANK07"]
    assert hit["market_ratio"] == pytest.approx(3)
    assert hit["expected_today"] == pytest.approx(3) and hit["value"] == pytest.approx(10)
    assert hit["p_value"] == pytest.approx(poisson_tail(30, 3.0), rel=1e-6) and hit["flagged"]
    for name in COMPANIES:
        if name != "BANK07":
            # BANK07 (the largest riser) is left out of the others' market too: it does not inflate their ratio
            assert rows[name]["market_ratio"] == pytest.approx(3)
            assert rows[name]["value"] == pytest.approx(1) and not rows[name]["flagged"]


def test_one_big_surge_does_not_hide_a_second_one(mem_warehouse, run):
    """Two surges on the same day: the big one is not taken for a market-wide rise when the small one is judged."""
    con = mem_warehouse
    history(con, COMPANIES)
    history(con, ["GIANT"], per_day=4)
    on_run_date(con, {**dict.fromkeys(COMPANIES, 1), "GIANT": 60, "BANK05": 10})
    rows = by_id(run(con, "complaints.surge", RUN))
    assert rows["GIANT"]["flagged"] and rows["BANK05"]["flagged"]
    assert rows["BANK05"]["market_ratio"] == pytest.approx(1)
    # leaving out only BANK05 itself, GIANT's 60 would have made the market 68 / (336 / 28) = 5.7x: masked
    assert 10 / (68 / (336 / 28)) < RATIO


def test_a_falling_market_does_not_make_a_steady_merchant_a_surge(mem_warehouse, run):
    con = mem_warehouse
    history(con, COMPANIES[:9], per_day=2)
    history(con, ["STEADY"], per_day=6)
    on_run_date(con, {"STEADY": 6})                       # the rest of the source fell silent on D
    [row] = run(con, "complaints.surge", RUN)
    assert row["market_today"] == 0 and row["market_ratio"] == pytest.approx(1)   # floored at 1
    assert row["expected_today"] == pytest.approx(6) and not row["flagged"]


def test_d_as_of_late_rows_do_not_change_the_market(mem_warehouse, run):
    """Complaints registered on or before D but loaded after D are not part of D's market (nor of anything else)."""
    con = mem_warehouse
    history(con, COMPANIES)
    on_run_date(con, {**dict.fromkeys(COMPANIES, 1), "BANK03": 10})
    before = run(con, "complaints.surge", RUN)
    late = (RUN + timedelta(days=1)).isoformat()
    # a later drop: the rest of the market x10 on D and a fuller baseline, loaded the day after D
    on_run_date(con, dict.fromkeys([c for c in COMPANIES if c != "BANK03"], 9), loaded=late)
    history(con, ["LATECO"], per_day=2, loaded=late)
    after = run(con, "complaints.surge", RUN)
    assert after == before
    assert by_id(after)["BANK03"]["flagged"] and by_id(after)["BANK03"]["market_ratio"] == pytest.approx(1)
    # the same rows, as of the day they were loaded, are in the market of D + 1's baseline window (D - 27 ... D):
    # 270 history + 19 on D + 81 late on D + 54 late LATECO, less BANK01's own 37 and the largest riser's 37
    cfpb(con, late, "BANK01", loaded=late)
    nxt = by_id(run(con, "complaints.surge", RUN + timedelta(days=1)))
    assert nxt["BANK01"]["market_baseline"] == 270 + 19 + 81 + 54 - 37 - 37
