"""The leads of competition.exclusive_dealing, advertising.absolute_terms and quality.failed_sample_on_sale pass the
lead list's gate (mart.indicator_flags): their families are known, their evidence is JSON whose id fields are ids
and whose free text (a listing title with a phone number in it, 不合格项目, a Chinese 抽查编号) holds no personal
data, and their windows end by D. Built by the real SQL from given rows, then validated by the real suite."""

from __future__ import annotations

from datetime import date, timedelta

from expectations.gate import run_gate
from expectations.suites import BLOCKING
from indicators.compute import build_indicator_flags, run_indicator
from indicators.registry import load_catalogue
from tests.indicators.advertising.test_absolute_terms import title
from tests.indicators.competition.test_exclusive_dealing import leave_jd, market
from tests.indicators.given import merchant
from tests.indicators.quality.test_failed_sample_on_sale import PUBLISHED, SAMPLED, days, offered, sample

D = date(2026, 4, 5)
NEW = ("competition.exclusive_dealing", "advertising.absolute_terms", "quality.failed_sample_on_sale")


def test_the_new_families_leads_pass_the_lead_list_gate(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    leave_jd(con, range(6))                                    # 二选一 toward tmall in March
    merchant(con, "S1", uscc=SAMPLED)
    title(con, D.isoformat(), "S1", "K1", "最佳 面霜 咨询13812345678")  # a phone number in the title
    sample(con, "辽市监抽〔2026〕12号", published=D - timedelta(days=3), failed="耐热性 联系人 13912345678")
    offered(con, "S1", "6901234567892", "电热水壶", days(PUBLISHED, D))
    catalogue = [i for i in load_catalogue() if i.id in NEW]
    for ind in catalogue:
        run_indicator(con, ind, D, {})
    build_indicator_flags(con, catalogue, D, {"pipeline_version": "test", "schema_version": 1})
    found = con.execute("SELECT family, count(*) FROM work.mart__indicator_flags GROUP BY 1 ORDER BY 1").fetchall()
    assert found == [("advertising", 1), ("competition", 1), ("quality", 1)]
    outcome = run_gate(con, D, ["mart.indicator_flags"])["mart.indicator_flags"]
    failed = [(r.expectation, r.column_name, r.observed_value) for r in outcome.results
              if not r.success and r.severity == BLOCKING]
    assert failed == []
    assert outcome.rows == 3
