"""The per-source ingest path (ingest_<source> DAGs: landed_files, prepare on any worker, register in the
writer) loads exactly what `market-monitor run`'s direct ingest stage loads, and each source's register
task emits its asset event with the business date the indicators DAG then runs for."""

from __future__ import annotations

import shutil
from datetime import date
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.core.dates import business_date_from_context
from pipelines.core.home import Home
from pipelines.generate.sample import sample_landing
from pipelines.run.airflow_tasks import SOURCE_ASSET_PREFIX, source_ids
from pipelines.run.staged import landed_files_task, prepare_task, register_task

DAY = date(2026, 11, 6)  # a small sample day with several sources


class Outlets(dict):
    def __missing__(self, key):
        self[key] = SimpleNamespace(extra=None)
        return self[key]


def lay_day(root, day):
    for src in sample_landing().iterdir():
        if (src / day.isoformat()).is_dir():
            shutil.copytree(src / day.isoformat(), root / "landing" / src.name / day.isoformat())


def snapshot(home: Home):
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        ledger = con.execute(
            "SELECT source, business_date, file_name, sha256, rows_read, rows_loaded, rows_quarantined, outcome "
            "FROM ingestion_ledger ORDER BY ALL").fetchall()
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'staging' ORDER BY 1").fetchall()]
        counts = {t: con.execute(f'SELECT count(*) FROM staging."{t}"').fetchall()[0][0] for t in tables}
        stages = con.execute("SELECT stage, outcome, triggered_by FROM meta.runs ORDER BY stage").fetchall()
        return ledger, counts, stages
    finally:
        con.close()


@pytest.mark.skipif(not (sample_landing() / "olist" / DAY.isoformat()).is_dir(), reason="bundled sample missing")
def test_per_source_ingest_equals_the_daily_ingest(tmp_path, monkeypatch):
    from pipelines.run import daily

    per_source, whole = Home(tmp_path / "per-source"), Home(tmp_path / "whole")
    lay_day(per_source.root, DAY)
    lay_day(whole.root, DAY)

    monkeypatch.setenv("MARKET_MONITOR_HOME", str(per_source.root))
    events = {}
    for source in source_ids():
        outlets = Outlets()
        ctx = {"outlet_events": outlets, "dag_run": SimpleNamespace(run_id=f"scheduled__{source}")}
        prepared = [prepare_task(DAY.isoformat(), item) for item in landed_files_task(DAY.isoformat(), [source])]
        assert all(p["worker"] and p["started_at"] <= p["ended_at"] for p in prepared)
        assert register_task(DAY.isoformat(), prepared, ctx, source) == DAY.isoformat()
        assert len(outlets) == 1, f"{source} must emit exactly its own asset"
        (uri, ev), = outlets.items()
        assert str(getattr(uri, "uri", uri)) == SOURCE_ASSET_PREFIX + source
        events[uri] = [ev]

    daily.ingest(whole, DAY, "cli-run")

    ledger_a, counts_a, stages_a = snapshot(per_source)
    ledger_b, counts_b, _ = snapshot(whole)
    assert ledger_a and ledger_a == ledger_b
    assert counts_a == counts_b and sum(counts_a.values()) > 0
    assert {s for s, _, _ in stages_a} == {f"ingest:{s}" for s in source_ids()}
    assert all(o == "success" and by == "airflow" for _, o, by in stages_a)
    # the indicators DAG, triggered by these events, runs for DAY
    assert business_date_from_context({"triggering_asset_events": events}) == DAY
