"""The views that spare double counting, the value labels and the dictionary, on a small real home: the first
two days of the bundled sample run through the CLI (so the publish stage itself refreshes them)."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from indicators.compute import mart_catalogue
from pipelines.core.home import Home
from pipelines.generate.sample import sample_days
from pipelines.publish.views import value_labels_file
from pipelines.run.cli import main
from pipelines.serve.query import run_query
from tests.reliability.helpers import lay_days

DAYS = sample_days()[:2]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    root = tmp_path_factory.mktemp("views-home")
    lay_days(root, DAYS)
    assert main(["backfill", "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat(), "--home", str(root),
                 "--quiet"]) == 0
    return Home(root)


def _flags(home: Home) -> str:
    return f"read_parquet('{home.mart_dir('indicator_flags')}/dt=*/*.parquet', hive_partitioning = true)"


def test_leads_has_one_row_per_distinct_lead(home):
    con = duckdb.connect()
    # a lead is its flag_id: indicator, entity and window start (a running lead's window_end grows daily)
    distinct, lead_days, flag_ids = con.execute(
        f"SELECT count(DISTINCT (indicator_id, entity_id, window_start)), "
        f"count(DISTINCT (indicator_id, entity_id, window_start, dt)), count(DISTINCT flag_id) FROM {_flags(home)}"
    ).fetchone()
    rows = con.execute(f"SELECT count(*) FROM {_flags(home)}").fetchone()[0]
    assert rows > distinct == flag_ids > 0, "the sample's running leads repeat across days: the test needs that"
    _, leads = run_query(home, "SELECT count(*), sum(days_seen), bool_and(first_seen <= last_seen), "
                               "bool_and(days_seen <= datediff('day', first_seen, last_seen) + 1) FROM leads")
    assert leads == [(distinct, lead_days, True, True)]


def test_leads_carry_the_figures_of_their_last_day(home):
    con = duckdb.connect()
    latest = set(con.execute(
        f"SELECT indicator_id, entity_id, window_start, window_end, dt, severity, value, evidence FROM {_flags(home)} "
        "QUALIFY dt = max(dt) OVER (PARTITION BY indicator_id, entity_id, window_start)").fetchall())
    _, leads = run_query(home, "SELECT indicator_id, entity_id, window_start, window_end, last_seen, severity, value, "
                               "evidence FROM leads")
    assert set(leads) == latest


def _manifest_rows(home: Home, mart: str) -> dict[str, int]:
    path = home.manifest_path(mart)
    if not path.exists():  # a home laid out before 0.2.0
        path = home.legacy_manifest_path(mart)
    return {day: p["rows"] for day, p in json.loads(path.read_text(encoding="utf-8"))["partitions"].items()}


def test_latest_views_hold_the_newest_partition_of_every_mart(home):
    marts = [m for m in mart_catalogue()["marts"] if home.partition_files(m)]
    assert "indicator_flags" in marts and "merchant_credit_tiers" in marts
    for mart in marts:
        manifest = _manifest_rows(home, mart)
        newest = max(manifest)
        _, rows = run_query(home, f"SELECT count(*), count(DISTINCT dt), max(dt)::VARCHAR FROM {mart}_latest")
        assert rows == [(manifest[newest], 1 if manifest[newest] else 0, newest if manifest[newest] else None)], mart


def test_complaint_rates_month_final_keeps_each_months_last_partition(home):
    con = duckdb.connect()
    expected = con.execute(
        f"SELECT 1 FROM read_parquet('{home.mart_dir('complaint_rates')}/dt=*/*.parquet', hive_partitioning = true) "
        "QUALIFY dt = max(dt) OVER (PARTITION BY month)").fetchall()
    _, rows = run_query(home, "SELECT count(*), count(DISTINCT dt) FROM complaint_rates_month_final")
    _, every_day = run_query(home, "SELECT count(*) FROM complaint_rates")
    assert rows[0][0] == len(expected) and rows[0][0] < every_day[0][0]
    months = {d.replace(day=1) for d in DAYS}
    assert rows[0][1] == len(months)


def test_publish_refreshes_the_warehouse_views_and_the_dictionary(home):
    """`run` itself (no test helper) made the views, with comments, and both dictionary files."""
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() "
                                 "WHERE schema_name = 'main' AND NOT internal").fetchall())
        column = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'merchant_credit_tiers_latest' "
                             "AND column_name = 'tier'").fetchone()[0]
    finally:
        con.close()
    for view in ("indicator_flags", "indicator_flags_latest", "leads", "complaint_rates_month_final",
                 "merchant_credit_tiers_latest", "data_dictionary", "value_labels"):
        assert views.get(view), view
    assert column.startswith("信用风险分类 — ")
    assert home.dictionary_file.exists() and value_labels_file(home).exists()


def test_every_value_of_a_labelled_column_has_a_label(home):
    """The value labels cover what the marts really publish (a new code needs its label in the mart yml)."""
    labels = pq.read_table(value_labels_file(home)).to_pylist()
    assert {r["column_name"] for r in labels} >= {"severity", "tier", "family", "check_status", "entity_type",
                                                  "indicator_id", "flag_cn_reference_7d"}
    assert all(r["label_zh"] and r["label_en"] for r in labels)
    missing = []
    for mart, column in sorted({(r["mart"], r["column_name"]) for r in labels}):
        if not home.partition_files(mart):
            continue
        _, rows = run_query(home, f'SELECT DISTINCT "{column}"::VARCHAR FROM {mart} WHERE "{column}" IS NOT NULL')
        known = {r["value"] for r in labels if r["mart"] == mart and r["column_name"] == column}
        missing += [f"{mart}.{column}={v}" for (v,) in rows if v not in known]
    assert missing == []
    _, rows = run_query(home, "SELECT label_zh, label_en FROM value_labels WHERE mart = 'merchant_credit_tiers' "
                              "AND column_name = 'tier' AND value = 'D'")
    assert rows == [("信用风险高（D类）", "high credit risk (D)")]


def test_query_lists_the_views_with_comments_through_the_cli(home, capsys):
    assert main(["query", "--home", str(home.root), "--format", "json",
                 "select view_name, comment from duckdb_views() where not internal"]) == 0
    views = {r["view_name"]: r["comment"] for r in json.loads(capsys.readouterr().out)}
    for mart in (m for m in mart_catalogue()["marts"] if home.partition_files(m)):
        assert views[mart] and views[f"{mart}_latest"], mart
    assert views["leads"] and views["complaint_rates_month_final"]
