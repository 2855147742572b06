"""12315 complaints, 双公示 penalties (v1, v2), lists, registry + dim_merchant, USCC in SQL vs stdnum."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

import duckdb
import pytest
from stdnum.cn import uscc

from pipelines.ingest import ingest_day, sqlfuncs
from pipelines.serve.raw_line import raw_line
from tests.ingest.conftest import accounting, land, real

D = dt.date(2024, 6, 3)
GOOD = "913101131334484310"  # valid (Shanghai register)
FW_GOOD = "９１３１０１１３１３３４４８４３１０"
BAD = "913101131334484311"


def to_csv(header, rows, delim=","):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


C_HEAD = ["投诉编号", "登记日期", "被投诉人名称", "被投诉人统一社会信用代码", "平台名称", "店铺编号", "行政区划代码",
          "投诉类别", "投诉内容", "处理状态", "办结日期", "是否按时响应", "调解结果", "挽回经济损失（元）"]


def complaint(no, date="2024-06-03", code=GOOD, text="商品质量问题", loss="1,200.50", ontime="是"):
    return [no, date, "上海某某电子商务有限公司", code, "某东", "S1", "310101", "质量", text, "已办结", "2024-06-20",
            ontime, "调解成功", loss]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_complaints_12315_encodings_masking(con, home, encoding):
    rows = [
        complaint("T1", text="联系电话13800138000，身份证110101199003074514，邮箱a@b.cn"),
        complaint("T2", date="2024/06/02", code=FW_GOOD.lower() if False else FW_GOOD, ontime="否", loss="0"),
        complaint("T3", date="20240601", code=BAD, loss="很多"),
        complaint("T4", date="2024年6月9日"),
        complaint("T5", date="2024-02-30"),
        complaint("T6", text="多行\n内容 139-0013-9000", code=""),
    ]
    land(home, "complaints_12315", D, "c.csv", to_csv(C_HEAD, rows), encoding=encoding)
    (e,) = ingest_day(con, home, D).entries
    assert (e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined) == ("loaded", 6, 3, 3)
    assert e.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030"}[encoding]
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT complaint_no, registered_date, respondent_uscc, respondent_uscc_valid, responded_on_time, "
        "economic_loss_recovered_yuan, complaint_text FROM staging.complaints_12315").fetchall()}
    assert got["T1"][:5] == (D, GOOD, True, True, Decimal("1200.50"))
    assert got["T1"][5] == "联系电话[手机号]，身份证[身份证号]，邮箱[邮箱]"
    assert got["T2"][:5] == (dt.date(2024, 6, 2), GOOD, True, False, Decimal("0.00"))
    assert got["T6"][1:3] == (None, None) and got["T6"][5] == "多行\n内容 [手机号]"
    # the landing file, the raw record, keeps the text as it arrived; the warehouse holds it masked only
    (t1,) = con.execute("SELECT _file_name, _row FROM staging.complaints_12315 WHERE complaint_no = 'T1'").fetchall()
    assert "13800138000" in raw_line(home, "complaints_12315", D, t1[0], t1[1], con).text
    q = dict(con.execute("SELECT row_number, column_name || ' | ' || reason FROM meta.quarantine_rows").fetchall())
    assert q[3].startswith("挽回经济损失（元） | ") and "很多" in q[3]
    assert "future" in q[4] and q[4].startswith("登记日期")
    assert "not a date" in q[5]
    accounting(con)


P2_HEAD = ["行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)", "行政处罚决定书文号", "违法行为类型", "违法事实",
           "处罚依据", "处罚类别", "处罚内容", "罚款金额(万元)", "没收违法所得、没收非法财物的金额(万元)", "处罚决定日期", "处罚有效期",
           "公示截止期", "处罚机关", "处罚机关统一社会信用代码", "数据来源单位"]
P1_HEAD = ["行政处罚决定书文号", "处罚名称", "处罚类别1", "处罚类别2", "处罚事由", "处罚依据", "行政相对人名称", "统一社会信用代码",
           "法定代表人姓名", "处罚结果", "处罚决定日期", "处罚机关", "当前状态", "地方编码", "数据更新时间戳"]


def test_penalties_v1_v2_units_and_updates(con, home):
    v2 = [["上海甲公司", "法人及非法人组织", GOOD, "沪市监处罚〔2024〕1号", "价格违法", "虚构原价", "价格法", "罚款",
           "罚款2.5万元", "2.5", "0.1", "2024-06-01", "2025-06-01", "2027-06-01", "上海市市场监督管理局", "", "上海市"]]
    v1 = [["沪市监处罚〔2024〕2号", "价格违法", "罚款", "", "先涨后降", "价格法", "上海乙公司", BAD, "张三",
           "罚款人民币3,000元", "2024/06/02", "某区市场监督管理局", "正常", "310101", "2024-06-02 10:00:00"]]
    land(home, "penalties", D, "v2.csv", to_csv(P2_HEAD, v2), encoding="gbk")
    land(home, "penalties", D, "v1.csv", to_csv(P1_HEAD, v1, delim="\t"), encoding="gb18030")
    report = ingest_day(con, home, D)
    assert {e.file_name: (e.outcome, e.rows_loaded) for e in report.entries} == {"v1.csv": ("loaded", 1), "v2.csv": ("loaded", 1)}
    rows = con.execute("SELECT decision_no, header_version, party_uscc_valid, fine_amount_yuan, fine_amount_unit, "
                       "fine_amount_source, confiscated_amount_yuan FROM staging.penalties ORDER BY 1").fetchall()
    assert rows == [("沪市监处罚〔2024〕1号", "v2", True, Decimal("25000.00"), "万元", "罚款金额(万元)", Decimal("1000.00")),
                    ("沪市监处罚〔2024〕2号", "v1", False, Decimal("3000.00"), "元", "penalty_content", None)]
    # a later drop updates decision 1 (history kept; the current view shows the latest)
    d2 = D + dt.timedelta(days=1)
    v2b = [list(v2[0])]
    v2b[0][9] = "3"
    land(home, "penalties", d2, "v2.csv", to_csv(P2_HEAD, v2b))
    ingest_day(con, home, d2)
    assert con.execute("SELECT count(*) FROM staging.penalties WHERE decision_no = '沪市监处罚〔2024〕1号'").fetchall()[0][0] == 2
    assert con.execute("SELECT fine_amount_yuan FROM staging.penalties_current WHERE decision_no = '沪市监处罚〔2024〕1号'").fetchall() == [(Decimal("30000.00"),)]
    accounting(con)


def test_penalties_missing_required_column_named(con, home):
    head = [h for h in P2_HEAD if h != "行政处罚决定书文号"]
    land(home, "penalties", D, "bad.csv", to_csv(head, [["x"] * len(head)]))
    report = ingest_day(con, home, D)
    assert report.rejected and "行政处罚决定书文号" in report.rejected[0].message
    assert any("bad.csv" in p and "行政处罚决定书文号" in p for p in report.problems())
    accounting(con)


def test_lists_update_with_removal(con, home):
    ah = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "作出决定机关", "移出经营异常名录原因", "移出日期", "移出决定机关"]
    sh = ["统一社会信用代码", "企业名称", "列入原因", "列入日期", "作出决定机关", "移出日期"]
    land(home, "abnormal_operations", D, "a.csv", to_csv(ah, [[GOOD, "甲", "未按期公示年报", "2024-05-01", "某局", "", "", ""],
                                                            [BAD, "乙", "通过登记的住所无法联系", "2024-06-04", "某局", "", "", ""]]))
    land(home, "serious_violations", D, "s.csv", to_csv(sh, [[FW_GOOD, "甲", "虚构交易", "2024年6月1日", "某局", ""]]), encoding="gbk")
    ingest_day(con, home, D)
    d2 = D + dt.timedelta(days=1)
    land(home, "abnormal_operations", d2, "a.csv", to_csv(ah, [[GOOD, "甲", "未按期公示年报", "2024-05-01", "某局", "已补报", "2024-06-04", "某局"]]))
    ingest_day(con, home, d2)
    assert con.execute("SELECT count(*) FROM staging.abnormal_operations").fetchall()[0][0] == 2
    assert con.execute("SELECT removed_date FROM staging.abnormal_operations_current").fetchall() == [(dt.date(2024, 6, 4),)]
    assert con.execute("SELECT uscc, uscc_valid, listed_date FROM staging.serious_violations").fetchall() == [(GOOD, True, dt.date(2024, 6, 1))]
    assert "future" in con.execute("SELECT reason FROM meta.quarantine_rows WHERE source = 'abnormal_operations'").fetchall()[0][0]
    accounting(con)


def test_registry_shanghai_real_uscc_and_dim_merchant(con, home, tmp_path):
    src = real("cn_enterprise_registration_uscc", "1989_shanghai.csv")
    rel = duckdb.connect()
    rel.execute("SET preserve_insertion_order = true")
    out = home.landing_dir("registry", D)
    out.mkdir(parents=True)
    rel.execute(
        "COPY (SELECT 'register' AS platform, 'SH' || row_number() OVER () AS shop_id, 企业名称 AS shop_name, "
        "统一社会信用代码, 企业名称, substr(统一社会信用代码, 3, 6) AS 行政区划代码, 注册日期 AS 成立日期, 注册资金 "
        "FROM read_csv($p, all_varchar=true)) TO $o (HEADER)",
        {"p": str(src), "o": str(out / "shanghai.csv")},
    )
    land(home, "registry", D, "platform.csv", "platform,shop_id,shop_name,统一社会信用代码,企业名称,行政区划代码,成立日期\n"
         f"jd,S1,甲旗舰店,{FW_GOOD},甲,310113,2015-01-01\n")
    report = ingest_day(con, home, D)
    assert {e.file_name: (e.rows_read, e.rows_loaded) for e in report.entries} == {"shanghai.csv": (1957, 1957), "platform.csv": (1, 1)}
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE uscc_valid) FROM staging.registry WHERE _file_name = 'shanghai.csv'").fetchall() == [(1957, 1957)]
    # cross-check the SQL check against python-stdnum on the real codes
    codes = con.execute("SELECT uscc FROM staging.registry").fetchall()
    assert all(uscc.is_valid(c) for (c,) in codes)
    assert con.execute("SELECT platform, shop_id, uscc, uscc_valid, company_name, region_code, established_date "
                       "FROM staging.dim_merchant WHERE shop_id = 'S1'").fetchall() == [
        ("jd", "S1", GOOD, True, "甲", "310113", dt.date(2015, 1, 1))]
    # a later registry row for S1 wins in the dimension
    d2 = D + dt.timedelta(days=1)
    land(home, "registry", d2, "platform.csv", "platform,shop_id,shop_name,统一社会信用代码,企业名称,行政区划代码,成立日期\n"
         f"jd,S1,甲旗舰店二,{GOOD},甲,310113,2015-01-01\n")
    ingest_day(con, home, d2)
    assert con.execute("SELECT shop_name FROM staging.dim_merchant WHERE shop_id = 'S1'").fetchall() == [("甲旗舰店二",)]
    assert con.execute("SELECT count(*) FROM staging.dim_merchant").fetchall()[0][0] == 1958
    accounting(con)


def test_uscc_sql_matches_stdnum():
    con = duckdb.connect()
    sqlfuncs.register(con)
    rng = random.Random(7)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    codes = []
    for _ in range(3000):
        body = "".join(rng.choice("0123456789") for _ in range(8)) + "".join(rng.choice(alphabet) for _ in range(9))
        good = body + uscc.calc_check_digit(body)
        codes += [good, body + rng.choice(alphabet), good.lower(), good[:17], "Y1" + good[2:], good.replace("0", "O")]
    codes += ["", "91350203M0001QAY9B", FW_GOOD, "9131 0113 1334 4843 10", "91310113-133448431-0"]
    con.execute("CREATE TABLE c AS SELECT unnest($c) AS code", {"c": codes})
    got = con.execute("SELECT code, mm_uscc_valid(mm_uscc_norm(code)) FROM c").fetchall()
    for code, valid in got:
        import unicodedata
        folded = unicodedata.normalize("NFKC", code).upper()
        expected = uscc.is_valid(folded) if folded.strip() else None
        assert valid == expected, code
