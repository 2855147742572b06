"""Each lead in one plain sentence (Chinese, English) with its chart, and the merchant dossiers (一户一档)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from indicators.registry import load_catalogue
from pipelines.run.cli import main
from pipelines.serve.bulletin.charts import mini_chart_svg
from pipelines.serve.bulletin.explain import FORMATS, explain, fill, placeholders
from tests.report.fakehome import RUN_DATE
from tests.report.test_bulletin import EXTERNAL

SNAKE = re.compile(r"[a-z]+_[a-z_]+")
# columns of indicator_flags a template may name besides the evidence keys
FLAG_COLUMNS = {"value", "threshold", "window_start", "window_end", "shop_id", "sku_id", "platform", "entity_id",
                "severity"}


def evidence_keys(sql: str) -> set[str]:
    """The top-level keys of the json_object the indicator's SQL builds as `evidence`."""
    end = sql.rfind("AS evidence")
    start = sql.rfind("json_object(", 0, end)
    depth, body = 0, ""
    for k in range(start + len("json_object"), len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[k], 0)
        if depth == 0:
            body = sql[start:k + 1]
            break
    return set(re.findall(r"'([a-z0-9_]+)'\s*,", body))


def visible_text(fragment: str) -> str:
    """The text a reader sees: tags (with their attributes, classes and styles) removed."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def snake_case_in_leads(page: str) -> list[str]:
    """snake_case words in the leads' evidence and chart cells (ids such as shop ids have no underscore)."""
    cells = re.findall(r'<td class="(?:evidence|leadchart)">(.*?)</td>', page, flags=re.S)
    return [w for c in cells for w in SNAKE.findall(visible_text(c))]


@pytest.mark.parametrize("ind", load_catalogue(), ids=lambda i: i.id)
def test_every_indicator_has_a_sentence_naming_only_keys_its_sql_builds(ind):
    zh, en = ind.metadata.get("explain_zh"), ind.metadata.get("explain_en")
    assert zh and en, f"{ind.id}: explain_zh / explain_en missing"
    keys = evidence_keys(ind.sql)
    assert keys, ind.id
    for template in (zh, en):
        found = placeholders(template)
        assert found, template
        for name, fmt in found:
            assert name.split(".")[0] in keys | FLAG_COLUMNS, (ind.id, name, sorted(keys))
            assert fmt == "" or fmt in FORMATS, (ind.id, fmt)
    assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]{3}", en.replace("原价", ""))
    # filled from an evidence record with every key present, no key name and no placeholder is left
    sample = {k: (["2026-11-01", "2026-11-07"] if k in ("window", "basis_window", "baseline_window", "prior_window")
                  else 1.25) for k in keys}
    for text in (fill(zh, sample, {"window_start": "2026-11-01"}), fill(en, sample, {"window_start": "2026-11-01"})):
        assert "{" not in text and not SNAKE.search(text), text


def test_the_fake_original_price_sentence_reads_as_the_issue_asks():
    flag = {"indicator_id": "price.cn_reference_7d", "window_start": "2026-11-01",
            "evidence": json.dumps({"shown_reference_price": 60.42, "promo_price": 49.9, "cn_basis_price": 39.94,
                                    "cn_basis_source": "lowest_7d", "rpi": 1.5128,
                                    "lowest_trade_order_id": "OD1"})}
    zh, en = explain(flag)
    assert "该店铺 11月1日起标示原价 60.42 元" in zh and "促销前七日最低成交价为 39.94 元" in zh and "高出 51%" in zh, zh
    assert "1 Nov" in en and "60.42" in en and "51% higher" in en, en
    missing = explain(dict(flag, evidence="{}"))[0]
    assert "—" in missing and "{" not in missing  # a partial record still reads


def test_each_lead_shown_has_its_sentence_and_chart_and_no_key_names(fake_home):
    home, bulletin = fake_home
    page = bulletin.path.read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="lead" data-indicator="([^"]+)">(.*?)</tr>', page, flags=re.S)
    today = pq.read_table(home.partition_file("indicator_flags", RUN_DATE)).to_pylist()
    assert len(rows) == len(today) > 0  # every lead of the day is on the page
    for indicator, row in rows:
        assert 'class="sentence-zh"' in row and 'class="en sentence-en"' in row, indicator
        assert '<svg class="chart mini"' in row, indicator
    assert snake_case_in_leads(page) == []


def test_the_key_name_check_can_fail():
    page = '<td class="evidence">trades_in_window 125</td><td class="leadchart"><svg class="chart mini"></svg></td>'
    assert snake_case_in_leads(page) == ["trades_in_window"]


def test_a_chart_without_data_says_so_instead_of_drawing_zeros():
    svg = mini_chart_svg("t", ["a", "b"], lines={"x": [None, None]})
    assert "无数据 no data" in svg and "polyline" not in svg
    gap = mini_chart_svg("t", ["a", "b", "c", "d"], lines={"x": [1.0, None, 2.0, 3.0]})
    assert gap.count("<polyline") == 2  # the missing day breaks the line


def test_leads_link_to_dossiers_that_exist_offline(fake_home):
    home, bulletin = fake_home
    page = bulletin.path.read_text(encoding="utf-8")
    links = set(re.findall(r'<a class="dossier" href="([^"]+)"', page))
    assert links
    for href in links:
        assert href.startswith("merchants/") and href.endswith(".html"), href
        target = (bulletin.path.parent / href).resolve()
        assert target.is_file() and home.root in target.parents, href
        text = target.read_text(encoding="utf-8")
        for section in ("登记信息", "信用等级", "近90日线索", "投诉率走势", "行政处罚", "名录"):
            assert section in text, (href, section)
        assert 'href="../bulletin.html"' in text
        assert not any(p.search(text) for p in EXTERNAL), href


def test_tier_c_and_d_merchants_get_a_dossier(fake_home):
    home, bulletin = fake_home
    tiers = pq.read_table(home.partition_file("merchant_credit_tiers", RUN_DATE)).to_pylist()
    folder = bulletin.path.parent / "merchants"
    for t in tiers:
        assert (folder / f"{t['uscc']}.html").is_file() == (t["tier"] in "CD") or t["uscc"] == "91210100MA0000000X"


def test_report_merchant_builds_one_dossier_and_refuses_an_unknown_id(fake_home, capsys):
    home, _ = fake_home
    tiers = pq.read_table(home.partition_file("merchant_credit_tiers", RUN_DATE)).to_pylist()
    uscc = next(t["uscc"] for t in tiers if t["tier"] in "AB")
    target = home.reports / RUN_DATE.isoformat() / "merchants" / f"{uscc}.html"
    target.unlink(missing_ok=True)
    assert main(["report", "--home", str(home.root), "--date", RUN_DATE.isoformat(), "--merchant", uscc]) == 0
    assert target.is_file() and f"{uscc}" in target.read_text(encoding="utf-8")
    assert str(target) in capsys.readouterr().out
    assert main(["report", "--home", str(home.root), "--date", RUN_DATE.isoformat(), "--merchant", "NO-SUCH-1"]) == 2
    err = capsys.readouterr().err
    assert "NO-SUCH-1" in err and "unknown" in err and "Traceback" not in err
    assert not Path(target.parent / "NO-SUCH-1.html").exists()
