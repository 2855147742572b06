"""The two sources of issue 22: 产品质量监督抽查 results (`quality_sampling`) and 双随机 spot-check results
(`inspection_results`), each a yml in pipelines/ingest/sources/, loaded by the generic ingestion.

Fixture files are written here: GBK and UTF-8 (with and without BOM), dates in the four accepted forms,
and deliberately broken rows and files. Every test checks rows read = loaded + quarantined against the
tables themselves (tests.ingest.conftest.accounting).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import duckdb
import pytest

from pipelines.ingest import freshness, ingest_day
from pipelines.ingest.catalogue import load_source
from pipelines.serve.raw_line import raw_line
from tests.ingest.conftest import accounting, land, snapshot

D = dt.date(2026, 11, 5)
GOOD = "913101131334484310"  # valid check character (Shanghai register)
GOOD2 = "91210100MA0Y7K2P4R"  # valid (Shenyang)
BAD = "913101131334484311"  # wrong check character
FW_GOOD = "９１３１０１１３１３３４４８４３１０"  # full-width digits: folded, then valid

Q = "quality_sampling"
I = "inspection_results"  # noqa: E741 - the source's initial, as Q
Q_HEAD = ["抽查编号", "产品名称", "商品编号", "平台名称", "店铺编号", "被抽样单位名称", "被抽样单位统一社会信用代码",
          "标称生产者名称", "规格型号", "生产日期或批号", "抽查结果", "不合格项目", "公布日期", "抽查机关"]
I_HEAD = ["检查任务编号", "统一社会信用代码", "企业名称", "检查事项", "检查日期", "检查结果", "检查机关"]
AUTH = "辽宁省市场监督管理局"


def to_csv(header, rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue()


def sample(no, result="合格", date="2026-11-05", code=GOOD, failed="", sku="K1", shop="S1", product="电热水壶"):
    return [no, product, sku, "天猫", shop, "沈阳某电器有限公司", code, "某电器厂", "SH-1520", "2026-08-01", result,
            failed, date, AUTH]


def inspection(task, code=GOOD, result="未发现问题", date="2026-11-05"):
    return [task, code, "沈阳某电器有限公司", "企业公示信息情况检查", date, result, "沈阳市和平区市场监督管理局"]


QUALITY_ROWS = [
    sample("CC-1", "不合格", "2026/11/05", failed="耐热性；标志和说明"),
    sample("CC-2", "合格", "20261105", code=BAD, sku="", shop=""),
    sample("CC-3", "合格", "2026年11月5日", code=FW_GOOD),
    sample("CC-4", "合格", "2026-11-06"),                      # future: published after D
    sample("CC-5", "基本合格"),                                 # not a result the 抽查 publishes
    sample("", "合格"),                                         # no sampling number
    sample("CC-6", "合格", "2026-02-30"),                      # not a date
    sample("CC-7", "不合格", "2026-10-20", failed="电气强度"),   # history in a first drop
]
INSPECTION_ROWS = [
    inspection("SJ-1", date="2026/11/05"),
    inspection("SJ-1", code=GOOD2, result="发现问题已责令改正", date="20261105"),
    inspection("SJ-1", code=BAD, result="通过登记的住所(经营场所)无法联系", date="2026年11月5日"),
    inspection("SJ-2", date="2026-11-06"),                                       # future
    inspection("SJ-2", code=""),                                                 # no 统一社会信用代码
    inspection("SJ-3", result=""),                                               # no result
    inspection("SJ-3", code=GOOD2, result="未发现开展本次抽查涉及的经营活动", date="2026-10-12"),
]


def quarantine(con, source: str) -> dict[int, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT row_number, column_name, reason FROM meta.quarantine_rows WHERE source = $s", {"s": source}).fetchall()}


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_quality_sampling_loads_in_every_encoding_and_quarantines_bad_rows(con, home, encoding):
    land(home, Q, D, "抽查结果.csv", to_csv(Q_HEAD, QUALITY_ROWS), encoding=encoding)
    (e,) = ingest_day(con, home, D, [Q]).entries
    assert (e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined) == ("loaded", 8, 4, 4)
    assert e.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030"}[encoding]
    accounting(con)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT sampling_id, product_name, sku_id, shop_id, uscc, uscc_valid, result, failed_items, "
        "published_date, authority FROM staging.quality_sampling_current").fetchall()}
    assert set(got) == {"CC-1", "CC-2", "CC-3", "CC-7"}
    assert got["CC-1"] == ("电热水壶", "K1", "S1", GOOD, True, "不合格", "耐热性；标志和说明", D, AUTH)
    assert got["CC-2"][1:5] == (None, None, BAD, False)  # empty ids are NULL; a bad code is kept, flagged
    assert got["CC-3"][3:5] == (GOOD, True)  # full-width digits folded before the check
    assert [got[k][7] for k in ("CC-1", "CC-2", "CC-3", "CC-7")] == [D, D, D, dt.date(2026, 10, 20)]
    bad = quarantine(con, Q)
    assert set(bad) == {4, 5, 6, 7}
    assert bad[4][0] == "公布日期" and "after the business date 2026-11-05 (future)" in bad[4][1]
    assert bad[5] == ("抽查结果", '抽查结果: "基本合格" is not one of 合格, 不合格')
    assert bad[6] == ("抽查编号", "抽查编号: missing value")
    assert bad[7][0] == "公布日期" and "is not a date" in bad[7][1]
    # the landing file is the raw layer: every quarantined row keeps its line as it arrived
    assert con.execute("SELECT count(*) FROM meta.quarantine_rows WHERE file_name = $f AND raw_text IS NOT NULL",
                       {"f": "抽查结果.csv"}).fetchall()[0][0] == len(bad)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_inspection_results_load_with_history_per_task_and_company(con, home, encoding):
    land(home, I, D, "检查结果.csv", to_csv(I_HEAD, INSPECTION_ROWS), encoding=encoding)
    (e,) = ingest_day(con, home, D, [I]).entries
    assert (e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined) == ("loaded", 7, 4, 3)
    accounting(con)
    got = sorted(con.execute(
        "SELECT task_id, uscc, uscc_valid, inspection_date, result FROM staging.inspection_results_current"
    ).fetchall())
    assert got == sorted([
        ("SJ-1", GOOD, True, D, "未发现问题"),
        ("SJ-1", GOOD2, True, D, "发现问题已责令改正"),
        ("SJ-1", BAD, False, D, "通过登记的住所(经营场所)无法联系"),
        ("SJ-3", GOOD2, True, dt.date(2026, 10, 12), "未发现开展本次抽查涉及的经营活动"),
    ])
    bad = quarantine(con, I)
    assert {k: v[0] for k, v in bad.items()} == {4: "检查日期", 5: "统一社会信用代码", 6: "检查结果"}
    assert "(future)" in bad[4][1] and bad[5][1].endswith("missing value") and bad[6][1].endswith("missing value")


def test_a_later_drop_updates_the_record_and_keeps_history(con, home):
    land(home, I, D, "a.csv", to_csv(I_HEAD, [inspection("SJ-9", result="发现问题待后续处理")]))
    d2 = D + dt.timedelta(days=20)
    land(home, I, d2, "a.csv", to_csv(I_HEAD, [inspection("SJ-9", result="发现问题已责令改正", date="2026-11-25")]))
    land(home, Q, D, "q.csv", to_csv(Q_HEAD, [sample("CC-9", "不合格", failed="")]))
    land(home, Q, d2, "q.csv", to_csv(Q_HEAD, [sample("CC-9", "不合格", "2026-11-25", failed="能效等级")]))
    ingest_day(con, home, D)
    ingest_day(con, home, d2)
    accounting(con)
    assert con.execute("SELECT count(*) FROM staging.inspection_results").fetchall()[0][0] == 2
    assert con.execute("SELECT result, inspection_date FROM staging.inspection_results_current").fetchall() == [
        ("发现问题已责令改正", dt.date(2026, 11, 25))]
    assert con.execute("SELECT failed_items, _business_date FROM staging.quality_sampling_current").fetchall() == [
        ("能效等级", d2)]


@pytest.mark.parametrize("source, header, rows, dropped", [
    (Q, Q_HEAD, [sample("CC-1")], "抽查结果"),
    (Q, Q_HEAD, [sample("CC-1")], "公布日期"),
    (I, I_HEAD, [inspection("SJ-1")], "统一社会信用代码"),
    (I, I_HEAD, [inspection("SJ-1")], "检查结果"),
])
def test_a_file_without_a_required_column_is_rejected_naming_it(con, home, source, header, rows, dropped):
    k = header.index(dropped)
    land(home, source, D, "x.csv", to_csv([h for h in header if h != dropped], [r[:k] + r[k + 1:] for r in rows]))
    (e,) = ingest_day(con, home, D, [source]).entries
    assert e.outcome == "rejected" and (e.rows_loaded, e.rows_quarantined) == (0, 0)
    assert dropped in e.message
    accounting(con)
    assert con.execute(f"SELECT count(*) FROM staging.{source}").fetchall()[0][0] == 0


def test_headers_are_matched_by_name_not_position_and_extras_are_kept_raw(con, home):
    order = list(reversed(I_HEAD)) + ["备注"]
    row = dict(zip(I_HEAD, inspection("SJ-5", result="通过登记的住所（经营场所）无法联系"), strict=True))
    land(home, I, D, "r.csv", to_csv(order, [[row.get(h, "复查") for h in order]]), encoding="gbk")
    (e,) = ingest_day(con, home, D, [I]).entries
    assert (e.outcome, e.rows_loaded) == ("loaded", 1)
    assert con.execute("SELECT task_id, uscc, result FROM staging.inspection_results").fetchall() == [
        ("SJ-5", GOOD, "通过登记的住所（经营场所）无法联系")]
    assert raw_line(home, I, D, "r.csv", 1, con).text.endswith(",复查")  # the extra column stays in the landing file


def test_published_header_variants_map_to_the_same_columns(con, home):
    """Provincial 抽查 notices write 标称生产企业名称, 生产日期/批号 and 主要不合格项目 (with "/" for none); the
    公示系统 writes 检查实施机关."""
    q_head = [{"标称生产者名称": "标称生产企业名称", "生产日期或批号": "生产日期/批号",
               "不合格项目": "主要不合格项目"}.get(h, h) for h in Q_HEAD]
    i_head = [{"检查机关": "检查实施机关"}.get(h, h) for h in I_HEAD]
    rows = [sample("CC-1", "不合格", failed="耐热性"), sample("CC-2", failed="/", sku="/", shop="—")]
    land(home, Q, D, "q.csv", to_csv(q_head, rows), encoding="gbk")
    land(home, I, D, "i.csv", to_csv(i_head, [inspection("SJ-1")]))
    assert {e.outcome for e in ingest_day(con, home, D).entries} == {"loaded"}
    assert con.execute("SELECT producer_name, batch, failed_items, sku_id, shop_id FROM staging.quality_sampling "
                       "ORDER BY sampling_id").fetchall() == [
        ("某电器厂", "2026-08-01", "耐热性", "K1", "S1"),
        ("某电器厂", "2026-08-01", None, None, None)]  # "/" and "—", as notices write them, read as empty
    assert con.execute("SELECT authority FROM staging.inspection_results").fetchall() == [("沈阳市和平区市场监督管理局",)]


def test_loading_the_same_file_again_changes_nothing(con, home):
    land(home, Q, D, "q.csv", to_csv(Q_HEAD, QUALITY_ROWS), encoding="gbk")
    land(home, I, D, "i.csv", to_csv(I_HEAD, INSPECTION_ROWS), encoding="utf-8-sig")
    ingest_day(con, home, D)
    before = snapshot(con)
    again = ingest_day(con, home, D).entries  # same names, same content: skipped, no ledger row
    assert {e.outcome for e in again} == {"skipped_same_file"}
    assert snapshot(con) == before
    # the same export under another name: recorded as a duplicate, 0 rows, nothing else changes
    land(home, Q, D, "q_copy.csv", to_csv(Q_HEAD, QUALITY_ROWS), encoding="gbk")
    copies = [e for e in ingest_day(con, home, D).entries if e.file_name == "q_copy.csv"]
    assert [(e.outcome, e.rows_loaded) for e in copies] == [("duplicate", 0)]
    assert "duplicate of q.csv" in copies[0].message
    after = snapshot(con)
    assert {k: v for k, v in after.items() if k != "ledger"} == {k: v for k, v in before.items() if k != "ledger"}
    accounting(con)


def test_both_sources_are_on_events_so_a_day_without_them_is_not_a_gap(con, home):
    assert load_source(Q).expected == load_source(I).expected == "on_events"
    land(home, Q, D, "q.csv", to_csv(Q_HEAD, [sample("CC-1")]))
    land(home, I, D, "i.csv", to_csv(I_HEAD, [inspection("SJ-1")]))
    ingest_day(con, home, D)
    later = freshness.check(con, D + dt.timedelta(days=1), home)
    assert Q not in later.expected and I not in later.expected
    assert later.gaps == () and not later.nothing_delivered


def test_market_monitor_run_loads_both_sources_end_to_end(home):
    """`market-monitor run --date D` on a home whose landing holds only these two sources."""
    from pipelines.run.cli import main

    land(home, Q, D, "抽查结果.csv", to_csv(Q_HEAD, QUALITY_ROWS), encoding="gbk")
    land(home, I, D, "检查结果.csv", to_csv(I_HEAD, INSPECTION_ROWS), encoding="utf-8-sig")
    assert main(["run", "--home", str(home.root), "--date", D.isoformat(), "--quiet"]) == 0
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        ledger = con.execute("SELECT source, rows_read, rows_loaded, rows_quarantined, outcome "
                             "FROM meta.ingestion_ledger ORDER BY source").fetchall()
        gate = dict(con.execute(
            "SELECT suite, bool_and(success) FILTER (WHERE severity = 'blocking') FROM meta.quality_results "
            "WHERE business_date = $d AND suite IN ('staging.quality_sampling', 'staging.inspection_results') "
            "GROUP BY suite", {"d": D}).fetchall())
    finally:
        con.close()
    assert ledger == [(I, 7, 4, 3, "loaded"), (Q, 8, 4, 4, "loaded")]
    assert gate == {"staging.quality_sampling": True, "staging.inspection_results": True}
