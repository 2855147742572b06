"""The 双随机 spot-check results as a credit-tier factor (contrib_inspections): given results, expect points."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import pytest

from indicators.credit import tiers
from tests.indicators.credit.conftest import RUN, build_tiers
from tests.indicators.credit.given import abnormal, shop, uscc

CFG = tiers.load_config()
_seq = itertools.count(1)
CONTRIBUTIONS = ("contrib_penalties", "contrib_fines", "contrib_abnormal", "contrib_serious", "contrib_complaints",
                 "contrib_flags", "contrib_inspections")


def result(con, code, task, inspected: date, text, loaded: date | None = None):
    con.execute(
        "INSERT INTO staging.inspection_results (task_id, uscc, uscc_valid, company_name, inspection_date, result,"
        " _business_date, _file_name, _sha256, _row) VALUES (?, ?, true, '某企业', ?, ?, ?, 'results.csv', 'sha', ?)",
        [task, code, inspected, text, loaded or inspected, next(_seq)])


def decay(days):
    return 0.5 ** (days / CFG["penalty_half_life_days"])


def entities(con, n):
    codes = [uscc(i + 1) for i in range(n)]
    for i, code in enumerate(codes):
        shop(con, f"S{i}", code)
    return codes


def test_failing_and_unreachable_results_score_and_the_others_do_not(con):
    a, b, c, d, e = entities(con, 5)
    result(con, a, "T1", RUN - timedelta(days=10), "发现问题已责令改正")
    result(con, b, "T1", RUN - timedelta(days=10), "通过登记的住所（经营场所）无法联系")
    result(con, c, "T1", RUN - timedelta(days=10), "未发现问题")
    result(con, d, "T1", RUN - timedelta(days=10), "未发现开展本次抽查涉及的经营活动")
    got = build_tiers(con)
    assert got[a]["contrib_inspections"] == pytest.approx(CFG["inspection_fail_points"] * decay(10), abs=0.01)
    assert got[b]["contrib_inspections"] == pytest.approx(CFG["inspection_unreachable_points"] * decay(10), abs=0.01)
    assert got[c]["contrib_inspections"] == 0 and got[d]["contrib_inspections"] == 0
    assert got[e]["contrib_inspections"] == 0 and got[e]["last_inspection_date"] is None
    assert (got[a]["inspection_fails_3y"], got[a]["inspection_unreachable_3y"]) == (1, 0)
    assert (got[b]["inspection_fails_3y"], got[b]["inspection_unreachable_3y"]) == (0, 1)
    assert got[c]["last_inspection_date"] == RUN - timedelta(days=10)
    # the contribution is shown, it is part of the score, it can be the top factor and it moves the tier
    for r in got.values():
        assert r["score"] == pytest.approx(sum(r[k] for k in CONTRIBUTIONS), abs=0.02)
    assert got[a]["top_factor"] == "inspections" and got[b]["top_factor"] == "inspections"
    assert got[a]["tier"] == "B" and got[b]["tier"] == "B" and got[c]["tier"] == "A"
    assert json.loads(got[a]["evidence"])["inspection_tasks"] == ["T1"]
    assert json.loads(got[c]["evidence"])["inspection_tasks"] == []


def test_results_decay_add_up_and_leave_after_the_lookback(con):
    a, b = entities(con, 2)
    result(con, a, "T1", RUN - timedelta(days=400), "发现问题待后续处理")
    result(con, a, "T2", RUN - timedelta(days=30), "发现问题已责令改正")
    result(con, b, "T1", RUN - timedelta(days=CFG["inspection_lookback_days"] + 1), "发现问题已责令改正")
    got = build_tiers(con)
    points = CFG["inspection_fail_points"]
    assert got[a]["contrib_inspections"] == pytest.approx(points * (decay(400) + decay(30)), abs=0.02)
    assert got[a]["inspection_fails_3y"] == 2
    assert json.loads(got[a]["evidence"])["inspection_tasks"] == ["T2", "T1"]  # newest first
    assert got[b]["contrib_inspections"] == 0 and got[b]["inspection_fails_3y"] == 0


def test_as_of_d_a_result_loaded_later_does_not_count(con):
    (a,) = entities(con, 1)
    result(con, a, "T1", RUN - timedelta(days=3), "发现问题已责令改正", loaded=RUN + timedelta(days=1))
    assert build_tiers(con)[a]["contrib_inspections"] == 0
    assert build_tiers(con, RUN + timedelta(days=1))[a]["contrib_inspections"] > 0


def test_the_points_are_configurable(con):
    (a,) = entities(con, 1)
    result(con, a, "T1", RUN, "发现问题已责令改正")
    got = build_tiers(con, overrides={"credit.scoring": {"inspection_fail_points": 40}})
    assert got[a]["contrib_inspections"] == pytest.approx(40, abs=0.01) and got[a]["tier"] == "C"


def test_the_change_since_the_previous_tier_names_the_factor(con):
    a, b = entities(con, 2)
    abnormal(con, b, "2026-01-05")
    day1 = RUN - timedelta(days=1)
    build_tiers(con, day1)
    tiers.record_published(con, "merchant_credit_tiers", day1)
    result(con, a, "T1", RUN, "通过登记的住所（经营场所）无法联系")
    got = build_tiers(con)
    changed = json.loads(got[a]["changed_factors"])
    assert changed == {"inspections": [0, pytest.approx(CFG["inspection_unreachable_points"], abs=0.01)]}
    assert got[a]["previous_tier"] == "A" and got[a]["tier"] == "B" and got[a]["tier_changed"]
    assert json.loads(got[b]["changed_factors"]) == {}                  # nothing moved for B
    # the next day, the previous contribution comes back from the history (score minus the other factors;
    # the history keeps no column for it), and the day's decay moves it a little
    tiers.record_published(con, "merchant_credit_tiers", RUN)
    nxt = build_tiers(con, RUN + timedelta(days=1))
    prev, cur = json.loads(nxt[a]["changed_factors"])["inspections"]
    assert prev == pytest.approx(got[a]["contrib_inspections"], abs=0.01)
    assert cur == pytest.approx(CFG["inspection_unreachable_points"] * decay(1), abs=0.01) and cur < prev
