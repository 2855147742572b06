"""Given/expect tests of quality.failed_sample_on_sale: after a 不合格 result is published, the sampled shop's listing
of the product still offered on a later day is a high lead, other shops offering it medium ones."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

from indicators import lineage
from pipelines.core import privacy
from tests.indicators.given import macros, merchant, staged
from tests.indicators.price._run import indicator, rows

ID = "quality.failed_sample_on_sale"
PUBLISHED = date(2026, 3, 3)
D = date(2026, 3, 6)
_seq = itertools.count(1)
SAMPLED = "91210100MA0SAMPL0X"


def offered(con, shop_id, sku_id, name, days, loaded=None):
    """The listing observed on each of `days` (observation ids returned in that order)."""
    ids = []
    for day in days:
        oid = f"PO{next(_seq):06d}"
        con.execute(
            "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id,"
            " sku_id, region_code, price_type, price, product_name, _business_date, _file_name, _sha256, _row)"
            " VALUES (?, ?, ?, 'tmall', ?, ?, '210100', 'list', 99, ?, ?, 'given.csv', 'sha', ?)",
            [oid, f"{day} 10:00:00", day, shop_id, sku_id, name, loaded or day, next(_seq)])
        ids.append(oid)
    return ids


def sample(con, no, result="不合格", published=PUBLISHED, sku_id="6901234567892", shop_id="S1", uscc=SAMPLED,
           product="电热水壶", model="SH-1520", failed="耐热性；标志和说明", loaded=None):
    staged(con, "quality_sampling", (loaded or published).isoformat(), sampling_id=no, product_name=product,
           sku_id=sku_id, platform_name="天猫", shop_id=shop_id, sampled_company="沈阳某电器有限公司", uscc=uscc,
           uscc_valid=True, producer_name="某电器厂", model=model, batch="2026-01-01", result=result,
           failed_items=failed, published_date=published.isoformat(), authority="辽宁省市场监督管理局")


def days(first: date, last: date):
    return [(first + timedelta(days=k)).isoformat() for k in range((last - first).days + 1)]


def run(con, run_date=D):
    return {r["entity_id"]: r for r in rows(con, indicator(ID), run_date)}


def test_the_sampled_shop_still_offering_is_high_and_other_shops_medium(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S1", uscc=SAMPLED)
    merchant(con, "S2", uscc="91210100MA0OTHER0X", region_code="210200")
    sample(con, "辽市监抽〔2026〕12号")
    before = offered(con, "S1", "6901234567892", "电热水壶 SH-1520", days(date(2026, 3, 1), PUBLISHED))
    after = offered(con, "S1", "6901234567892", "电热水壶 SH-1520", days(PUBLISHED + timedelta(days=1), D))
    other = offered(con, "S2", "6901234567892", "电热水壶", days(date(2026, 3, 5), D))
    offered(con, "S3", "6900000000001", "电饭煲", days(PUBLISHED, D))  # another product: nothing
    found = run(con)
    assert sorted(found) == ["S1:6901234567892", "S2:6901234567892"]
    own, rival = found["S1:6901234567892"], found["S2:6901234567892"]
    assert own["severity"] == "high" and rival["severity"] == "medium" and own["flagged"] and rival["flagged"]
    assert (own["window_start"], own["window_end"], own["value"]) == (date(2026, 3, 4), D, 3)
    assert (rival["window_start"], rival["window_end"], rival["value"]) == (date(2026, 3, 5), D, 2)
    assert own["uscc"] == SAMPLED and rival["region_code"] == "210200"
    ev = json.loads(own["evidence"])
    assert ev["sampling_no"] == "辽市监抽〔2026〕12号" and ev["published_date"] == "2026-03-03"
    assert ev["failed_items"] == "耐热性；标志和说明" and ev["sampled_shop"] is True and ev["matched_by"] == "sku_id"
    assert ev["observation_ids"] == list(reversed(after)) and not set(before) & set(ev["observation_ids"])
    assert json.loads(rival["evidence"])["observation_ids"] == list(reversed(other))
    macros(con)
    for row in found.values():
        assert con.execute(f"SELECT * FROM {privacy.sql_evidence_findings('$e')}",
                           {"e": row["evidence"]}).fetchall() == [(None, None)]


def test_a_passed_sample_is_not_a_lead(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S1", uscc=SAMPLED)
    sample(con, "CC-1", result="合格", failed="")
    offered(con, "S1", "6901234567892", "电热水壶", days(PUBLISHED, D))
    assert run(con) == {}


def test_a_listing_offered_only_up_to_the_publication_day_is_not_a_lead(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S1", uscc=SAMPLED)
    sample(con, "CC-1")
    offered(con, "S1", "6901234567892", "电热水壶", days(date(2026, 2, 20), PUBLISHED))  # taken down in time
    assert run(con) == {}


def test_without_a_sku_id_the_product_name_and_model_match_folded(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S7", uscc=SAMPLED)
    sample(con, "CC-9", sku_id=None, shop_id=None, product="空气炸锅", model="AF-1")
    offered(con, "S7", "K7", "辽宝 空气炸锅 ＡＦ－１ 家用", days(PUBLISHED, D))   # the sampled company's shop
    offered(con, "S8", "K8", "辽宝 空 气 炸 锅 AF-1", days(PUBLISHED, D))        # another shop, spaced name
    offered(con, "S9", "K9", "辽宝 空气炸锅 AF-2", days(PUBLISHED, D))            # another model
    found = run(con)
    assert sorted(found) == ["S7:K7", "S8:K8"]
    assert found["S7:K7"]["severity"] == "high" and found["S8:K8"]["severity"] == "medium"
    assert json.loads(found["S7:K7"]["evidence"])["matched_by"] == "name_model"


def test_nothing_after_d_is_read(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S1", uscc=SAMPLED)
    sample(con, "CC-1")
    offered(con, "S1", "6901234567892", "电热水壶", days(PUBLISHED, D))
    on_d = rows(con, indicator(ID), D)
    assert [r["entity_id"] for r in on_d] == ["S1:6901234567892"]
    later = D + timedelta(days=1)
    # after D: the record corrected to 合格 (复检), a result published after D, a late file, later observations
    sample(con, "CC-1", result="合格", failed="", loaded=later)
    sample(con, "CC-2", sku_id="6900000000002", published=later)
    offered(con, "S1", "6900000000002", "电饭煲", days(later, later))
    offered(con, "S1", "6901234567892", "电热水壶", days(later, later + timedelta(days=2)))
    offered(con, "S2", "6901234567892", "电热水壶", days(D, D), loaded=later.isoformat())
    assert rows(con, indicator(ID), D) == on_d
    # as of the later day the correction holds, and CC-2's product was offered only on its publication day
    assert run(con, later) == {}


def test_a_result_published_after_d_is_not_known_on_d(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S1", uscc=SAMPLED)
    sample(con, "CC-1", published=D + timedelta(days=1), loaded=D)  # loaded early, published later
    offered(con, "S1", "6901234567892", "电热水壶", days(PUBLISHED, D))
    assert run(con) == {}


def test_lineage_reads_the_samples_the_feed_and_the_register():
    assert lineage.tables_read(indicator(ID).sql) == {"staging.quality_sampling", "staging.price_observations",
                                                       "staging.registry", "meta.blocked_batches"}


def test_a_record_without_sku_id_or_model_names_no_single_product(mem_warehouse):
    con = mem_warehouse
    sample(con, "CC-3", sku_id=None, shop_id=None, product="电热水壶", model=None)
    offered(con, "S1", "K1", "辽宝 电热水壶 07型", days(PUBLISHED, D))
    assert run(con) == {}
