"""Synthetic province generator (issue 4) and evaluate()."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from stdnum.cn import ric, uscc

from pipelines.generate import (
    SAMPLE_DAYS,
    SAMPLE_DIR,
    SAMPLE_SCALE,
    SAMPLE_SEED,
    SAMPLE_START,
    generate,
    write_sample,
)
from pipelines.generate.evaluate import INDICATOR_IDS, evaluate, format_evaluation
from tests.generate.marts import write_part

START = dt.date(2026, 10, 29)
DAYS = 6
SCALE = 0.02

# docs/CONTRACT.md §3 headers, copied here on purpose (the test must not read them from the generator)
CONTRACT_HEADERS = {
    "price_observations.csv": "observation_id, observed_at, platform, shop_id, sku_id, variant, product_name, "
    "category, region_code, price_type, price, currency, reference_price, promo_start, basis_disclosed, "
    "account_cohort, device, condition, url",
    "complaints_12315.csv": "投诉编号, 登记日期, 被投诉人名称, 被投诉人统一社会信用代码, 平台名称, 店铺编号, 行政区划代码, "
    "投诉类别, 投诉内容, 处理状态, 办结日期, 是否按时响应, 调解结果, 挽回经济损失(元)",
    "abnormal_operations.csv": "统一社会信用代码, 企业名称, 列入经营异常名录原因, 列入日期, 作出决定机关, "
    "移出经营异常名录原因, 移出日期, 移出决定机关",
    "serious_violations.csv": "统一社会信用代码, 企业名称, 列入原因, 列入日期, 作出决定机关, 移出日期",
    "registry.csv": "platform, shop_id, shop_name, 统一社会信用代码, 企业名称, 行政区划代码, 成立日期",
    "olist_orders_dataset.csv": "order_id, customer_id, order_status, order_purchase_timestamp, order_approved_at, "
    "order_delivered_carrier_date, order_delivered_customer_date, order_estimated_delivery_date",
    "olist_order_items_dataset.csv": "order_id, order_item_id, product_id, seller_id, shipping_limit_date, price, "
    "freight_value",
    "olist_order_reviews_dataset.csv": "review_id, order_id, review_score, review_comment_title, "
    "review_comment_message, review_creation_date, review_answer_timestamp",
    "olist_order_payments_dataset.csv": "order_id, payment_sequential, payment_type, payment_installments, "
    "payment_value",
    "olist_customers_dataset.csv": "customer_id, customer_unique_id, customer_zip_code_prefix, customer_city, "
    "customer_state",
    "olist_sellers_dataset.csv": "seller_id, seller_zip_code_prefix, seller_city, seller_state",
    "olist_products_dataset.csv": "product_id, product_category_name, product_name_lenght, "
    "product_description_lenght, product_photos_qty, product_weight_g, product_length_cm, product_height_cm, "
    "product_width_cm",
    "product_category_name_translation.csv": "product_category_name, product_category_name_english",
    "quality_sampling.csv": "抽查编号, 产品名称, 商品编号, 平台名称, 店铺编号, 被抽样单位名称, 被抽样单位统一社会信用代码, "
    "标称生产者名称, 规格型号, 生产日期或批号, 抽查结果, 不合格项目, 公布日期, 抽查机关",
    "inspection_results.csv": "检查任务编号, 统一社会信用代码, 企业名称, 检查事项, 检查日期, 检查结果, 检查机关",
}
PENALTY_V2 = ("行政相对人名称, 行政相对人类别, 行政相对人代码_1(统一社会信用代码), 行政处罚决定书文号, 违法行为类型, 违法事实, "
              "处罚依据, 处罚类别, 处罚内容, 罚款金额(万元), 没收违法所得、没收非法财物的金额(万元), 处罚决定日期, 处罚有效期, "
              "公示截止期, 处罚机关, 处罚机关统一社会信用代码, 数据来源单位")
PENALTY_V1 = ("行政处罚决定书文号, 处罚名称, 处罚类别1, 处罚类别2, 处罚事由, 处罚依据, 行政相对人名称, 统一社会信用代码, "
              "法定代表人姓名, 处罚结果, 处罚决定日期, 处罚机关, 当前状态, 地方编码, 数据更新时间戳")


def _cols(spec: str) -> list[str]:
    return [c.strip() for c in spec.split(",")] if "、" not in spec else _split_keep(spec)


def _split_keep(spec):
    return [c.strip() for c in spec.split(", ")]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            data = zf.read(zf.namelist()[0])
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gbk")


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    out = tmp_path_factory.mktemp("prov_a")
    summary = generate(out, START, DAYS, scale=SCALE)
    return out, summary


def test_determinism(province, tmp_path):
    out, _ = province
    again = tmp_path / "b"
    generate(again, START, DAYS, scale=SCALE)
    assert _tree_hashes(out) == _tree_hashes(again)
    other = tmp_path / "c"
    generate(other, START, DAYS, scale=SCALE, seed=7)
    ha, hc = _tree_hashes(out), _tree_hashes(other)
    assert ha != hc
    assert ha["ground_truth.csv"] != hc["ground_truth.csv"]


def test_headers_match_contract(province):
    out, _ = province
    seen = set()
    for f in (out / "landing").rglob("*"):
        if not f.is_file():
            continue
        name = f.name if f.suffix != ".zip" else f.stem + ".csv"
        header = next(csv.reader(io.StringIO(_read_text(f))))
        if name == "penalties.csv":
            assert header in (_split_keep(PENALTY_V1), _split_keep(PENALTY_V2)), f
            seen.add(("penalties", "v1" if header == _split_keep(PENALTY_V1) else "v2"))
            continue
        assert name in CONTRACT_HEADERS, f
        assert header == _split_keep(CONTRACT_HEADERS[name]), f
        seen.add(name)
    assert set(CONTRACT_HEADERS) <= seen
    assert ("penalties", "v2") in seen
    # layout: landing/<source>/<YYYY-MM-DD>/<file>
    for f in (out / "landing").rglob("*.csv"):
        rel = f.relative_to(out / "landing").parts
        assert len(rel) == 3
        dt.date.fromisoformat(rel[1])


def test_no_event_after_its_drop(province):
    out, _ = province
    for f in (out / "landing" / "price_observations").rglob("*.csv"):
        rows = list(csv.DictReader(io.StringIO(_read_text(f))))
        assert max(r["observed_at"][:10] for r in rows) == f.parent.name
    for f in (out / "landing" / "olist").rglob("olist_orders_dataset.csv"):
        rows = list(csv.DictReader(io.StringIO(_read_text(f))))
        assert max(r["order_purchase_timestamp"][:10] for r in rows) <= f.parent.name


def test_identifiers_valid(province):
    out, _ = province
    codes = set()
    for f in (out / "landing" / "registry").rglob("registry.csv"):
        for r in csv.DictReader(io.StringIO(_read_text(f))):
            codes.add(r["统一社会信用代码"])
            assert r["统一社会信用代码"][2:8] == r["行政区划代码"]
    assert codes and all(uscc.is_valid(c) for c in codes)
    pii = (out / "planted_pii.txt").read_text(encoding="utf-8").splitlines()
    rics = [v for v in pii if len(v) == 18 and v[:17].isdigit()]
    assert rics and all(ric.is_valid(v) for v in rics)
    assert any("@" in v for v in pii) and any(" " in v for v in pii) and any("-" in v for v in pii)
    assert any("１" in v or "３" in v for v in pii)
    for r in csv.DictReader(open(out / "expected_tiers.csv", encoding="utf-8")):
        assert uscc.is_valid(r["uscc"]) and r["expected_tier"] in "ABCD"


def test_ground_truth_covers_every_indicator(province):
    out, _ = province
    rows = list(csv.DictReader(open(out / "ground_truth.csv", encoding="utf-8")))
    assert list(rows[0].keys()) == ["indicator_id", "platform", "shop_id", "uscc", "sku_id", "region_code",
                                    "first_date", "last_date"]
    for ind in INDICATOR_IDS:
        mine = [r for r in rows if r["indicator_id"] == ind]
        if ind == "competition.exclusive_dealing":   # a platform x month: platform and exit range only
            assert len(mine) >= 1 and all(r["platform"] and not (r["shop_id"] or r["sku_id"] or r["uscc"]
                                                                 or r["region_code"]) for r in mine)
            continue
        assert len(mine) >= 3, ind
        if ind.startswith("collusion."):
            assert all(r["sku_id"] and r["region_code"] and not r["shop_id"] for r in mine)
        else:
            assert all(r["shop_id"] for r in mine)
            assert len({r["shop_id"] for r in mine}) >= 3


def test_committed_sample_equals_regeneration(tmp_path):
    if not (SAMPLE_DIR / "ground_truth.csv").exists():
        pytest.skip("no committed sample")
    write_sample(tmp_path / "s")
    assert _tree_hashes(tmp_path / "s") == _tree_hashes(SAMPLE_DIR)
    size = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024
    assert (SAMPLE_START, SAMPLE_DAYS, SAMPLE_SEED) == (dt.date(2026, 10, 29), 14, 20261111) and SAMPLE_SCALE > 0



def test_evaluate_arithmetic(tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "ground_truth.csv").write_text(
        "indicator_id,platform,shop_id,uscc,sku_id,region_code,first_date,last_date\n"
        "price.spike_mad,jd,S1,U1,K1,210100,2026-11-01,2026-11-03\n"
        "price.spike_mad,jd,S2,U2,K2,210100,2026-11-01,2026-11-03\n"
        "collusion.variance_screen,,,,K9,210200,2026-10-01,2026-11-11\n"
        "complaints.surge,tmall,S3,U3,,210300,2026-11-05,2026-11-06\n", encoding="utf-8")
    (truth / "expected_tiers.csv").write_text("uscc,expected_tier,reason\nU1,B,x\nU2,A,x\nU3,C,x\nU4,D,x\n",
                                              encoding="utf-8")
    (truth / "planted_pii.txt").write_text("138 1234 5678\nzhang88@163.com\n", encoding="utf-8")
    home = tmp_path / "home"

    def flag(ind, shop, sku, region, ws, we, entity=None):
        return dict(indicator_id=ind, family=ind.split(".")[0], entity_type="x", entity_id=entity or shop,
                    platform="jd", shop_id=shop, uscc=None, sku_id=sku, region_code=region,
                    window_start=dt.date.fromisoformat(ws), window_end=dt.date.fromisoformat(we),
                    value=1.0, threshold=0.5, severity="high", evidence="{}", policy_ref="x")
    write_part(home, "indicator_flags", "2026-11-02", [
        flag("price.spike_mad", "S1", "K1", "210100", "2026-11-02", "2026-11-02"),       # hit
        flag("price.spike_mad", "S2", "K2", "210100", "2026-10-20", "2026-10-21"),       # wrong dates
        flag("price.spike_mad", "S9", "K1", "210100", "2026-11-02", "2026-11-02"),       # clean entity
        flag("price.spike_mad", "S3", "K5", "210300", "2026-11-02", "2026-11-02"),       # planted shop, other id
        flag("collusion.variance_screen", None, "K9", "210200", "2026-10-26", "2026-11-01", "K9:210200:2026-W44"),
    ])
    write_part(home, "indicator_flags", "2026-11-06", [
        flag("complaints.surge", "S3", None, "210300", "2026-11-06", "2026-11-06"),
        flag("complaints.surge", "S3", None, "210300", "2026-11-20", "2026-11-20"),     # outside window
    ])
    write_part(home, "merchant_credit_tiers", "2026-11-01", [dict(uscc="U1", tier="D"), dict(uscc="U2", tier="D")])
    write_part(home, "merchant_credit_tiers", "2026-11-06", [dict(uscc="U1", tier="B"), dict(uscc="U2", tier="A"),
                                                              dict(uscc="U3", tier="B")])
    (home / "reports" / "2026-11-06").mkdir(parents=True)
    (home / "reports" / "2026-11-06" / "bulletin.html").write_text("<p>电话13812345678</p>", encoding="utf-8")
    table = evaluate(home, truth)
    spike = table["indicators"]["price.spike_mad"]
    assert (spike["planted"], spike["detected"], spike["flags"], spike["matched_flags"]) == (2, 1, 4, 1)
    assert spike["recall"] == 0.5 and spike["precision"] == 0.25
    assert spike["false_flags_on_clean"] == 1
    var = table["indicators"]["collusion.variance_screen"]
    assert (var["detected"], var["precision"], var["false_flags_on_clean"]) == (1, 1.0, 0)
    surge = table["indicators"]["complaints.surge"]
    assert (surge["recall"], surge["precision"], surge["false_flags_on_clean"]) == (1.0, 0.5, 0)
    none = table["indicators"]["integrity.rating_burst"]
    assert (none["planted"], none["recall"], none["precision"]) == (0, None, None)
    assert table["tiers"]["equal"] == 2 and table["tiers"]["accuracy"] == 0.5
    assert table["tiers"]["latest_dt"] == "2026-11-06"
    assert table["pii_leaks"] == [(str(Path("reports/2026-11-06/bulletin.html")), "138 1234 5678")]
    text = format_evaluation(table)
    assert "price.spike_mad" in text and "pii leaks: 1" in text
