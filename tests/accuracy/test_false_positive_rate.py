"""The false-positive control of docs/ACCURACY.md ("False positives on clean markets", benchmarks/false_positives.py):
the generator's clean mode plants nothing but keeps the world, and the rate counts flagged entity-months per 1,000
clean entity-months as documented, on a tiny hand-made home."""

from __future__ import annotations

import csv
import datetime as dt

import duckdb
import pytest

from benchmarks.false_positives import Collected, collect_day, fp_rates, poisson_upper95, population, unit_of
from indicators.registry import load_catalogue
from pipelines.core.home import Home
from pipelines.generate import generate
from pipelines.generate.world import build_world
from warehouse.migrate import apply_migrations

START = dt.date(2026, 10, 29)


def test_clean_world_is_the_same_world_without_plants():
    planted = build_world(START, 14, 0.02, 20261111)
    clean = build_world(START, 14, 0.02, 20261111, clean=True)
    assert len(planted.plants) > 0 and clean.plants == []
    assert set(clean.shop_plant) <= {"", "trap_single"}      # the clean trap shop stays: it must not be flagged
    n = int((planted.shop_plant == "").sum())
    assert n > 50
    # the background shops (they come first) and the SKUs are the same: only the planted shops are missing
    assert list(clean.shop_id[:n]) == list(planted.shop_id[:n])
    assert list(clean.shop_city[:n]) == list(planted.shop_city[:n])
    assert list(clean.sku_id) == list(planted.sku_id)


def test_clean_province_has_empty_ground_truth(tmp_path):
    summary = generate(tmp_path / "clean", START, 2, scale=0.02, seed=7, clean=True)
    assert summary["ground_truth_rows"] == 0
    with open(tmp_path / "clean" / "ground_truth.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 and rows[0][0] == "indicator_id"   # the header only
    assert summary["price_observations"] > 1000 and summary["olist_orders_dataset"] > 100
    planted = generate(tmp_path / "planted", START, 2, scale=0.02, seed=7)
    assert planted["ground_truth_rows"] > 0


def _work_table(con, rows):
    """work.ind__price__spike_mad as compute leaves it: one row per judged listing-day, `flagged` on some."""
    con.execute("CREATE SCHEMA IF NOT EXISTS work")
    con.execute("CREATE OR REPLACE TABLE work.ind__price__spike_mad (entity_type VARCHAR, entity_id VARCHAR, "
                "shop_id VARCHAR, sku_id VARCHAR, region_code VARCHAR, value DOUBLE, threshold DOUBLE, "
                "window_start DATE, window_end DATE, evidence VARCHAR, flagged BOOLEAN)")
    for shop, sku, day, flagged in rows:
        con.execute("INSERT INTO work.ind__price__spike_mad VALUES ('listing_day', $e, $s, $k, '210100', 4.0, 3.5, "
                    "$d, $d, '{}', $f)", {"e": f"{shop}:{sku}:{day}", "s": shop, "k": sku, "d": day, "f": flagged})


def test_rate_per_1000_entity_months_on_a_hand_made_home(tmp_path):
    home = Home(tmp_path / "home").ensure()
    con = duckdb.connect(str(home.db_path))
    try:
        apply_migrations(con)
        days = [dt.date(2026, 10, 30), dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2)]
        # October: 4 listings observed (2 shops x 2 SKUs); November: only shop A's 2 listings
        n = 0
        for d in days:
            for shop in ("A", "B") if d.month == 10 else ("A",):
                for sku in ("s1", "s2"):
                    n += 1
                    con.execute(
                        "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, "
                        "shop_id, sku_id, region_code, price_type, price, currency, _business_date, _file_name, "
                        "_sha256, _row) VALUES ($i, $d::TIMESTAMP, $d, 'tmall', $s, $k, '210100', 'list', 10, 'CNY', "
                        "$d, 'f.csv', 'x', $i)", {"i": n, "d": d, "s": shop, "k": sku})
        ind = next(i for i in load_catalogue() if i.id == "price.spike_mad")
        assert unit_of(ind) == "listings"
        got = Collected(ids=[ind.id], units={ind.id: unit_of(ind)})
        flags_by_day = {
            days[0]: [("A", "s1")],                # A:s1 flagged on two October days: one entity-month
            days[1]: [("A", "s1")],
            days[2]: [("A", "s1"), ("A", "s2")],   # again in November (a second entity-month), and A:s2
            days[3]: [],
        }
        for d in days:
            judged = [(s, k) for s in ("A", "B") for k in ("s1", "s2") if d.month == 10 or s == "A"]
            _work_table(con, [(s, k, d, (s, k) in flags_by_day[d]) for s, k in judged])
            collect_day(con, [ind], d, got)
        months = population(con, days[0], days[-1])
    finally:
        con.close()
    # 4 listings x 2 of October's 31 days + 2 listings x 2 of November's 30 days
    entity_months = 4 * 2 / 31 + 2 * 2 / 30
    assert months["listings"] == pytest.approx(entity_months)
    (row,) = fp_rates(got, months)
    assert row["flag_rows"] == 4
    assert row["flagged_entity_months"] == 3           # (A:s1, Oct), (A:s1, Nov), (A:s2, Nov)
    assert row["judged_entities"] == 4
    assert row["rate_per_1000"] == pytest.approx(1000 * 3 / entity_months)
    assert row["upper95_per_1000"] == pytest.approx(1000 * poisson_upper95(3) / entity_months)


def test_poisson_upper_bound():
    assert poisson_upper95(0) == pytest.approx(-__import__("math").log(0.05), rel=1e-6)   # 2.996
    assert poisson_upper95(3) == pytest.approx(7.754, abs=1e-3)                           # tables: 7.75
