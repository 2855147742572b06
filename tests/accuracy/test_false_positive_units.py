"""The units and denominators of the false-positive rates (benchmarks/false_positives.py, docs/ACCURACY.md "False
positives on clean markets") for the ids that are neither listings, cells, shops nor merchants, the wide part's
source list, the ids left out of the real datasets, and the one command's time line (benchmarks/accuracy.py).
Each on a hand-made home: seconds, not a province."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from benchmarks import accuracy
from benchmarks.false_positives import (
    CFPB_IDS,
    OLIST_IDS,
    WIDE_FAMILIES,
    WIDE_SOURCES,
    Collected,
    collect_day,
    fp_rates,
    population,
    unit_of,
)
from indicators.compute import create_macros, day_lineage, run_indicator
from indicators.registry import load_catalogue
from pipelines.ingest.catalogue import all_tables
from warehouse.migrate import apply_migrations

OCT30, OCT31, NOV1 = dt.date(2026, 10, 30), dt.date(2026, 10, 31), dt.date(2026, 11, 1)


def _ind(ind_id):
    return next(i for i in load_catalogue() if i.id == ind_id)


@pytest.fixture
def con():
    c = duckdb.connect(":memory:")
    apply_migrations(c)
    yield c
    c.close()


def _observe(con, n, day, platform, shop, sku, title):
    con.execute(
        "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id, sku_id, "
        "product_name, region_code, price_type, price, currency, _business_date, _file_name, _sha256, _row) VALUES "
        "($i, $d::TIMESTAMP, $d, $p, $s, $k, $t, '210100', 'list', 10, 'CNY', $d, 'f.csv', 'x', $i)",
        {"i": str(n), "d": day, "p": platform, "s": shop, "k": sku, "t": title})


def _sample(con, n, sku, published, result):
    con.execute(
        "INSERT INTO staging.quality_sampling (sampling_id, product_name, sku_id, result, published_date, "
        "_business_date, _file_name, _sha256, _row) VALUES ($i, '电水壶', $k, $r, $p, $p, 'q.csv', 'x', $n)",
        {"i": f"LN-{n}", "k": sku, "r": result, "p": published, "n": n})


def test_the_new_ids_have_their_own_units():
    assert unit_of(_ind("competition.exclusive_dealing")) == "platforms"
    assert unit_of(_ind("advertising.absolute_terms")) == "titled_listings"
    assert unit_of(_ind("quality.failed_sample_on_sale")) == "sampled_listings"
    assert {unit_of(i) for i in load_catalogue() if i.family in ("integrity",)} == {"shops"}
    assert {unit_of(i) for i in load_catalogue() if i.family in ("complaints",)} == {"merchants"}


def test_denominators_of_platforms_titled_and_sampled_listings(con):
    n = 0
    # October 30-31: tmall A:s1 (titled), tmall A:s2 (no title), jd B:s1 (titled); November 1: jd B:s1 only
    for day in (OCT30, OCT31):
        for platform, shop, sku, title in (("tmall", "A", "s1", "电水壶 1.5L"), ("tmall", "A", "s2", None),
                                           ("jd", "B", "s1", "电水壶 1.5L")):
            n += 1
            _observe(con, n, day, platform, shop, sku, title)
    _observe(con, 99, NOV1, "jd", "B", "s1", "  ")   # a blank title is no title
    # s1 was sampled (passed) and published on 10-30: A:s1 and B:s1 are at risk from 10-31 on, not on 10-30
    _sample(con, 1, "s1", OCT30, "合格")
    # s2's result was published 200 days before: outside the rule's 180-day lookback, not at risk
    _sample(con, 2, "s2", OCT30 - dt.timedelta(days=200), "不合格")
    months = population(con, OCT30, NOV1)
    oct_share, nov_share = 2 / 31, 1 / 30
    assert months["platforms"] == pytest.approx(2 * oct_share + 1 * nov_share)
    assert months["titled_listings"] == pytest.approx(2 * oct_share)          # A:s1, B:s1 in October; none in November
    assert months["sampled_listings"] == pytest.approx(2 * oct_share + 1 * nov_share)
    assert months["listings"] == pytest.approx(3 * oct_share + 1 * nov_share)
    # only the units asked for are computed
    assert set(population(con, OCT30, NOV1, {"platforms"})) == {"platforms"}


def test_a_platform_flag_counts_against_its_platform_once_a_month(con):
    ind = _ind("competition.exclusive_dealing")
    got = Collected(ids=[ind.id], units={ind.id: unit_of(ind)})
    con.execute("CREATE SCHEMA IF NOT EXISTS work")
    for day, rows in ((OCT30, [("douyin:2026-10", True), ("pdd:2026-10", False)]),
                      (OCT31, [("douyin:2026-10", True), ("pdd:2026-10", False)]),
                      (NOV1, [("douyin:2026-10", True), ("douyin:2026-11", False), ("pdd:2026-11", False)])):
        con.execute(f'CREATE OR REPLACE TABLE work."{ind.work_table}" (entity_type VARCHAR, entity_id VARCHAR, '
                    "shop_id VARCHAR, sku_id VARCHAR, region_code VARCHAR, value DOUBLE, threshold DOUBLE, "
                    "window_start DATE, window_end DATE, evidence VARCHAR, flagged BOOLEAN)")
        for eid, flagged in rows:
            con.execute(f'INSERT INTO work."{ind.work_table}" VALUES (\'platform\', $e, NULL, NULL, NULL, 4, 3, '
                        "$d, $d, '{}', $f)", {"e": eid, "d": day, "f": flagged})
        collect_day(con, [ind], day, got)
    (row,) = fp_rates(got, {"platforms": 2.0})
    assert row["unit"] == "platforms"
    assert row["judged_entities"] == 2                    # douyin and pdd, whatever the month in the entity id
    assert row["flag_rows"] == 3
    assert row["flagged_entity_months"] == 2              # (douyin, October), (douyin, November)
    assert row["rate_per_1000"] == pytest.approx(1000.0)


def test_wide_sources_are_every_source_the_wide_ids_read():
    """The wide part ingests only WIDE_SOURCES: every staging table the integrity and complaint ids read must come
    from one of them, except the CFPB table, which the generator does not write."""
    lineage = day_lineage()
    source_of = {f"staging.{t.table}": t.source for t in all_tables()}
    read = set()
    for ind in load_catalogue():
        if ind.family in WIDE_FAMILIES:
            read |= {source_of[t] for t in lineage.sources(f"work.{ind.work_table}") if t in source_of}
    assert read - {"cfpb_complaints"} == set(WIDE_SOURCES)


def test_real_datasets_run_only_ids_that_can_flag_them(con):
    """complaints.rate_posterior is a rate per order: a CFPB company (no orders) cannot be flagged however many
    complaints it has, so the CFPB part leaves it out. Checked on the rule itself: 60 complaints against one company
    in a day and nothing else."""
    assert "complaints.rate_posterior" not in CFPB_IDS and "complaints.surge" in CFPB_IDS
    assert all(_ind(i).family in ("integrity", "discrimination") for i in OLIST_IDS)
    for n in range(60):
        con.execute(
            "INSERT INTO staging.cfpb_complaints (date_received, company, issue, timely, complaint_id, _business_date, "
            "_file_name, _sha256, _row) VALUES ($d, 'ACME CREDIT', 'Incorrect information', true, $i, $d, 'c.csv', 'x', $n)",
            {"d": OCT30, "i": str(1000 + n), "n": n})
    create_macros(con)
    ind = _ind("complaints.rate_posterior")
    assert run_indicator(con, ind, OCT30, {}) == 1       # judged ...
    assert con.execute(f'SELECT count(*) FROM work."{ind.work_table}" WHERE flagged').fetchall()[0][0] == 0  # never flagged


def test_accuracy_writes_only_its_marker_section(tmp_path):
    doc = tmp_path / "ACCURACY.md"
    doc.write_text(f"# Accuracy\n\n{accuracy.BEGIN}\nold line\n{accuracy.END}\n\n## Power curves\nkept\n", encoding="utf-8")
    line = accuracy.run_line({"power curves": (0, 400.0, 700.0), "false positives": (0, 500.0, 900.0)}, 1.0, 2.5,
                             today=dt.date(2026, 12, 6))
    assert "900 s wall (15.0 min), 1600 s CPU" in line and "within the 20-minute budget" in line
    accuracy.write_run(line, doc)
    text = doc.read_text(encoding="utf-8")
    assert "old line" not in text and line in text and text.endswith("## Power curves\nkept\n")
    over = accuracy.run_line({"false positives": (0, 1300.0, 900.0)}, 1.0, 1.0)
    assert "**over** the 20-minute budget" in over
    doc.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="markers"):
        accuracy.write_run(line, doc)
