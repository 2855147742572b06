"""Given/expect tests of merchant_credit_tiers: hard rules, factor contributions, recency decay, history."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest

from indicators.credit import tiers
from tests.indicators.credit.conftest import RUN, VERSIONS, build_tiers, rows
from tests.indicators.credit.given import abnormal, flag, penalty, serious, shop, uscc

CFG = tiers.load_config()
A, B, C, D = uscc(1), uscc(2), uscc(3), uscc(4)


def decay(days):
    return 0.5 ** (days / CFG["penalty_half_life_days"])


def fine_points(wan):
    large = CFG["large_fine_points"] if wan >= CFG["large_fine_wan"] else 0
    return CFG["fine_log_points"] * math.log2(1 + wan) + large


def test_hard_rules_apply_before_the_score(con):
    for i, code in enumerate((A, B, C, D), start=1):
        shop(con, f"S{i}", code)
    serious(con, A, "2025-01-10")
    abnormal(con, B, "2025-01-10")
    abnormal(con, C, "2025-01-10", removed="2026-06-01", loaded="2026-06-01")  # removed: no hard rule
    serious(con, D, "2024-01-10", removed="2026-01-01", loaded="2026-01-01")
    # with the list points set to zero only the hard rules can lift the tiers
    zero = {"credit.scoring": {"serious_listed_points": 0, "abnormal_listed_points": 0}}
    got = build_tiers(con, overrides=zero)
    assert (got[A]["tier"], got[A]["score_tier"], got[A]["hard_rule"]) == ("D", "A", "serious_violation")
    assert got[A]["tier_basis"] == "hard_rule:serious_violation"
    assert (got[B]["tier"], got[B]["score_tier"], got[B]["hard_rule"]) == ("C", "A", "abnormal_operations")
    assert got[C]["hard_rule"] is None and got[C]["abnormal_removed"] and got[C]["tier"] == "B"
    assert got[C]["contrib_abnormal"] == CFG["abnormal_removed_points"]
    assert got[D]["hard_rule"] is None and got[D]["serious_removed"] and got[D]["tier"] == "C"


def test_abnormal_listing_is_at_least_c_but_the_score_may_go_higher(con):
    shop(con, "S1", A)
    abnormal(con, A, "2025-01-10")
    penalty(con, A, "2026-11-01", fine_wan=50)
    got = build_tiers(con)[A]
    assert got["score"] >= CFG["cutoff_d"] and got["tier"] == "D" and got["tier_basis"] == "score"


def test_penalty_contributions_by_category_and_fine(con):
    shop(con, "S1", A)
    shop(con, "S2", B)
    shop(con, "S3", C)
    penalty(con, A, "2026-11-10", fine_wan=3)                       # 罚款, decided on the run date
    penalty(con, B, "2026-11-10", fine_wan=None, category="警告")
    penalty(con, C, "2026-11-10", fine_wan=12, category="罚款|吊销营业执照")  # worst category counts
    got = build_tiers(con)
    cat = CFG["penalty_category_points"]
    assert got[A]["contrib_penalties"] == pytest.approx(cat["罚款"], abs=0.01)
    assert got[A]["contrib_fines"] == pytest.approx(fine_points(3), abs=0.01)
    assert got[A]["tier"] == "B" and got[A]["penalties_3y"] == 1 and got[A]["fines_3y_yuan"] == 30000
    assert got[B]["contrib_penalties"] == pytest.approx(cat["警告"], abs=0.01) and got[B]["contrib_fines"] == 0
    assert got[C]["contrib_penalties"] == pytest.approx(cat["吊销"], abs=0.01)
    assert got[C]["contrib_fines"] == pytest.approx(fine_points(12), abs=0.01)  # 较大数额罚款 points included
    assert got[C]["tier"] == "D"
    assert got[C]["top_factor"] == ("penalties" if cat["吊销"] >= fine_points(12) else "fines")
    for r in got.values():
        parts = [r[c] for c in ("contrib_penalties", "contrib_fines", "contrib_abnormal", "contrib_serious",
                                "contrib_complaints", "contrib_flags")]
        assert r["score"] == pytest.approx(sum(parts), abs=0.011)
        assert json.loads(r["evidence"])["penalty_decisions"]


def test_recency_decay_and_the_three_year_window(con):
    shop(con, "S1", A)
    shop(con, "S2", B)
    shop(con, "S3", C)
    penalty(con, A, RUN - timedelta(days=30), fine_wan=1)
    penalty(con, B, RUN - timedelta(days=730), fine_wan=1)
    penalty(con, C, RUN - timedelta(days=CFG["penalty_lookback_days"]), fine_wan=50)  # just outside 3 years
    got = build_tiers(con)
    base = CFG["penalty_category_points"]["罚款"] + fine_points(1)
    assert got[A]["contrib_penalties"] + got[A]["contrib_fines"] == pytest.approx(base * decay(30), abs=0.02)
    assert got[B]["contrib_penalties"] + got[B]["contrib_fines"] == pytest.approx(base * decay(730), abs=0.02)
    assert got[B]["score"] < got[A]["score"]
    assert got[C]["penalties_3y"] == 0 and got[C]["tier"] == "A"


def test_only_rows_known_on_the_run_date_count(con):
    shop(con, "S1", A)
    penalty(con, A, "2026-11-11", fine_wan=50)                          # decided after the run date
    penalty(con, A, "2026-10-01", fine_wan=50, loaded="2026-11-12")      # loaded after the run date
    abnormal(con, A, "2026-10-01", loaded="2026-11-12")
    got = build_tiers(con)[A]
    assert got["tier"] == "A" and got["score"] == 0


def test_a_revoked_decision_no_longer_counts(con):
    shop(con, "S1", A)
    no = penalty(con, A, "2026-06-01", fine_wan=50, loaded="2026-06-01")
    penalty(con, A, "2026-06-01", fine_wan=50, decision_no=no, status="已撤销", loaded="2026-09-01")
    assert build_tiers(con)[A]["penalties_3y"] == 0
    assert build_tiers(con, run_date=date(2026, 8, 1))[A]["penalties_3y"] == 1  # before the update arrived


def test_flag_factor_counts_distinct_indicators_and_caps_repeats(con):
    shop(con, "S1", A)
    shop(con, "S2", B)
    shop(con, "S3", C)
    pts = CFG["flag_indicator_points"]
    for k in range(1, 21):  # one indicator, many leads on earlier runs: stays B
        flag(con, RUN - timedelta(days=k), "price.spike_mad", shop_id="S1", severity="high")
    flag(con, "2026-10-01", "price.cn_reference_7d", shop_id="S2", severity="medium")
    flag(con, "2026-10-02", "integrity.rating_burst", code=B, severity="medium")
    flag(con, "2025-10-01", "integrity.rating_burst", shop_id="S3", severity="high")  # older than 12 months
    got = build_tiers(con)
    assert got[A]["contrib_flags"] == pts["high"] + CFG["flag_repeat_cap"] and got[A]["tier"] == "B"
    assert got[A]["flags_12m"] == 20 and got[A]["flagged_indicators"] == 1
    assert got[B]["contrib_flags"] == 2 * pts["medium"] and got[B]["tier"] == "C"
    assert got[C]["contrib_flags"] == 0 and got[C]["tier"] == "A"


def test_complaint_posterior_factor_is_capped(con):
    shop(con, "S1", A)
    shop(con, "S2", B)
    flag(con, "2026-11-01", "complaints.rate_posterior", shop_id="S1", value=0.012, threshold=0.01)
    flag(con, "2026-11-01", "complaints.rate_posterior", shop_id="S2", value=0.09, threshold=0.01)
    got = build_tiers(con)
    assert got[A]["contrib_complaints"] == pytest.approx(CFG["complaint_points"] * 1.2, abs=0.01)
    assert got[A]["complaint_ratio"] == pytest.approx(1.2)
    assert got[B]["contrib_complaints"] == pytest.approx(CFG["complaint_points"] * CFG["complaint_ratio_cap"], abs=0.01)
    assert got[A]["contrib_flags"] == 0  # the posterior is its own factor, not counted twice


def test_tier_history_shows_the_change_and_its_cause(con):
    shop(con, "S1", A)
    shop(con, "S2", B)
    day1, day2 = date(2026, 11, 9), date(2026, 11, 10)
    first = build_tiers(con, run_date=day1)
    assert first[A]["previous_tier"] is None and first[A]["changed_factors"] is None
    tiers.record_published(con, "merchant_credit_tiers", day1)  # what publish does once day 1 is published
    penalty(con, A, "2026-11-10", fine_wan=20)
    second = build_tiers(con, run_date=day2)
    a = second[A]
    assert (a["previous_tier"], a["tier"], a["tier_changed"], a["previous_dt"]) == ("A", "C", True, day1)
    changed = json.loads(a["changed_factors"])
    assert set(changed) == {"penalties", "fines"}
    assert changed["fines"][0] == 0 and changed["fines"][1] == pytest.approx(a["contrib_fines"])
    assert not second[B]["tier_changed"] and json.loads(second[B]["changed_factors"]) == {}
    # a rerun of day 1 gives day 1's answer again (reads only what was known then)
    again = build_tiers(con, run_date=day1)
    assert again[A]["tier"] == "A" and again[A]["previous_tier"] is None


def test_config_overrides_are_checked():
    with pytest.raises(KeyError):
        tiers.load_config({"credit.scoring": {"no_such_weight": 1}})
    with pytest.raises(ValueError):
        tiers.load_config({"credit.scoring": {"ratio_a": 0.5, "ratio_b": 0.1}})
    with pytest.raises(ValueError):
        tiers.load_config({"credit.scoring": {"cutoff_c": 5}})
    merged = tiers.load_config({"credit.scoring": {"penalty_category_points": {"警告": 1}}})
    assert merged["penalty_category_points"]["警告"] == 1 and merged["penalty_category_points"]["罚款"] == 18


def test_only_published_tiers_and_flags_are_history(con):
    """Compute writes no history: tiers and leads of a day that was not published (blocked at the gate)
    are neither a later day's previous tier nor its leads; the run's own candidate leads do count."""
    shop(con, "S1", A)
    day1, day2 = date(2026, 11, 9), date(2026, 11, 10)
    penalty(con, A, "2026-11-01", fine_wan=20)
    build_tiers(con, run_date=day1)  # computed, never published
    con.execute("CREATE OR REPLACE TABLE work.mart__indicator_flags AS "
                "SELECT $d::DATE AS dt, 'f1' AS flag_id, 'price.spike_mad' AS indicator_id, 'price' AS family, "
                "'S1' AS entity_id, 'tmall' AS platform, 'S1' AS shop_id, NULL::VARCHAR AS uscc, "
                "$d::DATE AS window_start, $d::DATE AS window_end, 3.0 AS value, 1.0 AS threshold, "
                "'high' AS severity", {"d": day1})
    assert rows(con, "SELECT * FROM meta.credit_tier_history") == []
    assert rows(con, "SELECT * FROM meta.credit_flag_history") == []
    tiers.build_merchant_credit_tiers(con, day1, VERSIONS)
    [with_lead] = rows(con, "SELECT * FROM work.mart__merchant_credit_tiers")
    assert with_lead["flags_12m"] == 1  # the run's candidate lead counts for its own day
    second = build_tiers(con, run_date=day2)  # day 1's candidates (tiers and the lead) were never published
    assert second[A]["previous_tier"] is None and second[A]["flags_12m"] == 0
    tiers.record_published(con, "indicator_flags", day1)
    tiers.build_merchant_credit_tiers(con, day1, VERSIONS)
    tiers.record_published(con, "merchant_credit_tiers", day1)
    con.execute("DELETE FROM work.mart__indicator_flags")
    second = build_tiers(con, run_date=day2)
    assert second[A]["previous_tier"] is not None and second[A]["previous_dt"] == day1
    assert second[A]["flags_12m"] == 1  # published on day 1, it counts on day 2
