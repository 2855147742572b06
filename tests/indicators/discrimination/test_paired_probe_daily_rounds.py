"""Issue 20: discrimination.paired_probe counts probe rounds across days.

A monitoring system probes a listing once a day: one round (a control, two cohorts and a second control within two
minutes) on 4 days over a fortnight, the cohort charged 8-12 % more than control in every round, zero
control-vs-control noise. Counting the rounds of the run date only never saw two: 0 of 5 were found."""

from __future__ import annotations

import json
from datetime import date, timedelta

from tests.indicators.given import merchant, observation
from tests.indicators.price._run import indicator, rows

RUN = date(2026, 11, 10)
PROBE_DAYS = [RUN - timedelta(days=k) for k in (13, 9, 4, 0)]   # 4 daily rounds over a fortnight


def daily_round(con, day, shop, sku, prices, at="10:00"):
    """One round: the cohorts' prices observed 30 s apart, within two minutes."""
    for k, (cohort, price) in enumerate(prices):
        observation(con, day.isoformat(), shop, sku, price, price_type="checkout", cohort=cohort,
                    at=f"{at}:{30 * k:02d}" if k < 2 else f"{at[:3]}{int(at[3:]) + 1:02d}:{30 * (k - 2):02d}")


def test_four_daily_rounds_over_a_fortnight_are_counted(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    merchant(con, "S1")
    for i, d in enumerate(PROBE_DAYS):
        gap = (0.08, 0.10, 0.12, 0.09)[i]
        daily_round(con, d, "S1", "K1", [("control", 100.0), ("existing", 100.0 * (1 + gap)),
                                         ("vip", 100.0 * (1 + gap)), ("control", 100.0)])
    [row] = rows(con, ind, RUN)
    ev = json.loads(row["evidence"])
    # zero control-vs-control noise (the pairs of the last noise_days = 7 days: 2 of the 4 rounds)
    assert ev["noise_gap_quantile"] == 0 and ev["control_pairs"] == 2
    cohorts = {c["cohort"]: c for c in ev["cohorts"]}
    assert cohorts["existing"]["rounds"] == 4 and cohorts["existing"]["rounds_above"] == 4
    assert cohorts["existing"]["round_days"] == 4
    assert ev["first_round_date"] == str(PROBE_DAYS[0]) and ev["round_window_days"] == 28
    assert row["flagged"] and ev["cohorts_charged_more"] == ["existing", "vip"]
    assert 0.08 <= row["value"] <= 0.12


def test_a_listing_not_probed_on_the_run_date_is_not_judged(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    for d in PROBE_DAYS[:3]:
        daily_round(con, d, "S1", "K1", [("control", 100.0), ("existing", 110.0), ("control", 100.0)])
    assert rows(con, ind, RUN) == []


def test_rounds_older_than_the_window_do_not_count(mem_warehouse):
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    daily_round(con, RUN - timedelta(days=40), "S1", "K1", [("control", 100.0), ("existing", 110.0), ("control", 100.0)])
    daily_round(con, RUN, "S1", "K1", [("control", 100.0), ("existing", 110.0), ("control", 100.0)])
    [row] = rows(con, ind, RUN)
    assert json.loads(row["evidence"])["cohorts"][0]["rounds"] == 1 and not row["flagged"]


def test_occasional_gaps_among_many_clean_rounds_are_not_flagged(mem_warehouse):
    """Two rounds above the noise out of 20 of the window: not the majority of rounds (min_round_share)."""
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    for k in range(20):
        d = RUN - timedelta(days=k)
        price = 110.0 if k in (3, 11) else 100.0
        daily_round(con, d, "S1", "K1", [("control", 100.0), ("existing", price), ("control", 100.0)])
    [row] = rows(con, ind, RUN)
    cohort = json.loads(row["evidence"])["cohorts"][0]
    assert cohort["rounds"] == 20 and cohort["rounds_above"] == 2
    assert not row["flagged"]


def test_control_noise_still_sets_the_bar(mem_warehouse):
    """The control-vs-control rule is kept: with 10 % noise between two controls, a 9 % gap is within it."""
    con, ind = mem_warehouse, indicator("discrimination.paired_probe")
    for d in PROBE_DAYS:
        daily_round(con, d, "S1", "K1", [("control", 100.0), ("existing", 109.0), ("control", 100.0)])
        for j in range(5):
            daily_round(con, d, f"N{j}", "KN", [("control", 100.0), ("control", 110.0)], at="12:00")
    out = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    ev = json.loads(out["S1"]["evidence"])
    assert ev["noise_gap_quantile"] > 0.09 and not out["S1"]["flagged"]
