"""Leads of the issue-22 families (competition, advertising, quality) in the bulletin: each family under its own
heading in the fixed order, each lead with a plain sentence filled from the evidence its SQL builds (no key
name, no missing value), computed by the real SQL on given rows."""

from __future__ import annotations

import re
from datetime import date, timedelta

from pipelines.serve.bulletin.explain import explain
from pipelines.serve.bulletin.sections import top_leads
from pipelines.serve.bulletin.wording import families_in_order, family_label
from tests.indicators.advertising.test_absolute_terms import title
from tests.indicators.competition.test_exclusive_dealing import D as D_EXIT
from tests.indicators.competition.test_exclusive_dealing import leave_jd, market
from tests.indicators.price._run import indicator, rows
from tests.indicators.quality.test_failed_sample_on_sale import PUBLISHED, days, offered, sample

SNAKE = re.compile(r"[a-z]+_[a-z_]+")


def flagged(con, indicator_id, run_date):
    ind = indicator(indicator_id)
    return [dict(r, indicator_id=ind.id, family=ind.family, policy_ref=ind.policy_ref, flag_id=f"{ind.id}:{k}")
            for k, r in enumerate(rows(con, ind, run_date)) if r["flagged"]]


def test_the_new_families_are_labelled_and_ordered_before_credit():
    order = families_in_order(set())
    assert order.index("integrity") < order.index("competition") < order.index("advertising") \
        < order.index("quality") < order.index("credit")
    assert family_label("competition")[0] != "competition" and family_label("quality")[1] == "Product quality"


def test_each_new_lead_reads_as_a_sentence(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    leave_jd(con, range(6))
    d = date(2026, 3, 6)
    title(con, d.isoformat(), "S1", "K1", "辽宝大米 最　佳口感")
    sample(con, "辽市监抽〔2026〕12号")
    offered(con, "S1", "6901234567892", "电热水壶", days(PUBLISHED + timedelta(days=1), d))
    flags = (flagged(con, "competition.exclusive_dealing", D_EXIT) + flagged(con, "advertising.absolute_terms", d)
             + flagged(con, "quality.failed_sample_on_sale", d))
    assert {f["family"] for f in flags} == {"competition", "advertising", "quality"}
    for f in flags:
        zh, en = explain(f)
        for text in (zh, en):
            assert "—" not in text and "{" not in text and not SNAKE.search(text), (f["indicator_id"], text)
    by_id = {f["indicator_id"]: explain(f) for f in flags}
    assert "天猫" in by_id["competition.exclusive_dealing"][0] and "京东" in by_id["competition.exclusive_dealing"][0]
    assert "Tmall" in by_id["competition.exclusive_dealing"][1]
    assert "最佳" in by_id["advertising.absolute_terms"][0]
    assert "辽市监抽〔2026〕12号" in by_id["quality.failed_sample_on_sale"][0]
    groups = top_leads(flags, {})
    assert [g["zh"] for g in groups] == [family_label(f)[0] for f in ("competition", "advertising", "quality")]
    assert all(row["sentence"] for g in groups for row in g["rows"])
