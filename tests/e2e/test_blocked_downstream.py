"""Blocked data never flows downstream: a staging batch that failed a blocking check on day D is left out of
D+1 … D+3's leads and tiers until it is fixed and D is rerun.

Day D brings three complaints against shop S1 not answered in time, one of them with a negative
挽回经济损失 (economic_loss_recovered_yuan >= 0 is a blocking check of staging.complaints_12315). The gate of D
blocks the batch (meta.blocked_batches) and every mart built from it. D+1 … D+3 bring one timely complaint
each: with D's batch the untimely-response lead of S1 (3 of 4 untimely in 30 days) would be raised every
day; without it, none is, and S1's tier counts no lead. The corrected file replaces D's, the rerun of D
passes and clears the block, and D+1 recomputed has the lead again, naming D's complaint numbers.

Through the stage functions of pipelines.run.daily (ingest, compute, gate, publish) on one warehouse; the
catalogue is limited to the complaint indicators and the lead list and tier marts to keep the test fast;
the gate, the as-of macros, publish and the credit histories are the production code."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest

import expectations.gate as gate_mod
import indicators.compute as compute_mod
import pipelines.run.daily as daily
from pipelines.core.home import Home
from tests.e2e.test_write_audit_publish import _land

pytestmark = pytest.mark.slow

D = date(2026, 3, 10)
LATER = [D + timedelta(days=k) for k in (1, 2, 3)]
MARTS = ("indicator_flags", "merchant_credit_tiers")
USCC = "91310000MA1FL0001R"
COMPLAINTS_HEADER = ("complaint_no,registered_date,respondent_name,respondent_uscc,shop_id,region_code,"
                     "complaint_category,complaint_text,handling_status,closed_date,responded_on_time,"
                     "economic_loss_recovered_yuan")
BLOCKED_IDS = {f"C{D:%Y%m%d}-{k}" for k in (1, 2, 3)}
LEAD = "complaints.untimely_response"


def _complaint(no, day, timely, recovered="0"):
    return f"{no},{day},上海某电子有限公司,{USCC},S1,310101,质量,耳机无声,处理中,,{timely},{recovered}"


def _day_d_file(recovered_first: str) -> str:
    rows = [_complaint(f"C{D:%Y%m%d}-1", D, "否", recovered_first),
            _complaint(f"C{D:%Y%m%d}-2", D, "否"),
            _complaint(f"C{D:%Y%m%d}-3", D, "否")]
    return COMPLAINTS_HEADER + "\n" + "\n".join(rows) + "\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    root = tmp_path / "home"
    _land(root, "registry", D, "registry.csv",
          "platform,shop_id,shop_name,统一社会信用代码,企业名称,行政区划代码,成立日期\n"
          f"jd,S1,耳机旗舰店,{USCC},上海某电子有限公司,310101,2020-01-01\n")
    _land(root, "complaints_12315", D, "complaints.csv", _day_d_file("-50.00"))  # breaks a blocking check
    for day in [D, *LATER]:  # every day an order (a daily source) and, after D, one timely complaint
        _land(root, "olist", day, "olist_orders_dataset.csv",
              "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
              "order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date\n"
              f"A{day:%d},C{day:%d},delivered,{day} 09:00:00,{day} 09:10:00,,,\n")
        _land(root, "olist", day, "olist_order_items_dataset.csv",
              "order_id,order_item_id,product_id,seller_id,shipping_limit_date,price,freight_value\n"
              f"A{day:%d},1,K1,S1,{day} 18:00:00,80.00,5.00\n")
        if day != D:
            _land(root, "complaints_12315", day, "complaints.csv",
                  COMPLAINTS_HEADER + "\n" + _complaint(f"C{day:%Y%m%d}-1", day, "是") + "\n")
    catalogue = [i for i in compute_mod.load_catalogue() if i.family == "complaints"]
    marts = {"marts": {m: s for m, s in compute_mod.mart_catalogue()["marts"].items() if m in MARTS}}
    monkeypatch.setattr(compute_mod, "load_catalogue", lambda: catalogue)
    for module in (compute_mod, daily, gate_mod):
        monkeypatch.setattr(module, "mart_catalogue", lambda: marts)
    monkeypatch.setattr(daily, "after_publish", lambda con, home: None)  # the dictionary covers every mart
    return Home(root).ensure()


def _run(home, con, day):
    run_id = daily.new_run_id(day)
    daily.ingest(home, day, run_id, con=con)
    daily.compute(home, day, run_id, con=con)
    daily.gate(home, day, run_id, con=con)
    return run_id, daily.publish(home, day, run_id, con=con)


def _published(home, mart, day):
    path = home.mart_dir(mart) / f"dt={day.isoformat()}" / "part-0.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else None


def _complaint_ids(flags) -> set[str]:
    """Every complaint number named in the evidence of the leads."""
    found = set()
    for f in flags:
        evidence = json.loads(f["evidence"])
        for key, value in evidence.items():
            if key.endswith("_ids") and isinstance(value, list):
                found.update(str(v) for v in value)
    return found


def test_a_blocked_complaint_batch_stays_out_of_later_leads_and_tiers_until_fixed(home):
    with daily.writer(home) as con:
        # day D: the complaints batch fails its blocking check; it is recorded, and D's marts are blocked
        run_d, result = _run(home, con, D)
        assert set(result.blocked) == set(MARTS)
        assert any("staging.complaints_12315: expect_column_values_to_be_between(economic_loss_recovered_yuan)"
                   in msg for msg in result.blocked["indicator_flags"])
        assert con.execute("SELECT table_name, business_date, run_id, cleared_at FROM meta.blocked_batches"
                           ).fetchall() == [("staging.complaints_12315", D, run_d, None)]
        # D's own candidates were built from the batch (the gate judged it): that is what was blocked
        candidates = con.execute("SELECT evidence FROM work.mart__indicator_flags WHERE indicator_id = $i",
                                 {"i": LEAD}).fetchall()
        assert BLOCKED_IDS <= _complaint_ids([{"evidence": e} for (e,) in candidates])
        assert con.execute("SELECT count(*) FROM meta.credit_flag_history").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM meta.credit_tier_history").fetchall() == [(0,)]

        # D+1 … D+3: published, and nothing in them comes from D's complaints
        for day in LATER:
            _, result = _run(home, con, day)
            assert set(result.published) == set(MARTS), (day, result.blocked)
            flags = _published(home, "indicator_flags", day)
            assert not _complaint_ids(flags) & BLOCKED_IDS, day
            assert not [f for f in flags if f["indicator_id"] == LEAD], day  # 0 of 1 untimely: no lead
            [tier] = _published(home, "merchant_credit_tiers", day)
            assert (tier["uscc"], tier["flags_12m"], tier["contrib_flags"]) == (USCC, 0, 0), day
            assert json.loads(tier["evidence"])["flag_ids"] == []
        # the histories hold the published days only, D excluded
        assert con.execute("SELECT DISTINCT dt FROM meta.credit_tier_history ORDER BY dt").fetchall() == \
            [(day,) for day in LATER]
        assert con.execute("SELECT count(*) FROM meta.credit_flag_history WHERE dt = $d", {"d": D}
                           ).fetchall() == [(0,)]

        # the corrected file replaces D's; the rerun of D passes, clears the block and publishes D
        _land(home.root, "complaints_12315", D, "complaints.csv", _day_d_file("50.00"))
        rerun_d, result = _run(home, con, D)
        assert set(result.published) == set(MARTS) and not result.blocked
        assert con.execute("SELECT cleared_run_id FROM meta.blocked_batches WHERE table_name = "
                           "'staging.complaints_12315' AND business_date = $d", {"d": D}).fetchall() == [(rerun_d,)]
        assert BLOCKED_IDS <= _complaint_ids(_published(home, "indicator_flags", D))

        # D+1 recomputed: D's complaints are back in the lead and the tier
        _, result = _run(home, con, LATER[0])
        assert set(result.published) == set(MARTS)
        flags = _published(home, "indicator_flags", LATER[0])
        [lead] = [f for f in flags if f["indicator_id"] == LEAD]
        evidence = json.loads(lead["evidence"])
        assert set(evidence["untimely_complaint_ids"]) == BLOCKED_IDS and evidence["complaints"] == 4
        [tier] = _published(home, "merchant_credit_tiers", LATER[0])
        assert tier["flags_12m"] >= 1 and tier["contrib_flags"] > 0
        assert lead["flag_id"] in json.loads(tier["evidence"])["flag_ids"]
