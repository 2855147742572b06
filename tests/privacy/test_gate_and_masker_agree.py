"""The two false alarms from the independent provinces, reproduced through the real ingestion and the real
GX suites: an order number with eleven digits 14… in a complaint text (issue 19, hole 11) and review ids
with 14 + 9 digits in a rating-burst lead's evidence (issue 20) no longer block the day; personal data
still does."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import duckdb
import pytest

from expectations.gate import run_gate
from pipelines.core.home import Home
from pipelines.ingest import ingest_day
from tests.expectations.conftest import FLAG, GOOD, D, build_foundation_marts, insert_good, insert_mart_row
from warehouse.db import connect_writer
from warehouse.migrate import apply_migrations

# the gate's mobile regex before the rule set was shared: it took these ids for phone numbers
OLD_GATE_PHONE_REGEX = r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"
HEX_ORDER = "7c3e9a14123456789f0d2b8e1a4c6d9e"
REVIEW_IDS = ["a8d2c14987654321e0f9b7a6c5d4e3f2", "rv14523456789x", "0f3e14098765432abcdef0123456789a"]
PERSONAL_DATA = "expect_column_values_to_be_null"

C_HEAD = ["投诉编号", "登记日期", "被投诉人名称", "被投诉人统一社会信用代码", "平台名称", "店铺编号", "行政区划代码",
          "投诉类别", "投诉内容", "处理状态", "办结日期", "是否按时响应", "调解结果", "挽回经济损失（元）"]
DAY = dt.date(2024, 6, 3)


def _complaints_csv(texts: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(C_HEAD)
    for i, text in enumerate(texts, 1):
        w.writerow([f"T{i}", "2024-06-03", "上海某某电子商务有限公司", "913101131334484310", "某东", "S1", "310101",
                    "质量", text, "已办结", "2024-06-20", "是", "调解成功", "10"])
    return buf.getvalue()


def _failed(outcome, column: str) -> bool:
    return any(not r.success and r.column_name == column for r in outcome.results)


@pytest.fixture(params=["gx-pandas", "duckdb-sql"])
def engine(request, monkeypatch):
    """Both gate engines: pandas for small batches, DuckDB SQL above MARKET_MONITOR_GATE_SQL_ROWS."""
    monkeypatch.setenv("MARKET_MONITOR_GATE_SQL_ROWS", "1" if request.param == "duckdb-sql" else "1000000")
    return request.param


def test_an_order_number_in_a_complaint_is_masked_and_the_gate_accepts_it(tmp_path, engine):
    assert re.search(OLD_GATE_PHONE_REGEX, f"订单号{HEX_ORDER}")  # the case of hole 11
    home = Home(tmp_path / "home").ensure()
    folder = home.landing_dir("complaints_12315", DAY)
    folder.mkdir(parents=True)
    (folder / "c.csv").write_text(_complaints_csv([
        f"订单号{HEX_ORDER}，商品与描述不符",
        "订单号 OD202610300000371 未发货，请回电 138-1234-5678 或 (021)12345678",
        "身份证１１０１０１１９９００３０７４５１４，卡号 6222 0212 3456 7890",
    ]), encoding="utf-8")
    con = connect_writer(home.db_path)
    try:
        (entry,) = ingest_day(con, home, DAY).entries
        assert entry.rows_loaded == 3
        texts = [r[0] for r in con.execute(
            "SELECT complaint_text FROM staging.complaints_12315 ORDER BY complaint_no").fetchall()]
        assert not any(re.search(OLD_GATE_PHONE_REGEX, t) for t in texts)
        assert "OD202610300000371" in texts[1] and "[手机号]" in texts[1] and "[电话]" in texts[1]
        outcome = run_gate(con, DAY, ["staging.complaints_12315"])["staging.complaints_12315"]
        assert outcome.engine == engine
        assert not _failed(outcome, "_complaint_text_personal_data")
        # an unmasked number (a text that bypassed the masker) still blocks, naming the rule, not the text
        con.execute("UPDATE staging.complaints_12315 SET complaint_text = 'tel13812345678' WHERE complaint_no = 'T1'")
        outcome = run_gate(con, DAY, ["staging.complaints_12315"])["staging.complaints_12315"]
        assert _failed(outcome, "_complaint_text_personal_data")
        assert all("13812345678" not in (r.observed_value or "") + (r.details or "") for r in outcome.results)
    finally:
        con.close()


@pytest.fixture
def flags_warehouse():
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    for table in GOOD:
        insert_good(con, table)
    build_foundation_marts(con, D)
    con.execute("DELETE FROM work.mart__indicator_flags")
    yield con
    con.close()


def _burst_lead(evidence: dict) -> dict:
    return FLAG | {"flag_id": "'f-burst'", "indicator_id": "'integrity.rating_burst'", "family": "'integrity'",
                   "entity_type": "'shop'", "entity_id": "'S1'", "sku_id": "NULL",
                   "evidence": "'" + json.dumps(evidence, ensure_ascii=False).replace("'", "''") + "'"}


def test_a_rating_burst_lead_with_review_ids_like_phone_numbers_is_not_blocked(flags_warehouse, engine):
    evidence = {"reviews_today": 31, "five_star_reviews_today": 30, "modified_z": 19.6, "poisson_tail_p": 3e-28,
                "review_ids": REVIEW_IDS, "coreviewed_shops": ["TM100169"], "category": "服装鞋帽"}
    assert all(re.search(OLD_GATE_PHONE_REGEX, r) for r in REVIEW_IDS)  # issue 20: these blocked the day
    insert_mart_row(flags_warehouse, "mart__indicator_flags", FLAG)
    insert_mart_row(flags_warehouse, "mart__indicator_flags", _burst_lead(evidence))
    outcome = run_gate(flags_warehouse, D, ["mart.indicator_flags"])["mart.indicator_flags"]
    assert outcome.engine == engine and outcome.rows == 2
    assert not _failed(outcome, "_evidence_personal_data_fields")
    assert not _failed(outcome, "_evidence_invalid_identifier_fields")


@pytest.mark.parametrize("evidence,column", [
    ({"review_ids": REVIEW_IDS, "note": "买家电话 13812345678"}, "_evidence_personal_data_fields"),
    ({"review_ids": REVIEW_IDS, "top_buyer_id": "13812345678"}, "_evidence_invalid_identifier_fields"),
    ({"review_ids": [*REVIEW_IDS, "张三 zhangsan@example.com"]}, "_evidence_invalid_identifier_fields"),
])
def test_personal_data_in_a_lead_still_blocks(flags_warehouse, evidence, column):
    insert_mart_row(flags_warehouse, "mart__indicator_flags", _burst_lead(evidence))
    outcome = run_gate(flags_warehouse, D, ["mart.indicator_flags"])["mart.indicator_flags"]
    assert _failed(outcome, column)
    blocked = [r for r in outcome.blocking_failures if r.column_name == column]
    assert blocked and all("13812345678" not in (r.observed_value or "") + (r.details or "") for r in blocked)
