"""The DAGs' two-phase ingest: list the day's landed files, prepare each on any worker (mapped, in parallel,
outside the writer pool), register them all in the one-slot writer pool (pipelines/ingest/stage.py).

    landed_files ──► prepare[0..n] (.expand) ──► register (duckdb_writer)

`register` records the stage `ingest` (market_daily) or `ingest:<source>` (ingest_<source>) in meta.runs,
applies `ingest.on_rejected_file` like the CLI, and in the per-source DAGs emits the source's asset.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from pipelines.core.errors import MarketMonitorError, RunError
from pipelines.ingest.policy import after_ingest, on_rejected_file
from pipelines.ingest.stage import landed_files, prepare_file, register_day
from pipelines.run.airflow_tasks import (
    WRITER_POOL,
    _emit,
    _fail_without_retry_on_rejected,
    airflow_run_id,
    source_asset,
)
from pipelines.run.daily import stage_record, writer
from pipelines.run.task_env import home_from_env, worker_identity

log = logging.getLogger(__name__)


def landed_files_task(day: str, sources: list[str] | None = None) -> list[dict]:
    """The data files of landing/<source>/<day>/ to prepare, one mapped task each."""
    files = landed_files(home_from_env(), date.fromisoformat(day), sources)
    log.info("%d landed file(s) to prepare for %s", len(files), day)
    return files


def prepare_task(day: str, item: dict) -> dict:
    """Prepare one landed file into HOME/.stage/ (any worker; never opens the warehouse). Returns the
    stage's summary with the worker and the start and end times (the distributed check reads them)."""
    started = datetime.now().astimezone()
    summary = prepare_file(home_from_env(), item["source"], date.fromisoformat(day), item["entry"])
    summary.update(worker=worker_identity(), started_at=started.isoformat(),
                   ended_at=datetime.now().astimezone().isoformat())
    log.info("prepared landing/%s/%s/%s on %s: %d file(s), %d row(s) in %.2f s -> %s", item["source"], day,
             item["entry"], summary["worker"], summary["files"], summary["rows_read"], summary["seconds"],
             summary["stage"])
    return summary


def register_task(day: str, prepared, context: dict, source: str | None = None) -> str:
    """Register the prepared files of `day` (all sources, or `source` only) in the writer; returns `day`."""
    home = home_from_env()
    run_date = date.fromisoformat(day)
    run_id = airflow_run_id(context, day)
    prepared = [p for p in (prepared or []) if p]
    sources = [source] if source else None
    stage = f"ingest:{source}" if source else "ingest"
    task_id = f"ingest_{source}" if source else "register"
    dag_id = getattr(context.get("dag"), "dag_id", None) or ("market_daily" if not source else None)
    log.info("register %d prepared file(s) for %s on %s (run %s)", len(prepared), day, worker_identity(), run_id)

    def register():
        on_rejected_file(home.config_file)  # a bad config.yml fails before anything is written
        with writer(home) as con, stage_record(con, run_id, run_date, stage, "airflow"):
            try:
                report = register_day(con, home, run_date, prepared, sources)
            except MarketMonitorError:
                raise
            except Exception as exc:
                raise RunError(f"run {run_date}: stage ingest (register) failed: {type(exc).__name__}: {exc}") from exc
            after_ingest(con, home.config_file, report, task_id=task_id, dag_id=dag_id)
            return report

    report = _fail_without_retry_on_rejected(register)
    for problem in report.problems():
        log.warning("rejected input: %s", problem)
    if source:
        _emit(context, [source_asset(source)], day)
    return day


def staged_ingest(day, source: str | None = None):
    """Declare landed_files → prepare (mapped over the files) → register (writer pool) for `day`, for every
    source (market_daily) or one (`ingest_<source>`, whose register emits the source's asset). Returns the
    register task's output (the business date) for the next stage to depend on."""
    from airflow.sdk import task

    def files(day: str) -> list[dict]:
        return landed_files_task(day, [source] if source else None)

    def prepare(day: str, item: dict) -> dict:
        return prepare_task(day, item)

    def register(day: str, prepared, **context) -> str:
        return register_task(day, prepared, context, source)

    files.__name__ = "landed_files"
    listed = task(task_id="landed_files")(files)(day)
    prepared = task(task_id="prepare")(prepare).partial(day=day).expand(item=listed)
    extra = {"outlets": [source_asset(source)]} if source else {}
    # none_failed: a day without files maps no prepare task (skipped); register still runs (and emits)
    return task(task_id="register", pool=WRITER_POOL, trigger_rule="none_failed", **extra)(register)(day, prepared)
