"""Write–audit–publish end to end through the CLI: one mart's candidate batch is broken after it is
written (a test-only hook around the compute stage); the gate blocks that mart only.

The catalogue is limited to the foundation indicator and its two marts so that marts being built
elsewhere do not decide this test; the gate, publish and CLI are the production code paths."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date

import duckdb
import pytest

import expectations.gate as gate
import indicators.compute as compute_mod
import pipelines.publish.dictionary as dictionary
import pipelines.publish.snapshot as snapshot
import pipelines.publish.views as views
import pipelines.run.daily as daily
from pipelines.run.cli import main

pytestmark = pytest.mark.slow

D1, D2 = date(2026, 3, 9), date(2026, 3, 10)
BROKEN = "price_reference_checks"
OTHER = "indicator_flags"
PRICE_HEADER = ("observation_id,observed_at,platform,shop_id,sku_id,variant,product_name,category,region_code,"
                "price_type,price,currency,reference_price,promo_start,basis_disclosed,account_cohort,device,"
                "condition,url")


def _land(home, source, day, name, text):
    folder = home / "landing" / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _price(oid, day, price_type, price, reference="", promo_start=""):
    return (f"{oid},{day} 10:00:00,jd,S1,K1,,耳机,electronics,310101,{price_type},{price},CNY,{reference},"
            f"{promo_start},false,,ios,new,")


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    _land(home, "registry", D1, "registry.csv",
          "platform,shop_id,shop_name,统一社会信用代码,企业名称,行政区划代码,成立日期\n"
          "jd,S1,耳机旗舰店,91310000MA1FL0001R,上海某电子有限公司,310101,2020-01-01\n")
    _land(home, "olist", D1, "olist_orders_dataset.csv",
          "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
          "order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date\n"
          f"A1,C1,delivered,{D1} 09:00:00,{D1} 09:10:00,,,\n"
          f"A2,C2,delivered,{D1} 11:00:00,{D1} 11:10:00,,,\n")
    _land(home, "olist", D1, "olist_order_items_dataset.csv",
          "order_id,order_item_id,product_id,seller_id,shipping_limit_date,price,freight_value\n"
          f"A1,1,K1,S1,{D1} 18:00:00,80.00,5.00\nA2,1,K1,S1,{D1} 18:00:00,85.00,5.00\n")
    _land(home, "olist", D2, "olist_orders_dataset.csv",  # olist is expected daily (freshness)
          "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
          "order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date\n"
          f"A3,C3,delivered,{D2} 09:00:00,{D2} 09:10:00,,,\n")
    _land(home, "price_observations", D1, "obs.csv",
          PRICE_HEADER + "\n" + _price("o1", D1, "list", "120.00") + "\n")
    _land(home, "price_observations", D2, "obs.csv",
          PRICE_HEADER + "\n" + _price("o2", D2, "promo", "99.00", "129.00", D2.isoformat()) + "\n"
          + _price("o3", D2, "list", "129.00") + "\n")
    # only the foundation indicator and its marts (see the module docstring)
    from indicators.registry import mart_sql

    used = set(re.findall(r"work\.(ind__\w+)", mart_sql(BROKEN))) | {"ind__price__cn_reference_7d"}
    catalogue = [i for i in compute_mod.load_catalogue() if i.work_table in used]
    marts = {"marts": {m: s for m, s in compute_mod.mart_catalogue()["marts"].items() if m in (OTHER, BROKEN)}}
    monkeypatch.setattr(compute_mod, "load_catalogue", lambda: catalogue)
    monkeypatch.setattr(compute_mod, "mart_catalogue", lambda: marts)
    monkeypatch.setattr(daily, "mart_catalogue", lambda: marts)
    monkeypatch.setattr(gate, "mart_catalogue", lambda: marts)  # the gate runs the suites of these marts only
    for module in (dictionary, snapshot, views):  # the views and the dictionary refreshed after publish
        monkeypatch.setattr(module, "mart_catalogue", lambda: marts)
    return home


def _break_one_mart(monkeypatch):
    original = daily.compute

    def compute_then_corrupt(home, run_date, run_id, con=None, triggered_by="cli"):
        counts = original(home, run_date, run_id, con=con, triggered_by=triggered_by)
        con.execute(f"UPDATE work.mart__{BROKEN} SET promo_price = -promo_price")  # after write, before audit
        return counts

    monkeypatch.setattr(daily, "compute", compute_then_corrupt)


def _run(home, day, capsys):
    code = main(["run", "--home", str(home), "--date", day.isoformat()])
    out = capsys.readouterr()
    print(out.out, out.err)  # the summary line with each stage's seconds, and any message
    return code, out.err


def _part(home, mart, day):
    return home / "marts" / mart / f"dt={day.isoformat()}" / "part-0.parquet"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _published_run(home, mart, day):
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT run_id FROM meta.published_partitions WHERE mart = ? AND dt = ?",
                           [mart, day]).fetchall()
    finally:
        con.close()


def test_a_broken_mart_batch_is_not_published_and_the_rest_is(home, monkeypatch, capsys):
    assert _run(home, D1, capsys)[0] == 0
    first_day = {m: _sha(_part(home, m, D1)) for m in (OTHER, BROKEN)}

    # 1. a new date whose batch is broken: not published at all, the other mart is
    with monkeypatch.context() as m:
        _break_one_mart(m)
        code, err = _run(home, D2, capsys)
    assert code == 1
    assert "quality gate blocked 1 mart(s)" in err
    assert f"{BROKEN}: mart.{BROKEN}: expect_column_values_to_be_between(promo_price)" in err
    assert not _part(home, BROKEN, D2).exists()
    assert _part(home, OTHER, D2).exists()
    assert {m: _sha(_part(home, m, D1)) for m in (OTHER, BROKEN)} == first_day
    quarantine = home / "quarantine" / f"mart.{BROKEN}" / D2.isoformat()
    validation = json.loads((quarantine / "validation.json").read_text(encoding="utf-8"))
    assert validation["published"] is False
    assert any("promo_price" in f for f in validation["failed_checks"])
    failed = [r for r in validation["results"] if not r["success"]]
    assert [(r["suite"], r["column_name"], r["severity"]) for r in failed] == [(f"mart.{BROKEN}", "promo_price", "blocking")]
    import pyarrow.parquet as pq

    batch = pq.read_table(quarantine / "batch.parquet")
    assert batch.num_rows >= 1 and min(batch.column("promo_price").to_pylist()) < 0

    # 2. the fixed rerun publishes D2; 3. a broken rerun leaves that partition exactly as it was
    assert _run(home, D2, capsys)[0] == 0
    good = _sha(_part(home, BROKEN, D2))
    good_run = _published_run(home, BROKEN, D2)
    other_run = _published_run(home, OTHER, D2)
    with monkeypatch.context() as m:
        _break_one_mart(m)
        code, err = _run(home, D2, capsys)
    assert code == 1 and f"mart.{BROKEN}: expect_column_values_to_be_between(promo_price)" in err
    assert _sha(_part(home, BROKEN, D2)) == good
    assert _published_run(home, BROKEN, D2) == good_run  # still the partition of the good run
    assert _published_run(home, OTHER, D2) != other_run  # the other mart was republished by this run
    assert sorted(p.name for p in _part(home, BROKEN, D2).parent.iterdir()) == ["part-0.parquet"]

    # the failure is recorded and visible: warehouse, alerts, quality pages and Data Docs
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        fails = con.execute("SELECT count(*) FROM meta.quality_results WHERE suite = $s AND column_name = 'promo_price' "
                            "AND NOT success AND business_date = $d", {"s": f"mart.{BROKEN}", "d": D2}).fetchall()
        alerts = con.execute("SELECT count(*) FROM meta.alerts WHERE message LIKE $m",
                             {"m": f"mart {BROKEN} for {D2} not published%"}).fetchall()
    finally:
        con.close()
    assert fails == [(2,)] and alerts == [(2,)]
    index = (home / "quality" / "index.html").read_text(encoding="utf-8")
    assert "gx/uncommitted/data_docs/local_site/index.html" in index and f"results/{D2}/index.html" in index
    docs = home / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert (docs / "index.html").exists()
    assert any(f"mart.{BROKEN}" in p.read_text(encoding="utf-8", errors="ignore") or BROKEN in str(p)
               for p in (docs / "validations").rglob("*.html"))
