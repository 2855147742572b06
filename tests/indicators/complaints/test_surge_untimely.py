"""Given/expect tests of complaints.surge and complaints.untimely_response (and the relief rate)."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest

from tests.indicators.complaints.conftest import by_id
from tests.indicators.complaints.given import cfpb, complaint, complaints, orders, shop

RUN = date(2026, 11, 20)


def poisson_tail(c, lam):
    return 1 - sum(math.exp(-lam) * lam ** j / math.factorial(j) for j in range(c))


def baseline(con, shop_id, per_day_orders=10, every=4):
    """28 days before RUN: orders every day, one complaint every `every` days."""
    for k in range(1, 29):
        d = (RUN - timedelta(days=k)).isoformat()
        orders(con, shop_id, d, per_day_orders)
        if k % every == 0:
            complaint(con, d, shop_id)


def test_surge_against_own_baseline(mem_warehouse, run):
    con = mem_warehouse
    shop(con, "S1")
    baseline(con, "S1")                      # 7 complaints in 28 days: 0.25 a day
    orders(con, "S1", RUN.isoformat(), 10)
    ids = complaints(con, RUN.isoformat(), "S1", 8)
    [row] = run(con, "complaints.surge", RUN)
    lam = 7 / 28                              # = 7/280 per order x 10 orders: the same
    assert row["expected_today"] == pytest.approx(lam)
    assert row["value"] == pytest.approx(8 / lam)
    assert row["p_value"] == pytest.approx(poisson_tail(8, lam), rel=1e-6)
    assert row["flagged"] and row["window_start"] == row["window_end"] == RUN
    ev = json.loads(row["evidence"])
    assert ev["complaint_ids"] == sorted(ids) and ev["baseline_complaints"] == 7


def test_more_orders_bring_more_complaints_not_a_surge(mem_warehouse, run):
    con = mem_warehouse
    shop(con, "S1")
    baseline(con, "S1")
    orders(con, "S1", RUN.isoformat(), 300)   # a 双十一 day: 30x the usual orders
    complaints(con, RUN.isoformat(), "S1", 8)
    [row] = run(con, "complaints.surge", RUN)
    assert row["expected_today"] == pytest.approx(7 / 280 * 300)
    assert not row["flagged"]


def test_few_complaints_or_an_active_past_are_not_a_surge(mem_warehouse, run):
    con = mem_warehouse
    shop(con, "FEW")
    baseline(con, "FEW")
    complaints(con, RUN.isoformat(), "FEW", 4)   # below surge_min_complaints
    shop(con, "BUSY")
    for k in range(1, 29):
        complaints(con, (RUN - timedelta(days=k)).isoformat(), "BUSY", 3)
    complaints(con, RUN.isoformat(), "BUSY", 9)  # 3x its usual 3 a day
    rows = by_id(run(con, "complaints.surge", RUN))
    assert rows["FEW"]["value"] == pytest.approx(16) and not rows["FEW"]["flagged"]
    assert rows["BUSY"]["expected_today"] == pytest.approx(3) and not rows["BUSY"]["flagged"]
    # no history at all: measured against min_expected (0.2 a day)
    shop(con, "NEW")
    complaints(con, RUN.isoformat(), "NEW", 5)
    rows = by_id(run(con, "complaints.surge", RUN))
    assert rows["NEW"]["expected_today"] == pytest.approx(0.2) and rows["NEW"]["flagged"]


def test_untimely_share_in_the_trailing_window(mem_warehouse, run):
    con = mem_warehouse
    shop(con, "LATE")
    for d in ("2026-10-25", "2026-11-02", "2026-11-10"):
        complaint(con, d, "LATE", timely=False)
    complaint(con, "2026-11-11", "LATE", timely=True)
    complaint(con, "2026-11-12", "LATE", timely=None, status="处理中", result=None)  # not known yet: left out
    complaint(con, "2026-10-10", "LATE", timely=False)   # before the 30-day window
    shop(con, "TWO")
    complaint(con, "2026-11-02", "TWO", timely=False)
    complaint(con, "2026-11-03", "TWO", timely=False)
    rows = by_id(run(con, "complaints.untimely_response", RUN))
    late = rows["LATE"]
    assert late["window_start"] == date(2026, 10, 22) and late["window_end"] == RUN
    assert late["window_untimely"] == 3 and late["window_timely_known"] == 4
    assert late["value"] == pytest.approx(0.75) and late["flagged"]
    assert len(json.loads(late["evidence"])["untimely_complaint_ids"]) == 3
    # month to date (the mart): 4 November complaints, 3 known, 1 timely
    assert late["mtd_complaints"] == 4 and late["timely_known"] == 3 and late["timely_rate"] == pytest.approx(1 / 3)
    assert not rows["TWO"]["flagged"]                      # 2 untimely: below min_untimely
    assert rows["TWO"]["value"] == pytest.approx(1.0)


def test_relief_rate_12315_and_cfpb_label_map(mem_warehouse, run):
    con = mem_warehouse
    shop(con, "S1")
    complaint(con, "2026-11-02", "S1", result="调解成功", recovered=120)
    complaint(con, "2026-11-03", "S1", result="调解不成功")
    complaint(con, "2026-11-04", "S1", result="终止调解")
    complaint(con, "2026-11-05", "S1", result="调解成功", closed="2026-11-25")   # closed after the run date: open
    complaint(con, "2026-11-06", "S1", status="处理中", result=None, closed=None)
    for response in ("Closed with monetary relief", "Closed with non-monetary relief", "Closed with relief",
                     "Closed with explanation", "Closed without relief", "Closed", "In progress",
                     "Untimely response"):
        cfpb(con, "2026-11-03", "ACME", response=response, timely=response != "Untimely response")
    rows = by_id(run(con, "complaints.untimely_response", RUN))
    s1 = rows["S1"]
    assert s1["closed_complaints"] == 3 and s1["relief_complaints"] == 1 and s1["open_complaints"] == 2
    assert s1["relief_rate"] == pytest.approx(1 / 3) and float(s1["recovered_yuan"]) == 120
    acme = rows["ACME"]
    assert acme["closed_complaints"] == 6 and acme["relief_complaints"] == 3   # In progress / Untimely excluded
    assert acme["relief_rate"] == pytest.approx(0.5)
    assert acme["timely_rate"] == pytest.approx(7 / 8)
