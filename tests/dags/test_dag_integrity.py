"""DAG integrity: every DAG imports cleanly and is declared properly (schedule, tags, owner, retries
with backoff, max_active_runs, failure callback, doc_md); every task that writes DuckDB is in the
one-slot pool; the per-source DAGs produce the assets the indicators DAG is scheduled on."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest.catalogue import SOURCE_IDS
from pipelines.run.airflow_tasks import (
    MART_ASSET_PREFIX,
    SOURCE_ASSET_PREFIX,
    SOURCE_SCHEDULES,
    WRITER_POOL,
)
from pipelines.run.alerts import on_failure_alert

DAGS = Path(__file__).resolve().parents[2] / "dags"
WRITER_TASKS = {
    "market_daily": {"register", "compute", "gate", "publish", "report"},
    "market_indicators": {"catch_up", "compute", "gate", "publish", "report"},
    "market_maintenance": {"prune_marts", "expire_raw_text", "compact_warehouse"},
    **{f"ingest_{s}": {"register"} for s in SOURCE_IDS},
}
# tasks that never open warehouse.duckdb: they may run anywhere, in parallel
READ_ONLY_TASKS = {
    "market_daily": {"business_date", "landed_files", "prepare", "quality_verdict"},
    "market_indicators": {"business_date", "quality_verdict"},
    "market_maintenance": {"business_date", "prune_landing"},
    **{f"ingest_{s}": {"business_date", "landed_files", "prepare"} for s in SOURCE_IDS},
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == set(WRITER_TASKS)


def test_every_dag_is_declared_properly(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert type(dag.timetable).__name__ != "NullTimetable", f"{dag_id} has no schedule"
        assert dag.tags and "market-monitor" in dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, f"{dag_id}: runs of one DAG must not overlap"
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id} has no doc_md"
        assert dag.on_failure_callback, f"{dag_id} has no failure callback"
        assert "business_date" in dag.params, f"{dag_id} cannot be given a business date"
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert task.retries >= 1, f"{where} has no retries"
            assert task.retry_exponential_backoff, f"{where} retries without backoff"
            assert task.max_retry_delay is not None, f"{where} has unbounded retry backoff"
            assert task.owner and task.owner != "airflow", f"{where} has no owner"


def test_failure_callback_is_the_alert(dagbag):
    for dag_id, dag in dagbag.dags.items():
        callbacks = dag.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert on_failure_alert in callbacks, f"{dag_id} does not raise the market-monitor alert"


def test_writer_tasks_share_the_one_slot_pool(dagbag):
    for dag_id, writers in WRITER_TASKS.items():
        pools = {t.task_id: t.pool for t in dagbag.dags[dag_id].tasks}
        for task_id in writers:
            assert pools[task_id] == WRITER_POOL, f"{dag_id}.{task_id} writes DuckDB outside the pool"
        unexpected = set(pools) - writers - READ_ONLY_TASKS[dag_id]
        assert not unexpected, f"{dag_id}: tasks {unexpected} are neither declared writers nor read-only"
        for task_id in READ_ONLY_TASKS[dag_id]:
            assert pools[task_id] != WRITER_POOL, f"{dag_id}.{task_id} holds the writer slot needlessly"


def test_ingest_prepares_each_landed_file_in_parallel_then_registers_in_the_writer(dagbag):
    """prepare is mapped over the day's landed files (one task per file, any worker, no pool), and the
    one register task in the writer pool waits for all of them; a day without files still registers."""
    for dag_id in ("market_daily", *(f"ingest_{s}" for s in SOURCE_IDS)):
        dag = dagbag.dags[dag_id]
        listed, prepare, register = (dag.get_task(t) for t in ("landed_files", "prepare", "register"))
        assert type(prepare).__name__.endswith("MappedOperator"), f"{dag_id}.prepare is not mapped over the files"
        assert listed.upstream_task_ids == {"business_date"}
        assert prepare.upstream_task_ids == {"business_date", "landed_files"}
        assert register.upstream_task_ids == {"business_date", "prepare"}
        assert register.pool == WRITER_POOL and prepare.pool != WRITER_POOL
        assert register.trigger_rule == "none_failed"  # zero files map zero prepares (skipped)
    assert dagbag.dags["market_daily"].get_task("compute").upstream_task_ids == {"register"}


def test_one_ingest_dag_per_source_each_on_its_cadence(dagbag):
    assert set(SOURCE_SCHEDULES) == set(SOURCE_IDS)
    for source in SOURCE_IDS:
        dag = dagbag.dags[f"ingest_{source}"]
        assert dag.timetable.expression == SOURCE_SCHEDULES[source]
        assert str(dag.timetable.timezone) == "Asia/Shanghai"
        outlets = [a.uri for a in dag.get_task("register").outlets]
        assert outlets == [SOURCE_ASSET_PREFIX + source]


def test_indicators_dag_waits_for_every_source_asset(dagbag):
    dag = dagbag.dags["market_indicators"]
    cond = dag.timetable.asset_condition
    assert type(cond).__name__ == "AssetAll"
    uris = {a.uri for a in cond.objects}
    assert uris == {SOURCE_ASSET_PREFIX + s for s in SOURCE_IDS}
    publish = dag.get_task("publish")
    assert publish.outlets and all(a.uri.startswith(MART_ASSET_PREFIX) for a in publish.outlets)


def test_schedules_are_explicit():
    """ruff's AIR301 also flags an implicit schedule; this keeps the rule visible in the tests."""
    for path in DAGS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "@dag(" in text or "DAG(" in text:
            assert "schedule=" in text, f"{path.name} relies on the default schedule"


def test_dag_files_only_declare():
    """DAG files hold no SQL, no DuckDB and no file I/O: the work lives in pipelines/."""
    for path in DAGS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for forbidden in ("import duckdb", "SELECT ", "open(", "read_csv", "to_parquet", "shutil"):
            assert forbidden not in text, f"{path.name} contains {forbidden!r}"


def test_blocked_marts_fail_the_run_after_the_bulletin(dagbag):
    for dag_id in ("market_daily", "market_indicators"):
        dag = dagbag.dags[dag_id]
        assert dag.get_task("quality_verdict").upstream_task_ids == {"report"}
        assert dag.get_task("report").upstream_task_ids == {"publish"}
