"""Two runs cannot interleave on the shared work tables, and publish writes exactly the audited batch.

Through the stage functions (pipelines.run.daily), as the two DAG paths or a DAG and the CLI would call
them: compute D1, compute D2 (refused: D1 holds the candidates), gate D1, publish D1, then D2. Each
partition holds only its own date's rows, as many as its gate validated. The catalogue is limited to the
foundation indicator and its two marts (as in test_write_audit_publish) to keep the test fast."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest

import expectations.gate as gate_mod
import indicators.compute as compute_mod
import pipelines.run.daily as daily
from indicators import candidates
from pipelines.core.errors import RunError
from pipelines.core.home import Home
from tests.e2e.test_write_audit_publish import BROKEN, OTHER, PRICE_HEADER, _land, _price

pytestmark = pytest.mark.slow

D1, D2 = date(2026, 3, 9), date(2026, 3, 10)
MARTS = (OTHER, BROKEN)


@pytest.fixture
def home(tmp_path, monkeypatch):
    root = tmp_path / "home"
    _land(root, "registry", D1, "registry.csv",
          "platform,shop_id,shop_name,统一社会信用代码,企业名称,行政区划代码,成立日期\n"
          "jd,S1,耳机旗舰店,91310000MA1FL0001R,上海某电子有限公司,310101,2020-01-01\n")
    _land(root, "olist", D1, "olist_orders_dataset.csv",
          "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
          "order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date\n"
          f"A1,C1,delivered,{D1} 09:00:00,{D1} 09:10:00,,,\n")
    _land(root, "olist", D1, "olist_order_items_dataset.csv",
          "order_id,order_item_id,product_id,seller_id,shipping_limit_date,price,freight_value\n"
          f"A1,1,K1,S1,{D1} 18:00:00,80.00,5.00\n")
    _land(root, "olist", D2, "olist_orders_dataset.csv",  # olist is expected daily (freshness)
          "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
          "order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date\n"
          f"A3,C3,delivered,{D2} 09:00:00,{D2} 09:10:00,,,\n")
    _land(root, "price_observations", D1, "obs.csv", PRICE_HEADER + "\n"
          + _price("o1", D1, "promo", "79.00", "129.00", D1.isoformat()) + "\n")
    _land(root, "price_observations", D2, "obs.csv", PRICE_HEADER + "\n"
          + _price("o2", D2, "promo", "99.00", "129.00", D2.isoformat()) + "\n"
          + _price("o3", D2, "promo", "98.00", "139.00", D2.isoformat()) + "\n")
    from indicators.registry import mart_sql

    used = set(re.findall(r"work\.(ind__\w+)", mart_sql(BROKEN))) | {"ind__price__cn_reference_7d"}
    catalogue = [i for i in compute_mod.load_catalogue() if i.work_table in used]
    marts = {"marts": {m: s for m, s in compute_mod.mart_catalogue()["marts"].items() if m in MARTS}}
    monkeypatch.setattr(compute_mod, "load_catalogue", lambda: catalogue)
    for module in (compute_mod, daily, gate_mod):
        monkeypatch.setattr(module, "mart_catalogue", lambda: marts)
    monkeypatch.setattr(daily, "after_publish", lambda con, home: None)  # the dictionary covers every mart
    return Home(root).ensure()


def _partition(home, mart, day):
    return pq.read_table(home.mart_dir(mart) / f"dt={day.isoformat()}" / "part-0.parquet")


def _validated(con, run_id, mart):
    return candidates.validated_rows(con, run_id)[f"mart.{mart}"]


def _audited(con, day):
    """The rows the gate just validated (the partition column dt is the folder name once published)."""
    return {m: con.sql(f"SELECT * EXCLUDE (dt) FROM work.mart__{m} WHERE dt = $d ORDER BY ALL",  # noqa: S608 - test constants
                       params={"d": day}).arrow().read_all().to_pylist() for m in MARTS}


def test_interleaved_dates_are_refused_and_each_partition_holds_its_audited_rows(home):
    r1, r2 = daily.new_run_id(D1), daily.new_run_id(D2)
    with daily.writer(home) as con:
        daily.ingest(home, D1, r1, con=con)
        daily.ingest(home, D2, r2, con=con)
        daily.compute(home, D1, r1, con=con)
        with pytest.raises(candidates.CandidatesBusy, match=f"run {r1} computed the candidates for {D1}"):
            daily.compute(home, D2, r2, con=con)  # the second run waits its turn: refused, nothing changed
        daily.gate(home, D1, r1, con=con)
        audited = {D1: _audited(con, D1)}
        first = daily.publish(home, D1, r1, con=con)
        assert candidates.holder(con) is None  # publish gave the work tables back
        d1_validated = {m: _validated(con, r1, m) for m in MARTS}

        daily.compute(home, D2, r2, con=con)
        daily.gate(home, D2, r2, con=con)
        audited[D2] = _audited(con, D2)
        second = daily.publish(home, D2, r2, con=con)
        d2_validated = {m: _validated(con, r2, m) for m in MARTS}

    assert not first.blocked and not second.blocked
    assert d1_validated[BROKEN] >= 1 and d2_validated[BROKEN] >= 1  # a promotion seen on each date
    for day, result, validated in ((D1, first, d1_validated), (D2, second, d2_validated)):
        for mart in MARTS:
            table = _partition(home, mart, day)
            assert result.published[mart] == table.num_rows == validated[mart], (mart, day)
            assert table.to_pylist() == audited[day][mart], (mart, day)  # exactly the audited rows
    assert sorted(_partition(home, BROKEN, D2).column("promotion_id").to_pylist()) != \
        sorted(_partition(home, BROKEN, D1).column("promotion_id").to_pylist())


def test_a_gate_or_publish_on_another_runs_candidates_is_refused(home):
    r1, r2 = daily.new_run_id(D1), daily.new_run_id(D2)
    with daily.writer(home) as con:
        daily.ingest(home, D1, r1, con=con)
        daily.ingest(home, D2, r2, con=con)
        daily.compute(home, D1, r1, con=con)
        daily.gate(home, D1, r1, con=con)
        # D1's run stalls; hours later another run takes the expired lease and computes D2
        later = datetime.now() + timedelta(hours=candidates.LEASE_HOURS + 1)
        candidates.claim(con, r2, D2, now=later)
        compute_mod.compute_day(con, D2, {})
        with pytest.raises(candidates.CandidatesBusy, match=f"hold the candidates of run {r2} for {D2}"):
            daily.publish(home, D1, r1, con=con)
        with pytest.raises(candidates.CandidatesBusy, match="Rerun compute"):
            daily.gate(home, D1, r1, con=con)
    assert not (home.mart_dir(BROKEN) / f"dt={D1.isoformat()}").exists()  # D2's rows never went out as D1


def test_publish_fails_when_the_batch_is_not_the_one_audited(home):
    r1 = daily.new_run_id(D1)
    with daily.writer(home) as con:
        daily.ingest(home, D1, r1, con=con)
        daily.compute(home, D1, r1, con=con)
        daily.gate(home, D1, r1, con=con)
        # a row of another date is never published under D1 (publish reads dt = D1, as the gate did) ...
        con.execute(f"INSERT INTO work.mart__{OTHER} SELECT * REPLACE ($d::DATE AS dt) FROM work.mart__{OTHER}",
                    {"d": D2})
        # ... and a row added for D1 after the audit fails the publish instead of going out unaudited
        con.execute(f"INSERT INTO work.mart__{BROKEN} SELECT * FROM work.mart__{BROKEN}")
        with pytest.raises(RunError, match=rf"{BROKEN} holds 2 rows for dt = {D1} but the gate validated 1"):
            daily.publish(home, D1, r1, con=con)
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        published = con.execute("SELECT mart, dt, rows FROM meta.published_partitions ORDER BY mart").fetchall()
    finally:
        con.close()
    assert published == [] or all(dt == D1 for _, dt, _ in published)


def test_an_empty_batch_still_runs_the_table_level_checks():
    """Column checks hold vacuously on no rows and are skipped; the row-count bounds are not: a day with
    one price file delivered and no rows loaded from it is blocked."""
    import pandas as pd

    empty = pd.DataFrame({"observation_id": pd.Series([], dtype="object")})
    outcome = gate_mod.validate_frame("staging.price_observations", empty, D1, {"files": 1})
    row_counts = [r for r in outcome.results if r.expectation == "expect_table_row_count_to_be_between"]
    assert [(r.severity, r.success) for r in row_counts if r.severity == "blocking"] == [("blocking", False)]
    assert [r.expectation for r in outcome.results if r.expectation == "empty_batch"] == ["empty_batch"]
    assert not outcome.passed
