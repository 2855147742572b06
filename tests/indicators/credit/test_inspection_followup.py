"""一公开 of the draw (inspection_followup): the result is the first one dated on or after the draw, overdue after
followup_days, a draw while the check is open joins it, and only what was loaded by D is seen on D."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from indicators.credit import followup, tiers
from tests.indicators.credit.conftest import RUN, VERSIONS, rows
from tests.indicators.credit.given import shop, uscc

_seq = itertools.count(1)
NO_DRAW_TODAY = {"credit.scoring": {"ratio_a": 0, "ratio_b": 0, "ratio_c": 0, "ratio_d": 0}}
A, B, C = uscc(1), uscc(2), uscc(3)


def firms(con):
    for i, code in enumerate((A, B, C)):
        shop(con, f"S{i}", code)


def published_draw(con, day: date, *codes: str, tier: str = "A"):
    """A draw as the publish stage leaves it: rows in meta.inspection_draws, the partition in
    meta.published_partitions."""
    for k, code in enumerate(codes, start=1):
        con.execute("INSERT INTO meta.inspection_draws VALUES (?, ?, ?, '210100', ?, 'seed')", [day, code, tier, k])
    con.execute("INSERT OR REPLACE INTO meta.published_partitions VALUES ('inspection_sample', ?, ?, 'sha', 1, 'r', ?)",
                [day, len(codes), datetime(2026, 1, 1)])


def result(con, code, task, inspected: date, text="未发现问题", loaded: date | None = None):
    """One row of staging.inspection_results loaded on `loaded` (default: the inspection date)."""
    con.execute(
        "INSERT INTO staging.inspection_results (task_id, uscc, uscc_valid, company_name, inspection_item,"
        " inspection_date, result, authority, _business_date, _file_name, _sha256, _row)"
        " VALUES (?, ?, true, '某企业有限公司', '登记事项检查', ?, ?, '沈阳市市场监督管理局', ?, 'results.csv', 'sha', ?)",
        [task, code, inspected, text, loaded or inspected, next(_seq)])


def follow(con, run_date=RUN, overrides=None):
    overrides = {**NO_DRAW_TODAY, **(overrides or {})}
    for name in ("merchant_credit_tiers", "inspection_sample", "inspection_followup"):
        con.execute(f"DROP TABLE IF EXISTS work.mart__{name}")
    followup.build_inspection_followup(con, run_date, VERSIONS, overrides)
    return {r["uscc"]: r for r in rows(con, "SELECT * FROM work.mart__inspection_followup")}


def test_the_result_is_the_first_dated_on_or_after_the_draw(con):
    firms(con)
    drawn = RUN - timedelta(days=20)
    published_draw(con, drawn, A, B)
    result(con, A, "T-OLD", drawn - timedelta(days=5))                       # an earlier check: not this one
    result(con, A, "T-2", drawn + timedelta(days=3), "发现问题已责令改正")
    result(con, A, "T-3", drawn + timedelta(days=10))                        # later: the check is already closed
    result(con, B, "T-OLD", drawn - timedelta(days=1), "发现问题待后续处理")  # before B's draw only
    got = follow(con)
    assert set(got) == {A, B}                                                # C was never drawn
    a, b = got[A], got[B]
    assert (a["task_id"], a["result"], a["result_class"]) == ("T-2", "发现问题已责令改正", "fail")
    assert a["result_date"] == drawn + timedelta(days=3) and a["days_to_result"] == 3
    assert a["draw_dt"] == drawn and a["days_since_draw"] == 20 and not a["overdue"]
    assert a["authority"] == "沈阳市市场监督管理局" and a["company_name"] == "企业S0有限公司"
    assert (b["task_id"], b["result_class"], b["result_date"]) == (None, "pending", None)


@pytest.mark.parametrize("text, expected", [
    ("未发现问题", "pass"), ("发现问题待后续处理", "fail"), ("通过登记的住所（经营场所）无法联系", "unreachable"),
    ("通过登记的住所(经营场所)无法联系", "unreachable"), ("未发现开展本次抽查涉及的经营活动", "no_activity"),
    ("未按规定公示应当公示的信息", "fail"), ("不配合检查情节严重", "fail"), ("已注销", "other")])
def test_result_classes_follow_the_publication_wording(con, text, expected):
    firms(con)
    published_draw(con, RUN - timedelta(days=5), A)
    result(con, A, "T-1", RUN - timedelta(days=1), text)
    assert follow(con)[A]["result_class"] == expected


def test_overdue_after_followup_days_without_a_result(con):
    firms(con)
    drawn = RUN - timedelta(days=31)
    published_draw(con, drawn, A, B, C)
    result(con, C, "T-9", drawn + timedelta(days=31))                         # answered, but late for 30 days
    short = follow(con, overrides={"inspection": {"followup_days": 30}})
    assert short[A]["overdue"] and short[B]["overdue"] and not short[C]["overdue"]
    assert short[A]["due_date"] == drawn + timedelta(days=30) and short[A]["followup_days"] == 30
    assert short[C]["result_late"] and not short[A]["result_late"]
    exact = follow(con, overrides={"inspection": {"followup_days": 31}})   # 31 days since the draw: not yet
    assert not exact[A]["overdue"] and not exact[C]["result_late"]
    default = follow(con)
    assert default[A]["followup_days"] == 60 and not default[A]["overdue"]


def test_a_draw_while_the_check_is_open_joins_it_and_a_draw_after_the_result_opens_a_new_one(con):
    firms(con)
    day0 = RUN - timedelta(days=40)
    published_draw(con, day0, A, B)
    published_draw(con, day0 + timedelta(days=5), A, B)                       # still open for both
    result(con, A, "T-1", day0 + timedelta(days=7))
    result(con, B, "T-1", day0 + timedelta(days=7))
    published_draw(con, day0 + timedelta(days=9), B)                          # B: after its result
    got = follow(con, overrides={"inspection": {"followup_days": 30}})
    a, b = got[A], got[B]
    assert (a["draw_dt"], a["last_draw_dt"], a["draws_in_check"]) == (day0, day0 + timedelta(days=5), 2)
    assert a["task_id"] == "T-1" and a["days_to_result"] == 7 and not a["overdue"]
    assert (b["draw_dt"], b["draws_in_check"], b["result_class"]) == (day0 + timedelta(days=9), 1, "pending")
    assert b["days_since_draw"] == 31 and b["overdue"]                        # counted from its own draw


def test_only_published_draws_and_the_runs_own_draw_are_followed_up(con):
    firms(con)
    con.execute("INSERT INTO meta.inspection_draws VALUES (?, ?, 'A', '210100', 1, 'seed')",
                [RUN - timedelta(days=3), A])                                 # computed, never published
    assert follow(con) == {}
    # the run's own draw (every firm at ratio 1): followed up from day 0, pending
    everyone = {"credit.scoring": {"ratio_a": 1, "ratio_b": 1, "ratio_c": 1, "ratio_d": 1}}
    got = follow(con, overrides=everyone)
    assert set(got) == {A, B, C}
    assert {(r["draw_dt"], r["days_since_draw"], r["result_class"]) for r in got.values()} == {(RUN, 0, "pending")}
    drawn = rows(con, "SELECT uscc, seed FROM work.mart__inspection_sample")
    assert {r["uscc"]: r["seed"] for r in drawn} == {u: r["seed"] for u, r in got.items()}


def test_draws_older_than_the_horizon_are_not_followed_up(con):
    firms(con)
    published_draw(con, RUN - timedelta(days=400), A, C)
    published_draw(con, RUN - timedelta(days=100), B, C)   # C: drawn again while its check is still open
    got = follow(con)
    assert set(got) == {B, C}
    assert got[C]["draw_dt"] == RUN - timedelta(days=400) and got[C]["days_since_draw"] == 400 and got[C]["overdue"]
    assert set(follow(con, overrides={"inspection": {"horizon_days": 401}})) == {A, B, C}


def test_as_of_d_a_result_loaded_after_d_is_not_seen(con):
    firms(con)
    drawn = RUN - timedelta(days=10)
    published_draw(con, drawn, A)
    # inspected before D, but its file arrived the day after D
    result(con, A, "T-1", RUN - timedelta(days=2), "发现问题已责令改正", loaded=RUN + timedelta(days=1))
    on_d = follow(con)[A]
    assert (on_d["task_id"], on_d["result_class"]) == (None, "pending")
    later = follow(con, run_date=RUN + timedelta(days=1))[A]
    assert (later["task_id"], later["result_class"]) == ("T-1", "fail")
    # a correction of that result loaded later still leaves D as it was, and D + 2 sees the correction
    result(con, A, "T-1", RUN - timedelta(days=2), "未发现问题", loaded=RUN + timedelta(days=2))
    assert follow(con)[A]["result_class"] == "pending"
    assert follow(con, run_date=RUN + timedelta(days=1))[A]["result_class"] == "fail"
    assert follow(con, run_date=RUN + timedelta(days=2))[A]["result_class"] == "pass"


def test_a_result_dated_after_d_is_not_seen(con):
    firms(con)
    published_draw(con, RUN - timedelta(days=10), A)
    result(con, A, "T-1", RUN + timedelta(days=3), loaded=RUN)   # would be quarantined as future; never counted
    assert follow(con)[A]["result_class"] == "pending"


def test_config_errors_name_the_key():
    with pytest.raises(KeyError, match="followup_dayz"):
        followup.load_config({"inspection": {"followup_dayz": 30}})
    with pytest.raises(ValueError, match="followup_days"):
        followup.load_config({"inspection": {"followup_days": 0}})
    assert followup.load_config({"inspection": {"followup_days": 14}})["followup_days"] == 14
    assert followup.load_config()["followup_days"] == 60


def test_builder_draws_first_when_the_runs_draw_is_missing(con):
    firms(con)
    for name in ("merchant_credit_tiers", "inspection_sample"):
        con.execute(f"DROP TABLE IF EXISTS work.mart__{name}")
    followup.build_inspection_followup(con, RUN, VERSIONS, {})
    assert tiers._table_exists(con, "work", "mart__inspection_sample")
    drawn = {r["uscc"] for r in rows(con, "SELECT uscc FROM work.mart__inspection_sample")}
    assert drawn == {r["uscc"] for r in rows(con, "SELECT uscc FROM work.mart__inspection_followup")}
