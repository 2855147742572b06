"""Given/expect tests of advertising.absolute_terms: listing titles using 广告法 absolute terms, matched on the
NFKC-folded title, with the 指南's exceptions, first seen / days seen, and nothing read after D."""

from __future__ import annotations

import itertools
import json
import unicodedata
from datetime import date, timedelta

import pytest

from indicators import lineage
from pipelines.core import privacy
from tests.indicators.given import macros, merchant
from tests.indicators.price._run import indicator, rows

ID = "advertising.absolute_terms"
D = date(2026, 3, 10)
_seq = itertools.count(1)


def title(con, day, shop_id, sku_id, name, loaded=None, observation_id=None):
    """One list-price observation of the listing on `day` showing `name` as its title."""
    oid = observation_id or f"PO{next(_seq):06d}"
    con.execute(
        "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id,"
        " sku_id, region_code, price_type, price, product_name, _business_date, _file_name, _sha256, _row)"
        " VALUES (?, ?, ?, 'tmall', ?, ?, '210100', 'list', 10, ?, ?, 'given.csv', 'sha', ?)",
        [oid, f"{day} 10:00:00", day, shop_id, sku_id, name, loaded or day, next(_seq)])
    return oid


def shown(con, shop_id, sku_id, name, first: date, last: date):
    return [title(con, (first + timedelta(days=k)).isoformat(), shop_id, sku_id, name)
            for k in range((last - first).days + 1)]


def run(con, overrides=None):
    return {r["entity_id"]: r for r in rows(con, indicator(ID), D, {ID: overrides} if overrides else None)}


def test_a_statutory_term_is_a_high_lead_with_first_seen_and_days_seen(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S1", uscc="91210100MA0TEST00X", region_code="210200")
    ids = shown(con, "S1", "K1", "辽宝大米 最佳口感 5kg", D - timedelta(days=5), D)
    title(con, (D - timedelta(days=9)).isoformat(), "S1", "K1", "辽宝大米 5kg")  # the title before: no term
    [row] = run(con).values()
    assert row["entity_id"] == "S1:K1" and row["entity_type"] == "listing" and row["flagged"]
    assert (row["window_start"], row["window_end"]) == (D - timedelta(days=5), D)
    assert row["value"] == 6 and row["severity"] == "high"
    assert (row["uscc"], row["region_code"], row["platform"]) == ("91210100MA0TEST00X", "210200", "tmall")
    ev = json.loads(row["evidence"])
    assert ev["terms"] == ["最佳"] and ev["statutory_term"] is True
    assert ev["title"] == "辽宝大米 最佳口感 5kg"
    assert ev["first_observation_id"] == ids[0] and ev["latest_observation_id"] == ids[-1]
    assert ev["observation_ids"] == list(reversed(ids))
    assert (ev["first_seen"], ev["last_seen"], ev["days_seen"]) == ((D - timedelta(days=5)).isoformat(), D.isoformat(), 6)


def test_full_width_and_spaced_variants_count(mem_warehouse):
    con = mem_warehouse
    title(con, D.isoformat(), "S1", "K1", "面霜 顶　级 补水")            # ideographic space inside the term
    title(con, D.isoformat(), "S2", "K2", "国 家 级 认证 空气炸锅")       # spaced out
    title(con, D.isoformat(), "S3", "K3", "ＮＯ．１ 口红")                # full-width, matched with an ASCII term
    title(con, D.isoformat(), "S4", "K4", "辽宝 吸尘器 03型")              # clean
    found = run(con, {"terms": ["顶级", "国家级", "NO.1"]})
    assert sorted(found) == ["S1:K1", "S2:K2", "S3:K3"]
    assert json.loads(found["S1:K1"]["evidence"])["terms"] == ["顶级"] and found["S1:K1"]["severity"] == "medium"
    assert json.loads(found["S2:K2"]["evidence"])["terms"] == ["国家级"] and found["S2:K2"]["severity"] == "high"
    assert json.loads(found["S3:K3"]["evidence"])["terms"] == ["NO.1"]


def test_the_fold_is_nfkc_on_the_characters_titles_carry(mem_warehouse):
    """mm_fold_text agrees with Python's NFKC (then lower case, spaces removed) on full-width ASCII and spaces."""
    macros(mem_warehouse)
    samples = ["ＮＯ．１ 最　佳", "Ｔｏｐ１ ｘ\u200b顶级", "（全网第一）！", "最 新 款\t电饭煲", "abc ＡＢＣ １２３"]
    for s in samples:
        expected = "".join(ch for ch in unicodedata.normalize("NFKC", s).lower() if not ch.isspace())
        expected = expected.replace("\u200b", "")
        assert mem_warehouse.execute("SELECT mm_fold_text(?)", [s]).fetchall()[0][0] == expected, s


def test_the_guideline_exceptions_are_not_leads(mem_warehouse):
    con = mem_warehouse
    title(con, D.isoformat(), "S1", "K1", "辽宝 电饭煲 最新款")            # a model's release order
    title(con, D.isoformat(), "S2", "K2", "滨海 花生油 最佳赏味期12个月")  # a consumption hint
    title(con, D.isoformat(), "S3", "K3", "北方 面霜 最新上架")            # the shop's own sequence
    title(con, D.isoformat(), "S4", "K4", "鑫源 耳机 最 新 款")            # the exception folded too
    title(con, D.isoformat(), "S5", "K5", "千山 空气炸锅 最新款 最佳")      # the exception does not hide 最佳
    found = run(con)
    assert sorted(found) == ["S5:K5"]
    assert json.loads(found["S5:K5"]["evidence"])["terms"] == ["最佳"]
    # without the exception list, 最新款 is 最新: the exception is what keeps it out
    assert "S1:K1" in run(con, {"exceptions": []})


def test_a_title_changed_more_than_a_week_ago_is_kept_but_not_flagged(mem_warehouse):
    con = mem_warehouse
    shown(con, "S1", "K1", "金州 奶粉 极品", D - timedelta(days=30), D - timedelta(days=8))
    shown(con, "S1", "K1", "金州 奶粉", D - timedelta(days=7), D)
    row = run(con)["S1:K1"]
    assert row["window_end"] == D - timedelta(days=8) and row["value"] == 23 and not row["flagged"]


def test_a_phone_number_in_the_title_is_masked_and_the_evidence_passes_the_gate(mem_warehouse):
    con = mem_warehouse
    title(con, D.isoformat(), "S1", "K1", "最佳 面霜 咨询13812345678", observation_id="PO20260310-000001")
    [row] = run(con).values()
    ev = json.loads(row["evidence"])
    assert "13812345678" not in row["evidence"] and "[手机号]" in ev["title"]
    macros(con)
    findings = con.execute(f"SELECT * FROM {privacy.sql_evidence_findings('$e')}", {"e": row["evidence"]}).fetchall()
    assert findings == [(None, None)]


def test_nothing_after_d_is_read(mem_warehouse):
    con = mem_warehouse
    shown(con, "S1", "K1", "最佳 大米", D - timedelta(days=2), D)
    before = rows(con, indicator(ID), D)
    # after D: the same listing on later days, a listing first titled with a term after D, a late file for D
    shown(con, "S1", "K1", "最佳 大米", D + timedelta(days=1), D + timedelta(days=3))
    title(con, (D + timedelta(days=1)).isoformat(), "S2", "K2", "国家级 大米")
    title(con, D.isoformat(), "S3", "K3", "顶级 大米", loaded=(D + timedelta(days=1)).isoformat())
    assert rows(con, indicator(ID), D) == before
    assert sorted(r["entity_id"] for r in rows(con, indicator(ID), D + timedelta(days=1))) == ["S1:K1", "S2:K2",
                                                                                                  "S3:K3"]


def test_lineage_reads_the_feed_and_the_register():
    assert lineage.tables_read(indicator(ID).sql) == {"staging.price_observations", "staging.registry",
                                                       "meta.blocked_batches"}


@pytest.mark.parametrize("text", ["最佳", "最 佳", "最\u3000佳"])
def test_each_variant_of_a_statutory_term_is_high(mem_warehouse, text):
    title(mem_warehouse, D.isoformat(), "S1", "K1", f"辽宝 {text} 牙膏")
    assert run(mem_warehouse)["S1:K1"]["severity"] == "high"
