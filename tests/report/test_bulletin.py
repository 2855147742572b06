"""The bulletin's content against the published marts it is built from (counts recomputed here)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.core.regions import LIAONING_CITIES
from pipelines.run.cli import main
from pipelines.serve.bulletin import plain_evidence
from tests.report.fakehome import DAYS, RUN_DATE

EXTERNAL = [
    re.compile(r"(?i)\b(?:https?|ftp|wss?)://"),            # absolute URLs anywhere (text included)
    re.compile(r"(?i)(?:src|href|action|poster|data)\s*=\s*[\"']?\s*//"),  # protocol-relative
    re.compile(r"(?i)<\s*(?:script|link|iframe|object|embed|img|video|audio|source)\b"),
    re.compile(r"(?i)@import|url\s*\("),
]


def _partition(home, mart, day):
    return pq.read_table(home.partition_file(mart, day)).to_pylist()


def test_headline_counts_match_the_published_partitions(fake_home):
    home, bulletin = fake_home
    today = _partition(home, "indicator_flags", RUN_DATE)
    yesterday = _partition(home, "indicator_flags", RUN_DATE - timedelta(days=1))
    assert bulletin.headline["total"] == len(today) > 0
    assert bulletin.headline["change"] == len(today) - len(yesterday)
    for family, n in bulletin.headline["by_family"].items():
        assert n == sum(1 for r in today if r["family"] == family), family
    page = bulletin.path.read_text(encoding="utf-8")
    assert f'<b id="total-leads">{len(today)}</b>' in page
    assert f'{len(today) - len(yesterday):+d}' in page
    assert bulletin.path == home.reports / RUN_DATE.isoformat() / "bulletin.html"
    # new: an indicator and entity not flagged yesterday (a sliding window's flag_id changes every day)
    seen = {(r["indicator_id"], r["entity_id"]) for r in yesterday}
    new = [r for r in today if (r["indicator_id"], r["entity_id"]) not in seen]
    assert bulletin.headline["new"] == len(new)
    assert f'<span id="new-leads">{len(new)}</span>' in page


def test_regional_table_has_the_14_cities_with_their_counts(fake_home):
    home, bulletin = fake_home
    today = _partition(home, "indicator_flags", RUN_DATE)
    page = bulletin.path.read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-region="(\d{6})">(.*?)</tr>', page, flags=re.S)
    assert [code for code, _ in rows] == list(LIAONING_CITIES)
    for code, cells in rows:
        leads = int(re.findall(r'<td class="num">(-?\d+)</td>', cells)[0])
        assert leads == sum(1 for r in today if r["region_code"] == code), code
        assert LIAONING_CITIES[code][0] in cells


def test_trend_charts_are_inline_svg_over_90_days(fake_home):
    _, bulletin = fake_home
    page = bulletin.path.read_text(encoding="utf-8")
    charts = re.findall(r'<svg class="chart".*?</svg>', page, flags=re.S)
    assert len(charts) >= 3
    trends = re.search(r'<h2>趋势.*?<h2>', page, flags=re.S).group(0)
    lines = re.findall(r'<polyline class="series"[^>]*points="([^"]+)"', trends)
    # one point per published day: the 78 days before the fake home's first run are no data, not zero
    assert lines and all(len(p.split()) == DAYS for p in lines)
    assert trends.count('class="nodata"') == trends.count('<svg class="chart"') >= 3
    assert "无数据 no data" in trends


def test_html_references_no_external_url(fake_home):
    home, bulletin = fake_home
    page = bulletin.path.read_text(encoding="utf-8")
    for pattern in EXTERNAL:
        assert not pattern.search(page), pattern.search(page).group(0)
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs, "links to the quality results expected"
    for href in hrefs:
        target = (bulletin.path.parent / href).resolve()
        assert target.is_file() and home.root in target.parents, href


def test_the_check_catches_an_external_reference(tmp_path):
    for bad in ('<link rel="stylesheet" href="https://cdn.example/x.css">', '<img src="//cdn.example/a.png">',
                "<style>@font-face{src:url(fonts/a.woff)}</style>", "<script>1</script>"):
        assert any(p.search(bad) for p in EXTERNAL), bad


def test_evidence_in_plain_words_for_a_fake_original_price():
    flag = {"indicator_id": "price.cn_reference_7d", "window_start": "2026-03-20", "value": 1.67, "threshold": 1.02,
            "evidence": json.dumps({"shown_reference_price": 199, "promo_price": 129, "cn_basis_price": 119,
                                    "cn_basis_source": "lowest_7d", "basis_window": ["2026-03-13", "2026-03-19"],
                                    "lowest_trade_order_id": "o-77", "lowest_trade_time": "2026-03-15 10:00:00",
                                    "claimed_discount": 0.3518, "true_discount": -0.084})}
    text = plain_evidence(flag)
    for part in ("标示原价 ¥199.00", "促销前7日内最低成交价 ¥119.00", "2026-03-13 至 2026-03-19", "o-77", "促销开始 2026-03-20"):
        assert part in text, (part, text)


def test_evidence_fallback_for_an_unknown_indicator_masks_urls():
    flag = {"indicator_id": "newfamily.something", "value": 3.5, "threshold": 2.0, "window_start": "2026-03-01",
            "window_end": "2026-03-07",
            "evidence": json.dumps({"n_sellers": 4, "source_url": "https://shop.example/p/1", "ids": list("abcdefg")})}
    text = plain_evidence(flag)
    assert "指标值 3.5" in text and "阈值 2" in text and "2026-03-01 至 2026-03-07" in text and "卖家数 4" in text
    assert "https://" not in text and "[链接略]" in text
    assert plain_evidence({"indicator_id": "x", "evidence": "not json"}) == ""


def test_complaint_rates_tiers_and_the_draw_with_its_seed(fake_home):
    home, bulletin = fake_home
    page = bulletin.path.read_text(encoding="utf-8")
    assert "wilson_lower_per_10k" in page and "wilson_upper_per_10k" in page
    assert 'class="ci"' in page  # interval whiskers drawn
    draw = _partition(home, "inspection_sample", RUN_DATE)
    assert f'<b id="draw-seed">{draw[0]["seed"]}</b>' in page
    tiers = _partition(home, "merchant_credit_tiers", RUN_DATE)
    table = re.search(r'<table id="credit-tiers">(.*?)</table>', page, flags=re.S).group(1)
    for tier in "ABCD":
        n = sum(1 for r in tiers if r["tier"] == tier)
        assert re.search(rf"<td>{tier}</td><td class=\"num\">{n}</td>", table), tier


def test_quality_status_and_source_freshness(fake_home):
    _, bulletin = fake_home
    page = bulletin.path.read_text(encoding="utf-8")
    assert re.search(r'id="quality-status"[^>]*>警告 warnings<', page)  # the fake day has one failing warning
    assert "../../quality/results/2026-03-31/index.html" in page
    sources = re.search(r'<table id="sources">(.*?)</table>', page, flags=re.S).group(1)
    stale = re.search(r'<tr class="stale"><td>complaints_12315</td><td>2026-03-30</td><td class="num">1</td>', sources)
    assert stale, "a source one day behind is marked stale"


def test_no_personal_data_patterns(fake_home):
    _, bulletin = fake_home
    page = bulletin.path.read_text(encoding="utf-8")
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", page)  # mobile numbers
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", page)  # e-mail addresses
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\w)", page)  # resident id numbers


def test_report_command_rebuilds_the_bulletin(fake_home):
    home, bulletin = fake_home
    bulletin.path.unlink()
    assert main(["report", "--home", str(home.root), "--date", RUN_DATE.isoformat(), "--quiet"]) == 0
    assert Path(bulletin.path).is_file()
    assert f'<b id="total-leads">{bulletin.headline["total"]}</b>' in bulletin.path.read_text(encoding="utf-8")
