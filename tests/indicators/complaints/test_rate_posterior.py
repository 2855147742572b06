"""Given/expect tests of complaints.rate_posterior (empirical-Bayes posterior, exposure gate, prior fit)."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from tests.indicators.complaints.conftest import by_id, on_another_warehouse
from tests.indicators.complaints.given import cfpb, complaint, complaints, orders, shop

RUN = date(2026, 11, 20)
ID = "complaints.rate_posterior"


def wilson(k, n, z=1.96):
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5)
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_research_table_posterior_ranks_the_one_order_shop_last(mem_warehouse, run):
    """Worked example: 1/1, 20/100, 50/1000 with the default prior α=5, β=995 (0.5%, strength 1,000)."""
    con = mem_warehouse
    for s, n, k in (("A", 1, 1), ("B", 100, 20), ("C", 1000, 50)):
        shop(con, s)
        orders(con, s, "2026-11-10", n)
        complaints(con, "2026-11-10", s, k)
    rows = by_id(run(con, ID, RUN, {"fit_prior": False}))
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert a["prior_alpha"] == pytest.approx(5) and a["prior_beta"] == pytest.approx(995)
    assert a["prior_source"] == "default"
    assert a["posterior_rate"] == pytest.approx(6 / 1001)        # 0.60 %
    assert b["posterior_rate"] == pytest.approx(25 / 1100)       # 2.27 %
    assert c["posterior_rate"] == pytest.approx(55 / 2000)       # 2.75 %
    # the Wilson lower bound alone would rank the one-order shop worst (0.207 > 0.133 > 0.038)
    assert a["wilson_low"] == pytest.approx(0.207, abs=1e-3) and a["wilson_low"] > b["wilson_low"] > c["wilson_low"]
    assert b["wilson_low"] == pytest.approx(0.133, abs=1e-3) and c["wilson_high"] == pytest.approx(0.065, abs=1e-3)
    assert (a["wilson_low"], a["wilson_high"]) == pytest.approx(wilson(1, 1))
    # the posterior ranks the other way, and the exposure gate keeps the one-order shop out of the ranking
    assert c["posterior_rank"] == 1 and b["posterior_rank"] == 2
    assert a["posterior_rank"] is None and not a["exposure_gate_passed"] and not a["flagged"]
    assert a["raw_rate"] == 1.0 and a["orders"] == 1
    # value = posterior / platform prior mean; 20/100 is 4.5x, 50/1000 is 5.5x the 0.5% platform rate
    assert b["value"] == pytest.approx(0.02273 / 0.005, abs=1e-3) and not b["flagged"]
    assert c["value"] == pytest.approx(5.5) and c["flagged"] and c["severity"] == "medium"
    evidence = json.loads(c["evidence"])
    assert evidence["orders"] == 1000 and evidence["complaints"] == 50 and len(evidence["complaint_ids"]) == 20


def test_prior_is_the_method_of_moments_fit_on_gated_shops(mem_warehouse, run):
    con = mem_warehouse
    data = {"S1": (200, 2), "S2": (300, 9), "S3": (150, 1), "S4": (400, 4), "S5": (250, 10), "S6": (500, 3)}
    for s, (n, k) in data.items():
        shop(con, s, platform="jd")
        orders(con, s, "2026-11-05", n)
        complaints(con, "2026-11-05", s, k)
    shop(con, "SMALL", platform="jd")  # below the exposure gate: not in the fit
    orders(con, "SMALL", "2026-11-05", 20)
    complaints(con, "2026-11-05", "SMALL", 5)
    rows = by_id(run(con, ID, RUN))
    # independent method of moments
    ps = [k / n for n, k in data.values()]
    m = sum(k for _, k in data.values()) / sum(n for n, _ in data.values())
    mean_p = sum(ps) / len(ps)
    v_obs = sum((p - mean_p) ** 2 for p in ps) / (len(ps) - 1)
    v_between = v_obs - m * (1 - m) * sum(1 / n for n, _ in data.values()) / len(ps)
    strength = min(max(m * (1 - m) / v_between - 1, 100), 100000)
    r = rows["S2"]
    assert r["prior_source"] == "platform_month" and r["prior_shops"] == 6
    assert r["prior_mean"] == pytest.approx(m)
    assert r["prior_alpha"] == pytest.approx(m * strength) and r["prior_beta"] == pytest.approx((1 - m) * strength)
    assert r["posterior_rate"] == pytest.approx((m * strength + 9) / (strength + 300))
    assert rows["SMALL"]["posterior_rank"] is None and rows["SMALL"]["posterior_rate"] is not None
    ranks = sorted((rows[s]["posterior_rank"], s) for s in data)
    assert [s for _, s in ranks][:2] == ["S5", "S2"]


def test_platform_with_too_few_shops_uses_the_all_platform_fit(mem_warehouse, run):
    con = mem_warehouse
    for i in range(5):
        shop(con, f"T{i}", platform="tmall")
        orders(con, f"T{i}", "2026-11-05", 100 + 50 * i)
        complaints(con, "2026-11-05", f"T{i}", i + 1)
    shop(con, "P1", platform="pdd")
    orders(con, "P1", "2026-11-05", 100)
    complaints(con, "2026-11-05", "P1", 1)
    rows = by_id(run(con, ID, RUN))
    assert rows["T0"]["prior_source"] == "platform_month" and rows["T0"]["prior_shops"] == 5
    assert rows["P1"]["prior_source"] == "all_platforms_month" and rows["P1"]["prior_shops"] == 6
    assert rows["P1"]["prior_mean"] == pytest.approx((15 + 1) / (1000 + 100))


def test_exposure_gate(mem_warehouse, run):
    con = mem_warehouse
    for i in range(10):
        shop(con, f"N{i}")
        orders(con, f"N{i}", "2026-11-01", 1000)
        complaints(con, "2026-11-01", f"N{i}", 5)
    for s, n in (("X29", 29), ("Y30", 30)):
        shop(con, s)
        orders(con, s, "2026-11-01", n)
        for d in range(1, 6):  # 2 a day: under the daily cap, so the whole count is the sustained level
            complaints(con, f"2026-11-0{d}", s, 2)
    rows = by_id(run(con, ID, date(2026, 11, 5)))
    x, y = rows["X29"], rows["Y30"]
    assert x["complaints"] == y["complaints"] == 10
    assert not x["exposure_gate_passed"] and x["posterior_rank"] is None and not x["flagged"]
    assert y["exposure_gate_passed"] and y["posterior_rank"] == 1 and y["flagged"]
    assert y["value"] >= 5
    # raising the gate above 30 orders unflags it
    rows = by_id(run(con, ID, date(2026, 11, 5), {"min_exposure": 31}))
    assert not rows["Y30"]["flagged"] and rows["Y30"]["posterior_rank"] is None


def test_a_two_day_burst_does_not_make_the_month_look_bad(mem_warehouse, run):
    """Daily cap: a surge (complaints.surge) is not a sustained rate."""
    con = mem_warehouse
    for i in range(10):
        shop(con, f"N{i}")
        for d in range(1, 10):
            orders(con, f"N{i}", f"2026-11-0{d}", 30)
        complaints(con, "2026-11-03", f"N{i}", 3)
    shop(con, "BURST")
    for d in range(1, 10):
        orders(con, "BURST", f"2026-11-0{d}", 30)
    complaints(con, "2026-11-02", "BURST", 10)
    complaints(con, "2026-11-03", "BURST", 10)
    rows = by_id(run(con, ID, date(2026, 11, 9)))
    burst = rows["BURST"]
    platform_rate = (10 * 3 + 20) / (11 * 9 * 30)
    # max(daily_cap_min, ceil(daily_cap_threshold_multiple x threshold x rate x the day's orders))
    cap = max(2, math.ceil(2 * 5 * platform_rate * 30))
    assert cap == 6
    assert burst["complaints"] == 20 and burst["complaints_capped"] == 2 * cap
    assert not burst["flagged"]


def test_a_rate_kept_every_busy_day_is_counted_in_full_and_flagged(mem_warehouse, run):
    """Issue 20, campaign power (0/5 at 1.5x): the daily cap was at the threshold's rate (5 x the platform's), so a
    shop busy enough every day for the cap to bind counted at most the threshold's rate and the prior pulled its
    month below the threshold: no sustained high rate on busy days could ever be flagged. The cap is now at twice
    the threshold's rate: a shop at ~10 x the platform's rate on 30 orders a day keeps every complaint."""
    con = mem_warehouse
    for i in range(40):
        shop(con, f"N{i}")
        for d in range(1, 6):
            orders(con, f"N{i}", f"2026-11-0{d}", 30)
        complaints(con, "2026-11-03", f"N{i}", 2)
    shop(con, "HIGH")
    for d in range(1, 6):
        orders(con, "HIGH", f"2026-11-0{d}", 30)
        complaints(con, f"2026-11-0{d}", "HIGH", 5)
    rows = by_id(run(con, ID, date(2026, 11, 5)))
    high = rows["HIGH"]
    platform_rate = (40 * 2 + 25) / (41 * 5 * 30)
    assert math.ceil(2 * 5 * platform_rate * 30) == 6             # the new cap: 6 a day, above HIGH's 5
    assert math.ceil(5 * platform_rate * 30) == 3                  # the old cap: 3 a day
    assert high["complaints"] == 25 and high["complaints_capped"] == 25
    assert high["flagged"] and high["value"] >= 5
    assert not any(rows[f"N{i}"]["flagged"] for i in range(40))


def test_month_to_date_and_rerun_safe(mem_warehouse, run):
    con = mem_warehouse
    shop(con, "S1")
    orders(con, "S1", "2026-10-31", 50)        # last month: not this month's exposure
    orders(con, "S1", "2026-11-02", 40)
    complaint(con, "2026-10-31", "S1")
    complaint(con, "2026-11-02", "S1")
    before = run(con, ID, date(2026, 11, 5))
    [row] = before
    assert row["orders"] == 40 and row["complaints"] == 1 and row["month"] == date(2026, 11, 1)
    assert row["window_start"] == date(2026, 11, 1) and row["window_end"] == date(2026, 11, 5)
    # later drops (complaints and orders of later days, a history row loaded later) change nothing for 11-05
    orders(con, "S1", "2026-11-06", 100, loaded="2026-11-06")
    complaint(con, "2026-11-06", "S1")
    complaint(con, "2026-11-03", "S1", loaded="2026-11-07")
    assert run(con, ID, date(2026, 11, 5)) == before


def test_complaints_join_their_shop_by_shop_id_else_by_uscc(mem_warehouse, run):
    con = mem_warehouse
    u1 = shop(con, "S1", uscc="91210100MA0AAAAA1X")
    shop(con, "S2", uscc="91210100MA0BBBBB2X")
    shop(con, "S3", uscc="91210100MA0BBBBB2X")   # the same enterprise runs two shops
    complaint(con, "2026-11-02", shop_id=None, uscc=u1)                     # -> S1 (its only shop)
    complaint(con, "2026-11-02", shop_id=None, uscc="91210100MA0BBBBB2X")   # ambiguous -> enterprise level
    complaint(con, "2026-11-02", shop_id="S2", uscc="91210100MA0BBBBB2X")
    rows = by_id(run(con, ID, RUN))
    assert rows["S1"]["complaints"] == 1 and rows["S1"]["entity_type"] == "shop"
    assert rows["S1"]["platform"] == "tmall" and rows["S1"]["uscc"] == u1
    assert rows["S2"]["complaints"] == 1
    ent = rows["91210100MA0BBBBB2X"]
    assert ent["entity_type"] == "enterprise" and ent["orders"] is None and ent["posterior_rate"] is None


def test_no_denominator_no_rate_for_cfpb(mem_warehouse, run):
    con = mem_warehouse
    for _ in range(3):
        cfpb(con, "2026-11-03", "ACME BANK")
    cfpb(con, "2026-11-03", "OTHER CO")
    rows = by_id(run(con, ID, RUN))
    acme = rows["ACME BANK"]
    assert acme["source"] == "cfpb_complaints" and acme["entity_type"] == "company"
    assert acme["complaints"] == 3 and acme["complaint_share"] == pytest.approx(0.75)
    for col in ("orders", "raw_rate", "posterior_rate", "wilson_low", "posterior_rank"):
        assert acme[col] is None, col
    assert not acme["flagged"]


def _fitted_prior_of_a_market(con, run, shop_order) -> list[tuple]:
    # 60 gated shops with uneven rates: the fitted prior's moments add 60 unequal fractions
    for i in shop_order:
        s = f"M{i:03d}"
        shop(con, s, platform="jd")
        orders(con, s, "2026-11-05", 100 + 37 * i)
        complaints(con, "2026-11-05", s, 1 + (i * 7) % 11)
    rows = run(con, ID, RUN)
    return sorted((r["entity_id"], r["prior_mean"], r["prior_strength"], r["posterior_rate"], r["value"]) for r in rows)


def test_the_posterior_does_not_depend_on_the_order_rows_are_read(mem_warehouse, run):
    """A rerun of a date gives the same posteriors to the last bit: the prior's moments are exact DECIMAL sums, not
    floating-point sums whose rounding follows the scan (and thread) order. Read the same shops in two orders."""
    forward = _fitted_prior_of_a_market(mem_warehouse, run, range(60))
    backward = on_another_warehouse(lambda con: _fitted_prior_of_a_market(con, run, reversed(range(60))))
    assert forward[0][2] != 100000  # the prior was fitted (not the cap), so its moments matter
    assert backward == forward


def _masked_market(con):
    """40 ordinary jd shops at 1 % (200 orders, 2 complaints), one busy shop at 30 % (1,000 orders, 300 complaints)
    and two at 14 % (400 orders, 56 complaints), over ten days (under the daily cap: 2 x 5 x the platform's 5 %)."""
    for i in range(40):
        shop(con, f"O{i:02d}", platform="jd")
        orders(con, f"O{i:02d}", "2026-11-05", 200)
        complaints(con, "2026-11-05", f"O{i:02d}", 2)
    mid_days = [6, 5] * 4 + [6, 6]   # 56
    for s, per_day, complaints_by_day in (("BIG", 100, [30] * 10), ("MID1", 40, mid_days), ("MID2", 40, mid_days)):
        shop(con, s, platform="jd")
        for d, k in zip(range(5, 15), complaints_by_day):
            orders(con, s, f"2026-11-{d:02d}", per_day)
            complaints(con, f"2026-11-{d:02d}", s, k)
    return [(200, 2)] * 40 + [(1000, 300), (400, 56), (400, 56)]


def _first_fit(data):
    """The method of moments on all gated shops (the rule's first fit), computed here independently."""
    ks, ns = [k for _, k in data], [n for n, _ in data]
    m = sum(ks) / sum(ns)
    ps = [k / n for n, k in data]
    mean_p = sum(ps) / len(ps)
    v_between = (sum((p - mean_p) ** 2 for p in ps) / (len(ps) - 1)
                 - m * (1 - m) * sum(1 / n for n in ns) / len(ps))
    return m, min(max(m * (1 - m) / v_between - 1, 100), 100000)


def test_busy_outliers_do_not_hide_each_other_behind_the_mean_they_raise(mem_warehouse, run):
    """Masking (issue 20, rate_posterior campaign 1/5 at 1.5x): the busy bad shops raise the pooled rate they are
    judged against. The benchmark is refitted without the shops flagged against it until that set settles (Phase I
    of a control chart); the strength stays the first fit's."""
    con = mem_warehouse
    data = _masked_market(con)
    rows = by_id(run(con, ID, RUN))
    m1, strength = _first_fit(data)
    assert rows["MID1"]["complaints_capped"] == 56 and rows["BIG"]["complaints_capped"] == 300
    # against the first mean (5.0 %) the 14 % shops are 3.6x, not flagged: only BIG is. Without BIG the mean is
    # 2.2 % and the MIDs are flagged; without them, the 40 ordinary shops' 1 %, against which all three stay flagged
    assert (m1 * strength + 56) / (strength + 400) / m1 < 5 <= (m1 * strength + 300) / (strength + 1000) / m1
    for s in ("BIG", "MID1", "MID2"):
        assert rows[s]["flagged"], s
        assert rows[s]["prior_mean"] == pytest.approx(80 / 8000) and rows[s]["prior_strength"] == pytest.approx(strength)
        n, k = (1000, 300) if s == "BIG" else (400, 56)
        assert rows[s]["value"] == pytest.approx((0.01 * strength + k) / (strength + n) / 0.01, abs=1e-4)
    assert not any(rows[f"O{i:02d}"]["flagged"] for i in range(40))
    assert json.loads(rows["BIG"]["evidence"])["prior_left_out_merchants"] == 3 and rows["BIG"]["prior_shops"] == 43


def test_a_market_without_outliers_keeps_its_first_fit(mem_warehouse, run):
    """A clean platform flags nobody against its first mean: no revision, the pooled rate of all gated shops."""
    con = mem_warehouse
    for i in range(12):
        shop(con, f"C{i:02d}", platform="jd")
        orders(con, f"C{i:02d}", "2026-11-05", 150 + 10 * i)
        complaints(con, "2026-11-05", f"C{i:02d}", 1 + i % 4)
    rows = by_id(run(con, ID, RUN))
    k = sum(1 + i % 4 for i in range(12))
    n = sum(150 + 10 * i for i in range(12))
    assert rows["C00"]["prior_mean"] == pytest.approx(k / n)
    assert json.loads(rows["C00"]["evidence"])["prior_left_out_merchants"] == 0
    assert not any(r["flagged"] for r in rows.values())
