"""The read-only, parallel per-source preflight: what it finds in landing/<source>/<D>/ without
opening the warehouse."""

from __future__ import annotations

import hashlib
from datetime import date

from pipelines.core.home import Home
from pipelines.run.preflight import preflight_source, preflight_task

D = date(2026, 11, 5)
HEADER = ("observation_id,observed_at,platform,shop_id,sku_id,variant,product_name,category,region_code,"
          "price_type,price,currency,reference_price,promo_start,basis_disclosed,account_cohort,device,"
          "condition,url")


def test_preflight_reports_each_file_without_a_warehouse(tmp_path):
    home = Home(tmp_path)
    folder = home.landing_dir("price_observations", D)
    folder.mkdir(parents=True)
    good = folder / "obs.csv"
    good.write_text(HEADER + "\nO1,2026-11-05 10:00:00,tmall,S1,K1,,n,c,330100,list,9.9,CNY,,,false,,,,\n",
                    encoding="utf-8")
    (folder / "missing_price.csv").write_text(HEADER.replace(",price,", ",amount,") + "\n", encoding="utf-8")
    (folder / "gbk.csv").write_bytes((HEADER + "\nO2,2026-11-05 10:00:00,天猫,S1,K1,,商品,c,330100,list,9.9,CNY,,,否,,,,\n")
                                     .encode("gb18030"))
    (folder / "notes.xlsx").write_bytes(b"PK\x03\x04")
    summary = preflight_source(home, "price_observations", D)
    by_name = {f["file"]: f for f in summary["files"]}
    assert by_name["obs.csv"]["outcome"] == "ok"
    assert by_name["obs.csv"]["sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
    assert by_name["obs.csv"]["table"] == "price_observations"
    assert by_name["gbk.csv"]["outcome"] == "ok" and by_name["gbk.csv"]["encoding"] == "gb18030"
    assert by_name["missing_price.csv"]["outcome"] == "will_be_rejected"
    assert any("missing_price.csv" in p and "required column 'price'" in p for p in summary["problems"])
    assert by_name["notes.xlsx"]["outcome"] == "ignored"
    assert not home.db_path.exists(), "preflight must never create or open the warehouse"
    assert sorted(p.name for p in folder.iterdir()) == ["gbk.csv", "missing_price.csv", "notes.xlsx", "obs.csv"]


def test_preflight_of_a_quiet_day_is_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(tmp_path))
    monkeypatch.setenv("CELERY_WORKER_NAME", "w7")
    summary = preflight_task("registry", "2026-11-05")
    assert summary["files"] == [] and summary["problems"] == []
    assert summary["worker"] == "w7"  # the distributed run reads this to see which worker ran it
    assert summary["started_at"] <= summary["ended_at"]
