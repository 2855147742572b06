"""The generator's issue-22 part: the sources quality_sampling and inspection_results, and the plants of
competition.exclusive_dealing, advertising.absolute_terms and quality.failed_sample_on_sale (pipelines/generate/
side_sources.py and the modules it drives). Each plant is checked against its definition in the issue, computed here
from the landed files, not from the generator's own bookkeeping."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from stdnum.cn import uscc

from pipelines.generate import generate
from pipelines.generate import side_sources as side_mod
from pipelines.generate.evaluate import evaluate
from tests.generate.marts import write_part

START = dt.date(2026, 10, 29)
DAYS = 14
SCALE = 0.02
REPO = Path(__file__).resolve().parents[2]
# /tmp/new_sources.md (docs/CONTRACT.md §3), copied on purpose: the test does not read the generator's headers
QUALITY_HEADER = ["抽查编号", "产品名称", "商品编号", "平台名称", "店铺编号", "被抽样单位名称", "被抽样单位统一社会信用代码",
                  "标称生产者名称", "规格型号", "生产日期或批号", "抽查结果", "不合格项目", "公布日期", "抽查机关"]
INSPECTION_HEADER = ["检查任务编号", "统一社会信用代码", "企业名称", "检查事项", "检查日期", "检查结果", "检查机关"]


def _decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a landed file: utf-8-sig, utf-8 or gbk."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gbk"), "gbk"


def _rows(root: Path, source: str) -> list[tuple[str, str, dict]]:
    """(folder date, encoding, row) of every landed row of a source."""
    out = []
    for f in sorted((root / "landing" / source).rglob("*.csv")):
        text, enc = _decode(f.read_bytes())
        for r in csv.DictReader(io.StringIO(text)):
            out.append((f.parent.name, enc, r))
    return out


def _fold(s: str) -> str:
    """NFKC, lower case, no spaces (the folding issue 22 asks the title match to use)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s)).lower()


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    out = tmp_path_factory.mktemp("issue22")
    generate(out, START, DAYS, scale=SCALE)
    prices = defaultdict(list)   # (shop, sku) -> [(date, title)]
    for _, _, r in _rows(out, "price_observations"):
        if r["price_type"] in ("list", "promo"):
            prices[(r["shop_id"], r["sku_id"])].append((r["observed_at"][:10], r["product_name"], r["platform"]))
    registry = {r["shop_id"]: r for _, _, r in _rows(out, "registry")}
    truth = list(csv.DictReader(open(out / "ground_truth.csv", encoding="utf-8")))
    tiers = {r["uscc"]: r for r in csv.DictReader(open(out / "expected_tiers.csv", encoding="utf-8"))}
    return out, prices, registry, truth, tiers


def test_main_world_bytes_unchanged(province, tmp_path, monkeypatch):
    """The issue-22 part draws from its own streams: without it every other file is byte-identical, the price
    files lose exactly their `X` rows and the first drop's registry its appended rows."""
    out = province[0]
    for name in ("register", "prehistory", "day"):
        monkeypatch.setattr(side_mod.SideSources, name, lambda self, *a: None)
    monkeypatch.setattr(side_mod.SideSources, "truth", lambda self, rows: rows)
    monkeypatch.setattr(side_mod.SideSources, "tiers", lambda self, tiers: tiers)
    bare = tmp_path / "bare"
    generate(bare, START, DAYS, scale=SCALE)
    for f in sorted((bare / "landing").rglob("*.csv")):
        rel = f.relative_to(bare)
        mine = (out / rel).read_bytes()
        if rel.parts[1] == "price_observations":
            kept = b"".join(line for line in mine.splitlines(keepends=True) if b"X-" not in line.split(b",")[0])
            assert kept == f.read_bytes(), rel
        elif rel.parts[1] == "registry" and rel.parts[2] == START.isoformat():   # the first drop gains the extra shops
            assert mine.startswith(f.read_bytes()) and len(mine) > f.stat().st_size, rel
        else:
            assert mine == f.read_bytes(), rel
    assert not (bare / "landing" / "quality_sampling").exists()


def test_new_sources_layout(province):
    out = province[0]
    for source, header, encodings in (("quality_sampling", QUALITY_HEADER, {"gbk", "utf-8-sig"}),
                                      ("inspection_results", INSPECTION_HEADER, {"gbk", "utf-8"})):
        seen = set()
        files = sorted((out / "landing" / source).rglob("*"))
        files = [f for f in files if f.is_file()]
        assert files and all(f.name == f"{source}.csv" for f in files)
        for f in files:
            text, enc = _decode(f.read_bytes())
            seen.add(enc)
            assert next(csv.reader(io.StringIO(text))) == header, f
        assert seen == encodings, source
    date_col = {"quality_sampling": "公布日期", "inspection_results": "检查日期"}
    for source, col in date_col.items():
        for folder, _, r in _rows(out, source):
            d = r[col]
            assert d <= folder, (source, r)
            assert folder == START.isoformat() or d == folder, (source, r)   # a later drop: that day's events
    ids = [r["抽查编号"] for _, _, r in _rows(out, "quality_sampling")]
    assert len(ids) == len(set(ids))
    for _, _, r in _rows(out, "quality_sampling"):
        assert r["抽查结果"] in ("合格", "不合格") and uscc.is_valid(r["被抽样单位统一社会信用代码"])
    results = [r for _, _, r in _rows(out, "quality_sampling")]
    assert sum(r["抽查结果"] == "合格" for r in results) > 0.8 * len(results)   # mostly 合格
    for _, _, r in _rows(out, "inspection_results"):
        assert uscc.is_valid(r["统一社会信用代码"])


def test_quality_plants_follow_the_definition(province):
    """Truth rows = exactly the listings of a failed product offered on a day after the result's publication
    (by 商品编号, else by name + model in the title); the delisted decoy is last shown on its publication day."""
    out, prices, _, truth, _ = province
    failed = [r for _, _, r in _rows(out, "quality_sampling") if r["抽查结果"] == "不合格"]
    assert any(not r["商品编号"] for r in failed) and sum(bool(r["商品编号"]) for r in failed) >= 3
    leads, decoys = {}, 0
    for rec in failed:
        pub = rec["公布日期"]
        for (shop, sku), obs in prices.items():
            if rec["商品编号"]:
                hit = sku == rec["商品编号"]
            else:
                hit = any(_fold(rec["产品名称"]) in _fold(t) and _fold(rec["规格型号"]) in _fold(t) for _, t, _ in obs)
            if not hit:
                continue
            after = [d for d, _, _ in obs if d > pub]
            if after:
                leads[(shop, sku)] = (shop == rec["店铺编号"], min(after))
            elif any(d == pub for d, _, _ in obs):
                decoys += 1
    planted = {(r["shop_id"], r["sku_id"]) for r in truth if r["indicator_id"] == "quality.failed_sample_on_sale"}
    assert set(leads) == planted
    assert sum(sampled for sampled, _ in leads.values()) >= 4                    # the sampled shops (high)
    assert sum(not sampled for sampled, _ in leads.values()) >= 4                # other shops (medium)
    assert decoys >= 1


def test_absolute_term_titles(province):
    """Planted titles carry a term of the indicator's yml after folding, stay the same every day and are the only
    ones that do; the decoys carry an exempt phrase."""
    _, prices, _, truth, _ = province
    spec = yaml.safe_load(open(REPO / "indicators" / "advertising" / "absolute_terms.yml", encoding="utf-8"))
    terms = [_fold(t) for t in spec["parameters"]["terms"]["value"]]
    exceptions = sorted((_fold(e) for e in spec["parameters"]["exceptions"]["value"]), key=len, reverse=True)

    def has_term(title: str) -> bool:
        s = _fold(title)
        for e in exceptions:
            s = s.replace(e, "□")
        return any(t in s for t in terms)
    planted = {(r["shop_id"], r["sku_id"]) for r in truth if r["indicator_id"] == "advertising.absolute_terms"}
    assert len(planted) >= 3
    with_term = {k for k, obs in prices.items() if any(has_term(t) for _, t, _ in obs)}
    assert with_term == planted
    for k in planted:
        assert len({t for _, t, _ in prices[k]}) == 1, k                        # the listing keeps its title
    raw = {t for obs in prices.values() for _, t, _ in obs}
    # spelled so that only the folding finds them (an ideographic space, a space between the characters)
    hidden = {t for t in raw if has_term(t) and not any(term in t for term in spec["parameters"]["terms"]["value"])}
    assert any("　" in t for t in hidden) and any(" " in t for t in hidden), hidden
    exempt = {t for t in raw if not has_term(t) and any(e in _fold(t) for e in exceptions)}
    assert len(exempt) >= 2


def _exits(prices: dict, registry: dict, last_day: str) -> list[tuple[str, str, str]]:
    """Exits by the issue's definition, from the feed and the register: (uscc, kept platform, exit date x)."""
    days = defaultdict(set)   # (uscc, platform) -> dates present
    for (shop, _), obs in prices.items():
        u = registry[shop]["统一社会信用代码"]
        for d, _, plat in obs:
            days[(u, plat)].add(dt.date.fromisoformat(d))
    by_merchant = defaultdict(dict)
    for (u, plat), ds in days.items():
        by_merchant[u][plat] = sorted(ds)
    end = dt.date.fromisoformat(last_day)
    out = []
    for u, plats in by_merchant.items():
        if len(plats) < 2:
            continue
        for plat, ds in plats.items():
            for a, b in zip(ds, ds[1:] + [dt.date.max - dt.timedelta(days=30)]):
                x = a + dt.timedelta(days=1)
                if (b - a).days <= 14 or x + dt.timedelta(days=13) > end:
                    continue
                away = [x + dt.timedelta(days=i) for i in range(14)]
                before = {p for p, dd in plats.items() if any(x - dt.timedelta(days=56) <= d < x for d in dd)}
                kept = [p for p, dd in plats.items() if any(d in dd for d in away)]
                late = [p for p in kept if any(d >= x + dt.timedelta(days=7) for d in plats[p])]
                left_recently = [p for p in before - set(kept)
                                 if max(d for d in plats[p] if d < x) >= x - dt.timedelta(days=14)]
                if len(before) >= 2 and len(kept) == 1 and late and left_recently and plat not in kept:
                    out.append((u, kept[0], x.isoformat()))
    return sorted(set(out))


def test_exclusive_dealing_exits(province):
    """The planted platforms draw >= 7 exits in their truth range; no other platform x month draws more than 2;
    the decoys (closing everywhere, pausing) are no exits."""
    out, prices, registry, truth, _ = province
    exits = _exits(prices, registry, (START + dt.timedelta(days=DAYS - 1)).isoformat())
    per = defaultdict(list)
    for _, plat, x in exits:
        per[(plat, x[:7])].append(x)
    rows = [r for r in truth if r["indicator_id"] == "competition.exclusive_dealing"]
    assert len(rows) == 2 and all(r["platform"] and not (r["shop_id"] or r["sku_id"] or r["uscc"]) for r in rows)
    planted_cells = set()
    for r in rows:
        cell = (r["platform"], r["first_date"][:7])
        planted_cells.add(cell)
        assert len(per[cell]) >= 7 and all(r["first_date"] <= x <= r["last_date"] for x in per[cell]), (cell, per[cell])
    assert all(len(v) <= 2 for k, v in per.items() if k not in planted_cells), dict(per)


def test_inspection_round_trip(province):
    out, _, registry, _, tiers = province
    results = [r for _, _, r in _rows(out, "inspection_results")]
    run = [r for r in results if r["检查日期"] >= START.isoformat()]
    firms = {r["统一社会信用代码"] for r in registry.values()}
    inspected = {r["统一社会信用代码"] for r in run}
    assert inspected <= firms and 0.75 <= len(inspected) / len(firms) < 1.0   # most, not all
    assert len({r["检查日期"] for r in run}) >= DAYS // 2                      # spread over the run
    by_result = defaultdict(set)
    for r in run:
        by_result[r["检查结果"]].add(r["统一社会信用代码"])
    assert len(by_result["发现问题已责令改正"]) >= 3 and len(by_result["通过登记的住所（经营场所）无法联系"]) >= 2
    assert len(by_result["未发现开展本次抽查涉及的经营活动"]) >= 2
    # expected tiers (scoring.yml: a finding or an unreachable firm is a tier factor, no activity is not)
    for res in ("发现问题已责令改正", "发现问题待后续处理", "通过登记的住所（经营场所）无法联系"):
        assert all(tiers[u]["expected_tier"] == "B" for u in by_result[res]), res
    assert all(tiers[u]["expected_tier"] == "A" for u in by_result["未发现开展本次抽查涉及的经营活动"])
    assert firms == set(tiers)                                                 # every registered firm has a tier



def test_evaluate_platform_rows(tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "ground_truth.csv").write_text(
        "indicator_id,platform,shop_id,uscc,sku_id,region_code,first_date,last_date\n"
        "competition.exclusive_dealing,jd,,,,,2026-10-08,2026-10-23\n"
        "competition.exclusive_dealing,pdd,,,,,2026-09-09,2026-09-24\n", encoding="utf-8")
    home = tmp_path / "home"

    def flag(plat, ws, we):
        return dict(indicator_id="competition.exclusive_dealing", entity_type="platform",
                    entity_id=f"{plat}:{ws[:7]}", platform=plat, shop_id=None, uscc=None, sku_id=None,
                    region_code=None, window_start=dt.date.fromisoformat(ws), window_end=dt.date.fromisoformat(we))
    write_part(home, "indicator_flags", "2026-11-05", [
        flag("jd", "2026-10-10", "2026-10-22"),      # hit
        flag("jd", "2026-11-01", "2026-11-02"),      # planted platform, other dates: not a match, not clean
        flag("tmall", "2026-10-10", "2026-10-22"),   # a platform with no planted row: clean false flag
    ])
    table = evaluate(home, truth)["indicators"]["competition.exclusive_dealing"]
    assert (table["planted"], table["detected"], table["flags"], table["matched_flags"]) == (2, 1, 3, 1)
    assert table["false_flags_on_clean"] == 1
