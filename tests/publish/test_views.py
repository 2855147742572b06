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


def _episodes(rows: list[tuple]) -> dict[tuple, list[tuple]]:
    """(indicator, entity, first date of a run of consecutive dates) -> its rows: the lead as the bulletin reads it,
    computed here in Python from the published rows, independently of the view's SQL."""
    by_pair: dict[tuple, list[tuple]] = {}
    for row in rows:
        by_pair.setdefault((row[0], row[1]), []).append(row)
    out: dict[tuple, list[tuple]] = {}
    for pair, items in by_pair.items():
        start = prev = None
        for row in sorted(items, key=lambda r: r[2]):
            day = row[2]
            if prev is None or (day - prev).days > 1:
                start = day
            prev = day
            out.setdefault(pair + (start,), []).append(row)
    return out


def test_leads_has_one_row_per_distinct_lead(home):
    con = duckdb.connect()
    rows = con.execute(f"SELECT indicator_id, entity_id, dt, window_start, flag_id FROM {_flags(home)}").fetchall()
    episodes = _episodes(rows)
    sliding = [e for e in episodes.values() if len({r[3] for r in e}) > 1]
    assert len(rows) > len(episodes) > 0, "the sample's running leads repeat across days: the test needs that"
    assert sliding, "the sample has 28-day rules whose window start slides with the run date: the test needs them"
    _, leads = run_query(home, "SELECT count(*), sum(days_seen), bool_and(first_seen <= last_seen), "
                               "bool_and(days_seen <= datediff('day', first_seen, last_seen) + 1) FROM leads")
    days = sum(len({r[2] for r in e}) for e in episodes.values())
    assert leads == [(len(episodes), days, True, True)]
    # one sliding lead is one row, with its earliest window start
    ind, ent, first = next((k for k, e in episodes.items() if len({r[3] for r in e}) > 1))
    _, one = run_query(home, f"SELECT window_start, first_seen, days_seen FROM leads WHERE indicator_id = '{ind}' "
                             f"AND entity_id = '{ent}' AND first_seen = DATE '{first}'")
    e = episodes[(ind, ent, first)]
    assert one == [(min(r[3] for r in e), first, len({r[2] for r in e}))]


def test_a_day_without_the_flag_ends_a_lead():
    """Given rows of one entity: a sliding 28-day window flagged on 3 consecutive days, then not, then again."""
    from pipelines.publish.views import LEADS

    con = duckdb.connect()
    con.execute("CREATE TABLE indicator_flags AS SELECT * FROM (VALUES "
                "('price.sustained_below_market', 'price', 'listing', 'S1:K1', DATE '2026-10-05', DATE '2026-11-01', "
                " DATE '2026-11-01', 'f1', 't', 'S1', 'U1', 'K1', '210100', 'low', 1.0, 0.5, '{}', 'p'),"
                "('price.sustained_below_market', 'price', 'listing', 'S1:K1', DATE '2026-10-06', DATE '2026-11-02', "
                " DATE '2026-11-02', 'f2', 't', 'S1', 'U1', 'K1', '210100', 'high', 2.0, 0.5, '{}', 'p'),"
                "('price.sustained_below_market', 'price', 'listing', 'S1:K1', DATE '2026-10-07', DATE '2026-11-03', "
                " DATE '2026-11-03', 'f3', 't', 'S1', 'U1', 'K1', '210100', 'medium', 3.0, 0.5, '{}', 'p'),"
                "('price.sustained_below_market', 'price', 'listing', 'S1:K1', DATE '2026-10-09', DATE '2026-11-05', "
                " DATE '2026-11-05', 'f5', 't', 'S1', 'U1', 'K1', '210100', 'low', 4.0, 0.5, '{}', 'p'),"
                "('price.spike_mad', 'price', 'listing', 'S1:K1', DATE '2026-11-02', DATE '2026-11-02', "
                " DATE '2026-11-02', 'g2', 't', 'S1', 'U1', 'K1', '210100', 'low', 9.0, 3.5, '{}', 'p')"
                ") AS t(indicator_id, family, entity_type, entity_id, window_start, window_end, dt, flag_id, platform, "
                "shop_id, uscc, sku_id, region_code, severity, value, threshold, evidence, policy_ref)")
    got = con.execute(f"SELECT indicator_id, window_start, window_end, first_seen, last_seen, days_seen, severity, "
                      f"value FROM ({LEADS.sql()}) ORDER BY indicator_id, first_seen").fetchall()
    d = __import__("datetime").date
    assert got == [
        ("price.spike_mad", d(2026, 11, 2), d(2026, 11, 2), d(2026, 11, 2), d(2026, 11, 2), 1, "low", 9.0),
        ("price.sustained_below_market", d(2026, 10, 5), d(2026, 11, 3), d(2026, 11, 1), d(2026, 11, 3), 3,
         "medium", 3.0),
        ("price.sustained_below_market", d(2026, 10, 9), d(2026, 11, 5), d(2026, 11, 5), d(2026, 11, 5), 1, "low", 4.0),
    ]


@pytest.mark.parametrize("later_first", [True, False])
def test_a_day_with_two_windows_gives_the_lead_one_rows_figures(later_first):
    """Given rows: one indicator flags one entity in two behaviour windows on the same day (indicator_flags' key is
    indicator, entity and window_start). The lead carries every figure of one row, the latest window's, whichever
    order the rows come in (by the day alone the two rows tie, and each column could come from either)."""
    from pipelines.publish.views import LEADS

    rows = ["('price.pre_promo_runup', 'price', 'listing', 'S1:K1', DATE '2026-10-20', DATE '2026-11-02', "
            "DATE '2026-11-02', 'late', 't', 'S1', 'U1', 'K1', '210100', 'high', 7.0, 1.5, '{\"w\": 2}', 'p')",
            "('price.pre_promo_runup', 'price', 'listing', 'S1:K1', DATE '2026-10-01', DATE '2026-11-02', "
            "DATE '2026-11-02', 'early', 't', 'S1', 'U1', 'K1', '210100', 'low', 2.0, 1.5, '{\"w\": 1}', 'p')"]
    if not later_first:
        rows.reverse()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE indicator_flags AS SELECT * FROM (VALUES {', '.join(rows)}) AS t(indicator_id, "
                "family, entity_type, entity_id, window_start, window_end, dt, flag_id, platform, shop_id, uscc, "
                "sku_id, region_code, severity, value, threshold, evidence, policy_ref)")
    got = con.execute(f"SELECT window_start, flag_id, severity, value, evidence FROM ({LEADS.sql()})").fetchall()
    d = __import__("datetime").date
    assert got == [(d(2026, 10, 1), "late", "high", 7.0, '{"w": 2}')]


def test_leads_carry_the_figures_of_their_last_day(home):
    con = duckdb.connect()
    rows = con.execute(f"SELECT indicator_id, entity_id, dt, window_start, window_end, severity, value, evidence "
                       f"FROM {_flags(home)}").fetchall()
    latest = set()
    for (ind, ent, _), e in _episodes(rows).items():
        last = max(r[2] for r in e)
        latest |= {(ind, ent, r[4], last, r[5], r[6], r[7]) for r in e if r[2] == last}
    _, leads = run_query(home, "SELECT indicator_id, entity_id, window_end, last_seen, severity, value, "
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
