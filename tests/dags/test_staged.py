"""The DAGs' two-phase ingest tasks (pipelines/run/staged.py) without a scheduler: what a prepare task
returns, how a failure in prepare or a rejected file in register fails the task, and a quiet day."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.core.errors import IngestFailed
from pipelines.core.home import Home
from pipelines.ingest import orchestrate
from pipelines.ingest.stage import stage_day_dir
from pipelines.run.airflow_tasks import SOURCE_ASSET_PREFIX
from pipelines.run.staged import landed_files_task, prepare_task, register_task
from tests.ingest.conftest import land

D = dt.date(2026, 10, 29)
P = "complaints_12315"


def _csv() -> str:
    from pipelines.generate.sample import sample_landing

    return (sample_landing() / P / D.isoformat() / f"{P}.csv").read_text(encoding="utf-8")


class Outlets(dict):
    def __missing__(self, key):
        self[key] = SimpleNamespace(extra=None)
        return self[key]


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = Home(tmp_path / "home").ensure()
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(h.root))
    monkeypatch.setenv("CELERY_WORKER_NAME", "w9")
    return h


def test_prepare_returns_where_and_when_it_ran(home):
    land(home, P, D, "a.csv", _csv())
    (item,) = landed_files_task(D.isoformat())
    summary = prepare_task(D.isoformat(), item)
    assert summary["worker"] == "w9" and summary["started_at"] <= summary["ended_at"]
    assert summary["stage"].startswith(f".stage/{P}/{D}/a.csv--")
    assert summary["files"] == 1 and summary["rows_read"] > 0
    assert not home.db_path.exists()


def test_an_infrastructure_failure_in_prepare_names_the_file_and_stages_nothing(home, monkeypatch):
    land(home, P, D, "a.csv", _csv())

    def load_file(*_a, **_k):
        raise MemoryError()

    monkeypatch.setattr(orchestrate, "load_file", load_file)
    (item,) = landed_files_task(D.isoformat())
    with pytest.raises(IngestFailed, match=f"landing/{P}/{D}/a.csv: out of memory"):
        prepare_task(D.isoformat(), item)
    assert [p.name for p in stage_day_dir(home, P, D).iterdir()] == []  # no half-written stage folder


def test_a_rejected_file_with_policy_fail_fails_register_without_retry(home):
    from airflow.sdk.exceptions import AirflowFailException

    land(home, P, D, "a.csv", _csv())
    land(home, P, D, "b_bad.csv", "foo,bar\n1,2\n")
    home.config_file.write_text("ingest:\n  on_rejected_file: fail\n", encoding="utf-8")
    prepared = [prepare_task(D.isoformat(), item) for item in landed_files_task(D.isoformat())]
    with pytest.raises(AirflowFailException, match="b_bad.csv"):
        register_task(D.isoformat(), prepared, {"dag_run": SimpleNamespace(run_id="manual__x")})
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        ledger = dict(con.execute("SELECT file_name, outcome FROM meta.ingestion_ledger").fetchall())
        stages = con.execute("SELECT stage, outcome FROM meta.runs").fetchall()
    finally:
        con.close()
    assert ledger == {"a.csv": "loaded", "b_bad.csv": "rejected"}
    assert stages == [("ingest", "failed")]


def test_a_quiet_source_still_registers_and_emits(home):
    assert landed_files_task(D.isoformat(), [P]) == []
    outlets = Outlets()
    ctx = {"outlet_events": outlets, "dag_run": SimpleNamespace(run_id="scheduled__x")}
    assert register_task(D.isoformat(), None, ctx, P) == D.isoformat()
    ((asset, event),) = outlets.items()
    assert str(getattr(asset, "uri", asset)) == SOURCE_ASSET_PREFIX + P
    assert event.extra == {"business_date": D.isoformat()}
