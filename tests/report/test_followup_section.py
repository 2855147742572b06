"""一公开 of the spot checks in the bulletin (pipelines/serve/bulletin/followup.py), the spot checks in the dossiers,
and the lead charts of the issue-22 families (competition, advertising, quality).

The home is the report fixtures' fake home (tests/report/fakehome.py) with, published through the real publish
code: an inspection_followup partition of the run date, the tier list with the spot-check factor, leads of the
three new families, and the price observations behind their charts. The counts the tests compare against are
recomputed from the published parquet, never assumed."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from indicators.compute import pipeline_version
from pipelines.core import privacy
from pipelines.generate.ids import uscc_check_char
from pipelines.serve.bulletin import followup
from tests.report.fakehome import RUN_DATE, _publish, build_fake_home

RESIDENT_RE = re.compile(next(p for n, p, _ in privacy.PATTERNS if n == "resident_id"))
PERSON = "王秀英"  # a 个体工商户 whose registered name is its owner's name


def resident_id(body17: str = "21010219850307451") -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights)) % 11]


def uscc(k: int) -> str:
    body = f"9121010{k:03d}MA0Y{k:03d}"[:17]
    return body + uscc_check_char(body)


def _followup_rows(tiers: list[dict]) -> list[dict]:
    """Drawn merchants in every class: valid codes, the fake home's C/D merchants (codes that fail the check), and
    a sole trader whose code column holds its owner's ID number."""
    cd = [t["uscc"] for t in tiers if t["tier"] in "CD"][:3]
    plan = [  # (uscc, name, class, days since draw, days to result or None)
        (uscc(1), "沈阳宏达商贸有限公司", "pass", 40, 12), (uscc(2), "大连海韵电子商务有限公司", "fail", 75, 70),
        (uscc(3), "鞍山鑫源食品有限公司", "pending", 90, None), (uscc(4), "抚顺北方家电有限公司", "pending", 61, None),
        (uscc(5), "本溪山泉贸易有限公司", "unreachable", 30, 20), (uscc(6), "丹东鸭绿江商行有限公司", "no_activity", 80, 66),
        (uscc(7), "锦州渤海网络科技有限公司", "other", 20, 5), (uscc(8), "营口港城百货有限公司", "pending", 10, None),
        (cd[0], "辽宁某某电商有限公司", "pending", 65, None), (cd[1], "辽宁甲乙商贸有限公司", "pass", 12, 3),
        (resident_id(), PERSON, "pending", 70, None),
    ]
    rows = []
    for code, name, cls, since, took in plan:
        draw = RUN_DATE - timedelta(days=since)
        rows.append({
            "dt": RUN_DATE, "uscc": code, "company_name": name, "region_code": "210100", "tier": "C",
            "current_tier": "C", "draw_dt": draw, "last_draw_dt": draw, "draws_in_check": 1, "seed": 20260331,
            "due_date": draw + timedelta(days=60), "followup_days": 60,
            "task_id": None if took is None else f"SJ2026-{since:03d}", "inspection_item": None if took is None else "广告发布",
            "result": None if took is None else "未发现问题", "result_class": cls,
            "result_date": None if took is None else draw + timedelta(days=took),
            "authority": None if took is None else "沈阳市市场监督管理局", "days_since_draw": since,
            "days_to_result": took, "overdue": took is None and since > 60, "result_late": took is not None and took > 60,
            "pipeline_version": pipeline_version(), "schema_version": 1})
    return rows


AD = ("S901", "6901111111111")
QUALITY = ("S902", "6902222222222")
PUBLISHED = RUN_DATE - timedelta(days=9)


def _titles() -> list[tuple]:
    """(day, title) of the advertising listing: the term on most days, a corrected title on some, and an
    exception phrase (最佳赏味期, a consumption hint) that is not the term."""
    out = []
    for i in range(21):
        day = RUN_DATE - timedelta(days=20 - i)
        title = "辽宝大米 最　佳口感 5kg"
        if i in (4, 5):
            title = "辽宝大米 口感好 5kg"
        if i == 6:
            title = "辽宝大米 最佳赏味期180天 5kg"
        out.append((day, title))
    return out


def _new_leads(schema: pa.Schema) -> list[dict]:
    with_term = sum(1 for _, t in _titles() if "最　佳口感" in t)
    common = {"dt": RUN_DATE, "region_code": "210100", "policy_ref": "test policy",
              "pipeline_version": pipeline_version(), "schema_version": 1}
    return [
        dict(common, flag_id="competition-1", indicator_id="competition.exclusive_dealing", family="competition",
             entity_type="platform", entity_id="tmall:2026-03", platform="tmall", shop_id=None, uscc=None, sku_id=None,
             region_code=None, window_start=RUN_DATE - timedelta(days=25), window_end=RUN_DATE - timedelta(days=14),
             value=4.2857, threshold=2.0, severity="high", evidence=json.dumps({
                 "platform": "tmall", "month": "2026-03", "exits": 12, "multihoming_merchants": 40,
                 "exit_share": 0.3, "other_platforms_rate": 0.05, "own_past_rate": 0.07, "expected": 2.8,
                 "p_value": 1e-5, "first_exit": "2026-03-06", "last_exit": "2026-03-17", "platforms_left": ["jd"],
                 "merchant_ids": [uscc(1)], "exit_records": []})),
        dict(common, flag_id="advertising-1", indicator_id="advertising.absolute_terms", family="advertising",
             entity_type="listing", entity_id=":".join(AD), platform="tmall", shop_id=AD[0], uscc=None, sku_id=AD[1],
             window_start=RUN_DATE - timedelta(days=20), window_end=RUN_DATE, value=float(with_term), threshold=1.0,
             severity="high", evidence=json.dumps({
                 "terms": ["最佳"], "statutory_term": True, "title": "辽宝大米 最　佳口感 5kg",
                 "first_seen": str(RUN_DATE - timedelta(days=20)), "last_seen": str(RUN_DATE), "days_seen": with_term,
                 "observation_ids": ["ad-1"]})),
        dict(common, flag_id="quality-1", indicator_id="quality.failed_sample_on_sale", family="quality",
             entity_type="listing", entity_id=":".join(QUALITY), platform="tmall", shop_id=QUALITY[0], uscc=None,
             sku_id=QUALITY[1], window_start=PUBLISHED + timedelta(days=1), window_end=RUN_DATE, value=8.0,
             threshold=1.0, severity="high", evidence=json.dumps({
                 "sampling_no": "辽市监抽〔2026〕12号", "published_date": str(PUBLISHED), "failed_items": "热效率",
                 "sampled_product": "电热水壶", "sampled_shop": True, "matched_by": "sku_id",
                 "first_offered": str(PUBLISHED + timedelta(days=1)), "last_offered": str(RUN_DATE), "days_offered": 8,
                 "observation_ids": ["q-1"]})),
    ]


def _observations(con) -> None:
    rows = [(f"ad-{d}", d, AD, t, 49.9) for d, t in _titles()]
    # the failed product: offered every day but two, from 20 days before the run date
    rows += [(f"q-{d}", d, QUALITY, "电热水壶 1.7L", 89.0) for d in
             (RUN_DATE - timedelta(days=20 - i) for i in range(21)) if d not in (PUBLISHED + timedelta(days=2), PUBLISHED - timedelta(days=3))]
    for n, (oid, day, (shop, sku), title, price) in enumerate(rows):
        con.execute("INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, "
                    "shop_id, sku_id, product_name, region_code, price_type, price, currency, _business_date, "
                    "_file_name, _sha256, _row) VALUES ($o, $d::TIMESTAMP, $d, 'tmall', $s, $k, $t, '210100', 'list', "
                    "$p, 'CNY', $d, 'price.csv', 'abc', $n)",
                    {"o": oid, "d": day, "s": shop, "k": sku, "t": title, "p": price, "n": n})


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from pipelines.publish.dictionary import after_publish
    from pipelines.serve.bulletin import build_bulletin
    from warehouse.db import connect_writer

    home = build_fake_home(tmp_path_factory.mktemp("followup-home"))
    con = connect_writer(home.db_path)
    try:
        run_id = f"{RUN_DATE}__fake"
        tiers = pq.read_table(home.partition_file("merchant_credit_tiers", RUN_DATE)).to_pylist()
        for k, t in enumerate(tiers):  # the spot-check factor as merchant_credit_tiers carries it (schema 2)
            t.update(contrib_inspections=float(k % 3) * 1.5, inspection_fails_3y=k % 3, inspection_unreachable_3y=0,
                     last_inspection_date=RUN_DATE - timedelta(days=10) if k % 3 else None)
        _publish(con, home, "merchant_credit_tiers", RUN_DATE, pa.Table.from_pylist(tiers), run_id)
        _publish(con, home, "inspection_followup", RUN_DATE, pa.Table.from_pylist(_followup_rows(tiers)), run_id)
        flags = pq.read_table(home.partition_file("indicator_flags", RUN_DATE))
        rows = flags.to_pylist() + _new_leads(flags.schema)
        _publish(con, home, "indicator_flags", RUN_DATE, pa.Table.from_pylist(rows, schema=flags.schema), run_id)
        _observations(con)
        after_publish(con, home)
        bulletin = build_bulletin(con, home, RUN_DATE)
    finally:
        con.close()
    return home, bulletin, bulletin.path.read_text(encoding="utf-8")


def published_followup(home) -> list[dict]:
    return pq.read_table(home.partition_file("inspection_followup", RUN_DATE)).to_pylist()


def section_of(page: str) -> str:
    start = page.index('<h2 id="spot-check-followup">')
    return page[start:page.index("<h2", start + 10)]


def cell_numbers(fragment: str, element_id: str) -> int:
    return int(re.search(rf'id="{element_id}"[^>]*>(\d+)<', fragment).group(1))


def test_the_section_counts_are_the_marts(home):
    home, _, page = home
    rows = published_followup(home)
    part = section_of(page)
    assert page.index('id="spot-check-followup"') < page.index("<h2>数据质量")
    assert cell_numbers(part, "followup-total") == len(rows)
    assert cell_numbers(part, "followup-overdue") == sum(r["overdue"] for r in rows) > 0
    assert cell_numbers(part, "followup-late") == sum(r["result_late"] for r in rows) > 0
    by_class = Counter(r["result_class"] for r in rows)
    shown = dict(re.findall(r'<tr data-class="([a-z_]+)">.*?<td class="num">(\d+)</td>', part))
    assert {c: int(n) for c, n in shown.items()} == {c: by_class.get(c, 0) for c in followup.RESULT_CLASSES}
    assert "market-monitor export --date " + RUN_DATE.isoformat() in part and "docs/EXPORT.md" in part


def test_overdue_merchants_are_listed_with_draw_date_and_days(home):
    home, _, page = home
    table = re.search(r'<table id="followup-overdue-list">(.*?)</table>', page, flags=re.S).group(1)
    listed = re.findall(r'<tr class="overdue">(.*?)</tr>', table, flags=re.S)
    overdue = [r for r in published_followup(home) if r["overdue"]]
    assert len(listed) == len(overdue)
    for r in overdue:
        row = next((x for x in listed if str(r["draw_dt"]) in x and f'>{r["days_since_draw"]}<' in x), None)
        assert row is not None, r["uscc"]
        if followup_name_shown(r["uscc"]):
            assert r["uscc"] in row and r["company_name"] in row
        else:
            assert r["company_name"] not in row and "不显示" in row
    late = re.search(r'<table id="followup-late-list">(.*?)</table>', page, flags=re.S).group(1)
    assert all(r["uscc"] in late for r in published_followup(home) if r["result_late"])


def followup_name_shown(code: str) -> bool:
    """The rule written out in Python: a code passing GB 32100 that is not a checked resident ID."""
    from stdnum.cn import ric
    from stdnum.cn import uscc as std_uscc
    return std_uscc.is_valid(code) and not ric.is_valid(code)


def test_the_name_rule_in_sql_is_the_code_checks(home):
    import duckdb
    codes = [uscc(1), uscc(2), uscc(1)[:-1] + ("0" if uscc(1)[-1] != "0" else "1"), resident_id(),
             "91210100MA0000000X", "", "12345"]
    con = duckdb.connect(":memory:")
    got = [con.execute(f"SELECT {followup.NAME_SHOWN_SQL} FROM (SELECT $c AS c)", {"c": c}).fetchone()[0]
           for c in codes]
    assert got == [followup_name_shown(c) for c in codes]
    assert got[:2] == [True, True] and not got[3]


def test_no_personal_id_or_sole_traders_name_on_the_pages(home):
    home, bulletin, page = home
    pages = [page] + [p.read_text(encoding="utf-8") for p in (bulletin.path.parent / "merchants").glob("*.html")]
    for text in pages:
        assert not RESIDENT_RE.search(privacy.fold(text)), RESIDENT_RE.search(privacy.fold(text)).group(0)
        assert PERSON not in text
    assert "[身份证号]" in section_of(page)  # the owner's ID in the code column is shown masked


def test_a_date_without_the_partition_says_so(home):
    home, _, _ = home
    from warehouse.db import connect_writer
    con = connect_writer(home.db_path)
    try:
        sec = followup.section(con, home, RUN_DATE - timedelta(days=1))
    finally:
        con.close()
    assert sec["published"] is False
    assert "尚未发布" in followup.section_html(sec)


def lead_row(page: str, indicator: str) -> str:
    return re.search(rf'<tr class="lead" data-indicator="{re.escape(indicator)}">(.*?)</tr>', page, flags=re.S).group(1)


def titles_of(svg: str, label: str) -> list[float]:
    return [float(v) for v in re.findall(rf"<title>{re.escape(label)} ([0-9.]+)</title>", svg)]


def test_the_new_families_have_charts_drawn_from_the_data(home):
    _, _, page = home
    for ind in ("competition.exclusive_dealing", "advertising.absolute_terms", "quality.failed_sample_on_sale"):
        row = lead_row(page, ind)
        assert '<svg class="chart mini"' in row and "无数据 no data" not in row, ind
    exits = lead_row(page, "competition.exclusive_dealing")
    # the month's exits against the two expectations the rule used: 40 merchants x 0.05 and x 0.07
    assert "退出 exits: 12<" in exits and "他平台率 others: 2<" in exits and "往月率 past: 2.8<" in exits
    assert "提示线 flagging line 5.6<" in exits  # expected 2.8 x threshold 2
    ad = lead_row(page, "advertising.absolute_terms")
    with_term = titles_of(ad, "当日标题含用语 seen with the term")
    without = titles_of(ad, "当日标题无用语 seen without it")
    # the exception phrase (最佳赏味期) is not the term: 18 days with it, 3 without, the count ends at days seen
    assert (len(with_term), len(without)) == (18, 3) and max(with_term) == 18
    q = lead_row(page, "quality.failed_sample_on_sale")
    offered_after = sum(1 for i in range(21) if (d := RUN_DATE - timedelta(days=20 - i)) > PUBLISHED
                        and d != PUBLISHED + timedelta(days=2))
    assert f"公布后在售 {offered_after} 天" in q and f"抽检结果公布 result published {PUBLISHED}" in q


def test_a_dossier_shows_its_spot_checks_and_the_factor(home):
    home, bulletin, _ = home
    tiers = {t["uscc"]: t for t in pq.read_table(home.partition_file("merchant_credit_tiers", RUN_DATE)).to_pylist()}
    drawn = [r for r in published_followup(home) if r["uscc"] in tiers and tiers[r["uscc"]]["tier"] in "CD"]
    assert drawn
    for r in drawn:
        text = (bulletin.path.parent / "merchants" / f"{r['uscc']}.html").read_text(encoding="utf-8")
        table = re.search(r'<table id="spot-check-followup">(.*?)</table>', text, flags=re.S).group(1)
        assert str(r["draw_dt"]) in table and followup.CLASS_LABELS[r["result_class"]][0] in table
        assert ("逾期 " + str(r["days_since_draw"]) in table) == r["overdue"]
        factor = re.search(r'id="contrib-inspections">([^<]*)<', text).group(1)
        assert float(factor) == tiers[r["uscc"]]["contrib_inspections"]
        assert text.index('id="spot-checks"') < text.index("<h2>行政处罚")
    undrawn = next(u for u, t in tiers.items() if t["tier"] in "CD" and u not in {r["uscc"] for r in drawn})
    assert "近期未被双随机抽中" in (bulletin.path.parent / "merchants" / f"{undrawn}.html").read_text(encoding="utf-8")
