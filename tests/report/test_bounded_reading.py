"""The bulletin reads only what it shows: the top leads' rank in SQL is the page's rank, and the dossiers it writes
are bounded (the shown leads' merchants and the riskiest tier C/D merchants), whatever the day's number of leads."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.home import Home
from pipelines.serve.bulletin import data, page, sections
from pipelines.serve.bulletin.dossier import file_name, merchants_of_leads
from tests.report.fakehome import RUN_DATE, _flag_schema, _publish, fake_home_with_bulletin
from warehouse.db import connect_writer


def _row(k: int, family: str, severity: str | None, value, threshold, indicator: str = "price.spike_mad") -> dict:
    return {"dt": RUN_DATE, "flag_id": f"f{k:03d}", "indicator_id": indicator, "family": family,
            "entity_type": "shop", "entity_id": f"E{k % 7}", "platform": "tmall", "shop_id": f"S{k:03d}",
            "uscc": None, "sku_id": "690", "region_code": "210100", "window_start": RUN_DATE, "window_end": RUN_DATE,
            "value": value, "threshold": threshold, "severity": severity, "evidence": json.dumps({}),
            "policy_ref": "p", "pipeline_version": "t", "schema_version": 1}


def _awkward_flags() -> list[dict]:
    """Values the rank must not trip on: zero, missing and NaN thresholds, missing and infinite values, ties,
    an unknown severity; two families."""
    values = [(2.0, 1.0), (3.0, 0.0), (5.0, None), (None, 1.0), (math.nan, 1.0), (4.0, math.nan), (math.inf, 1.0),
              (2.0, 1.0), (-6.0, 2.0), (1.5, -0.5), (0.2, 0.1), (7.0, 7.0)]
    rows = []
    for k, (v, t) in enumerate(values * 2):
        family = "price" if k < len(values) else "integrity"
        severity = ["high", "medium", "low", None, "high", "weird"][k % 6]
        rows.append(_row(k, family, severity, v, t, "price.spike_mad" if family == "price" else "integrity.rating_burst"))
    return rows


@pytest.fixture(scope="module")
def awkward_home(tmp_path_factory) -> Home:
    from warehouse.migrate import apply_migrations

    home = Home(tmp_path_factory.mktemp("awkward")).ensure()
    con = connect_writer(home.db_path)
    try:
        apply_migrations(con)
        _publish(con, home, "indicator_flags", RUN_DATE, pa.Table.from_pylist(_awkward_flags(), schema=_flag_schema()),
                 "awkward")
    finally:
        con.close()
    return home


@pytest.mark.parametrize("per_family", [1, 3, 5, 12])
def test_the_sql_top_is_the_pages_rank(awkward_home, per_family):
    """data.top_flags (SQL, reads per_family rows a family) picks the rows sections.top_leads ranks first when
    given every lead (Python), in the same order."""
    every = pq.read_table(awkward_home.partition_file("indicator_flags", RUN_DATE)).to_pylist()
    con = connect_writer(awkward_home.db_path)
    try:
        top_sql = data.top_flags(con, awkward_home, RUN_DATE, per_family)
    finally:
        con.close()
    assert len(top_sql) == 2 * min(per_family, 12)
    expected = {g["en"]: [r["flag_id"] for r in g["rows"][:per_family]] for g in sections.top_leads(every, {})}
    got = {g["en"]: [r["flag_id"] for r in g["rows"]] for g in sections.top_leads(top_sql, {})}
    assert got == expected


def test_a_day_without_leads_reads_nothing(awkward_home):
    con = connect_writer(awkward_home.db_path)
    try:
        other = RUN_DATE - timedelta(days=5)
        assert data.top_flags(con, awkward_home, other, 3) == []
        assert data.flag_groups(con, awkward_home, other) == []
        assert data.new_leads(con, awkward_home, RUN_DATE) is None  # no partition the day before
    finally:
        con.close()


@pytest.fixture(scope="module")
def small_page(tmp_path_factory, monkeypatch_module):
    """The fake home's bulletin with room for one lead a family and two tier C/D dossiers."""
    monkeypatch_module.setattr(sections, "TOP_PER_FAMILY", 1)
    monkeypatch_module.setattr(page, "DOSSIER_TIERS", 2)
    return fake_home_with_bulletin(tmp_path_factory.mktemp("small-page"))


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_only_the_shown_leads_are_listed_and_the_rest_are_counted(small_page):
    home, bulletin = small_page
    today = pq.read_table(home.partition_file("indicator_flags", RUN_DATE)).to_pylist()
    text = bulletin.path.read_text(encoding="utf-8")
    per_family = {}
    for r in today:
        per_family[r["family"]] = per_family.get(r["family"], 0) + 1
    assert len(re.findall(r'<tr class="lead"', text)) == len(per_family)
    for family, n in per_family.items():
        if n > 1:
            assert f"The other {n - 1} leads are in the indicator_flags mart" in text, family
    assert bulletin.headline["total"] == len(today)


def test_dossiers_are_the_shown_leads_merchants_and_the_riskiest_tiers(small_page):
    home, bulletin = small_page
    today = pq.read_table(home.partition_file("indicator_flags", RUN_DATE)).to_pylist()
    tiers = pq.read_table(home.partition_file("merchant_credit_tiers", RUN_DATE)).to_pylist()
    risky = sorted((t for t in tiers if t["tier"] in "CD"), key=lambda t: (t["tier"] != "D", -t["score"], t["uscc"]))
    assert len(risky) > 2, "the fake home needs more than two tier C/D merchants for this test"
    shown = sections.top_leads(today, {})
    wanted = merchants_of_leads([r for g in shown for r in g["rows"][:1]]) | {t["uscc"] for t in risky[:2]}
    folder = bulletin.path.parent / "merchants"
    written = {p.name for p in folder.glob("*.html")}
    assert written == {file_name(m) for m in wanted}
    text = bulletin.path.read_text(encoding="utf-8")
    assert f"{len(risky) - 2} more tier C/D merchants are not listed here" in text
    assert f"--date {RUN_DATE} --merchant USCC" in text
