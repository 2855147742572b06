"""End to end through Airflow: dag.test() of market_daily on the sample gives the CLI's marts."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from indicators.compute import mart_catalogue
from pipelines.run.cli import main
from tests.e2e.conftest import lay_sample

pytestmark = pytest.mark.slow
DAYS_VIA_AIRFLOW = 3


@pytest.fixture(scope="module")
def airflow_db():
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.resetdb()
    Pool.create_or_update_pool("duckdb_writer", slots=1, description="one DuckDB writer", include_deferred=False)


def marts_digest(home):
    return {str(p.relative_to(home / "marts")): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((home / "marts").rglob("*.parquet"))}


def test_dag_test_matches_cli(airflow_db, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    dag_home, cli_home = tmp_path / "dag", tmp_path / "cli"
    days = lay_sample(dag_home)[:DAYS_VIA_AIRFLOW]
    lay_sample(cli_home)
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(dag_home))
    dag = DagBag(dag_folder="dags").dags["market_daily"]
    for i, day in enumerate(days):
        run = dag.test(logical_date=datetime(2026, 1, 1, i, tzinfo=timezone.utc),
                       run_conf={"business_date": day.isoformat()})
        assert run.state == DagRunState.SUCCESS, f"{day}: {run.state}"
    for day in days:
        assert main(["run", "--home", str(cli_home), "--date", day.isoformat(), "--quiet"]) == 0
    dag_marts, cli_marts = marts_digest(dag_home), marts_digest(cli_home)
    partitions = [name for name in dag_marts if "/dt=" in name]  # besides marts/data_dictionary/
    assert len(partitions) == DAYS_VIA_AIRFLOW * len(mart_catalogue()["marts"])
    assert dag_marts == cli_marts
    assert (dag_home / "reports" / days[-1].isoformat() / "bulletin.html").exists()
