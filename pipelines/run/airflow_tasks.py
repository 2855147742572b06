"""What the DAGs share: default args, the writer pool, source and mart assets, per-source cadences,
and the thin wrappers that turn an Airflow task into a call of `pipelines` (the failure alert is in
alerts.py, the DAGs' two-phase ingest — landed files, prepare, register — in staged.py).

Airflow itself is imported only inside the functions that build Airflow objects: importing it takes
seconds and needs a configured Airflow, and the plain functions (prepare, register, ingest, alert) are called
and tested without a scheduler. Everything else is imported here at the top.
"""

from __future__ import annotations

import logging
import re
from datetime import date, time, timedelta

from expectations.gate import day_gaps
from indicators.compute import mart_catalogue
from pipelines.core.dates import asset_business_date, business_date_from_context
from pipelines.core.errors import QualityGateFailed, UserError
from pipelines.ingest import ingest_day
from pipelines.ingest.catalogue import SOURCE_IDS, all_sources
from pipelines.ingest.freshness import incomplete_message
from pipelines.ingest.policy import after_ingest
from pipelines.run import daily, maintenance
from pipelines.run.daily import stage_record, writer
from pipelines.run.task_env import home_from_env, worker_identity

log = logging.getLogger(__name__)

WRITER_POOL = "duckdb_writer"  # one slot: one process writes warehouse.duckdb at a time
LOCAL_TZ_NAME = "Asia/Shanghai"

DAG_DEFAULT_ARGS = {
    "owner": "market-monitor",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
}

MART_ASSET_PREFIX = "market-monitor://marts/"
SOURCE_ASSET_PREFIX = "market-monitor://staging/"

# Each source on its own cadence (`schedule:` in pipelines/ingest/sources/<id>.yml): when its drop for
# business date D is normally complete (local time, the morning after D). Every cron fires on D+1, so
# the business date is the day before the fire time.
SOURCE_SCHEDULES: dict[str, str] = {source.id: source.schedule for source in all_sources()}
DAILY_FIRE_AT = time(1, 0)  # market_daily: 01:00 local for the day that just ended
MAINTENANCE_CRON = "0 4 * * 0"  # Sundays 04:00 local, after the daily run


def source_ids() -> tuple[str, ...]:
    """Every source id, in the catalogue's order (each has a schedule: the source yml requires one)."""
    return tuple(SOURCE_IDS)


def source_asset(source: str):
    from airflow.sdk import Asset

    return Asset(SOURCE_ASSET_PREFIX + source)


def source_assets() -> list:
    return [source_asset(s) for s in source_ids()]


def mart_assets() -> list:
    from airflow.sdk import Asset

    return [Asset(MART_ASSET_PREFIX + mart) for mart in mart_catalogue()["marts"]]


def business_date_param():
    from airflow.sdk import Param

    return {"business_date": Param(None, type=["null", "string"], format="date",
                                   description="Business date YYYY-MM-DD (default: yesterday, local time)")}


def airflow_run_id(context: dict, day: str) -> str:
    dag_run = context.get("dag_run")
    raw = getattr(dag_run, "run_id", None) or context.get("run_id") or "unknown"
    return f"{day}__airflow__{re.sub(r'[^A-Za-z0-9_.-]+', '_', str(raw))}"


def _emit(context: dict, assets: list, day: str) -> None:
    """Attach the business date to the asset events this task produces (consumers read it)."""
    outlet_events = context.get("outlet_events")
    if outlet_events is None:
        return
    for asset in assets:
        outlet_events[asset].extra = {"business_date": day}


def stage_task(stage: str, day: str, context: dict) -> str:
    """Run one stage of the daily run for `day`; returns `day` so the next task depends on it."""
    home = home_from_env()
    run_date = date.fromisoformat(day)
    run_id = airflow_run_id(context, day)
    log.info("stage %s for %s on %s (run %s)", stage, day, worker_identity(), run_id)
    if stage == "ingest":
        # a rejected file with ingest.on_rejected_file: fail (UserError) fails the task without retries
        # (the same file gives the same answer); out of memory, a full disk or a bug (IngestFailed,
        # RunError) fail it like any error, with the DAG's retries
        value = _fail_without_retry_on_rejected(lambda: daily.ingest(home, run_date, run_id, triggered_by="airflow"))
        for problem in value.problems():
            log.warning("rejected input: %s", problem)  # with the default policy: alerted, the rest is published
    else:
        value = getattr(daily, stage)(home, run_date, run_id, triggered_by="airflow")
    if stage == "gate":  # an expected source that delivered nothing: alerted by the gate, the run fails in the verdict
        ti = context.get("ti") or context.get("task_instance")
        if ti is not None:
            ti.xcom_push(key=GAPS_KEY, value=day_gaps(value))
    if stage == "publish":
        _emit(context, mart_assets(), day)
        # like `market-monitor run`: a blocked mart keeps its previous partition, the rest is published
        # and the bulletin is still built; the run fails afterwards in `quality_verdict`
        ti = context.get("ti") or context.get("task_instance")
        if ti is not None:
            ti.xcom_push(key=BLOCKED_KEY, value=value.blocked)
        elif value.blocked:
            raise QualityGateFailed(blocked_message(day, value.blocked))
    return day


BLOCKED_KEY = "blocked_marts"
GAPS_KEY = "freshness_gaps"


def blocked_message(day: str, blocked: dict) -> str:
    return (f"run {day}: quality gate blocked {len(blocked)} mart(s); the previous partitions stay published: "
            + "; ".join(f"{m}: {', '.join(msgs)}" for m, msgs in sorted(blocked.items())))


def verdict_task(day: str, context: dict) -> str:
    """Fail the run (without retries: a rerun gives the same verdict) when an expected source delivered
    nothing for D (the gate alerted: meta.alerts "day D incomplete: …"; the day is incomplete) or publish
    blocked a mart, for D or for an earlier date the run caught up on (market_indicators' catch_up)."""
    ti = context.get("ti") or context.get("task_instance")
    earlier = ti.xcom_pull(task_ids="catch_up", key=CAUGHT_UP_KEY) if ti is not None else None
    gaps = ti.xcom_pull(task_ids="gate", key=GAPS_KEY) if ti is not None else None
    blocked = ti.xcom_pull(task_ids="publish", key=BLOCKED_KEY) if ti is not None else None
    # {date: {mart: [messages]}} from catch_up (market_indicators only)
    messages = [blocked_message(d, b) for d, b in sorted((earlier or {}).items()) if isinstance(b, dict) and b]
    if isinstance(gaps, list) and gaps:
        messages.append(incomplete_message(date.fromisoformat(day), gaps, sorted(blocked or {})))
    if blocked:
        messages.append(blocked_message(day, blocked))
    if messages:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(" | ".join(messages))
    return day


# --------------------------------------------------------------------------- catching up (asset-driven runs)

CATCH_UP_STAGES = ("compute", "gate", "publish", "report")  # the sources were ingested by their own DAGs
CAUGHT_UP_KEY = "blocked_marts_by_date"


def delivered_dates(triggering_asset_events) -> list[date]:
    """Every business date the producers' asset events of this run carry, oldest first."""
    if not hasattr(triggering_asset_events, "values"):
        return []
    found = {asset_business_date({"event": [event]}) for events in triggering_asset_events.values()
             for event in events or []}
    return sorted(found - {None})


def pending_business_dates(last_published: date | None, newest: date, delivered: list[date]) -> list[date]:
    """The business dates an asset-driven run computes, in order: from the day after the last published one
    (when nothing was published yet, from the oldest date in the run's asset events) through `newest`, the
    latest date every source has reached. A date already published later than `newest` is not redone
    (the list is then just `newest`)."""
    start = last_published + timedelta(days=1) if last_published else min([*delivered, newest])
    days = (newest - start).days + 1
    return [start + timedelta(days=i) for i in range(days)] if days > 0 else [newest]


def last_published_date(con, before: date) -> date | None:
    """The latest business date before `before` whose publish stage succeeded (meta.runs)."""
    rows = con.execute("SELECT max(business_date) FROM meta.runs WHERE stage = 'publish' AND outcome = 'success' "
                       "AND business_date < $d", {"d": before}).fetchall()
    return rows[0][0]


def catch_up_task(day: str, context: dict) -> dict:
    """Run compute → gate → publish → report, in order, for every business date between the last published
    one and D (D itself is left to the DAG's own stage tasks), so that two dates queued before the run
    starts are both computed. A run given an explicit `business_date` does that date only. Returns (and
    pushes for `quality_verdict`) the marts blocked per date."""
    params = context.get("params") or {}
    newest = date.fromisoformat(day)
    blocked: dict[str, dict] = {}
    if hasattr(params, "get") and params.get("business_date"):
        return blocked
    home = home_from_env()
    with writer(home) as con:
        earlier = pending_business_dates(last_published_date(con, newest), newest,
                                         delivered_dates(context.get("triggering_asset_events")))[:-1]
        for run_date in earlier:
            run_id = airflow_run_id(context, run_date.isoformat())
            log.info("catching up %s before %s on %s (run %s)", run_date, day, worker_identity(), run_id)
            for stage in CATCH_UP_STAGES:
                value = getattr(daily, stage)(home, run_date, run_id, con=con, triggered_by="airflow")
                if stage == "publish" and value.blocked:
                    blocked[run_date.isoformat()] = value.blocked
    ti = context.get("ti") or context.get("task_instance")
    if ti is not None:
        ti.xcom_push(key=CAUGHT_UP_KEY, value=blocked)
    return blocked


# --------------------------------------------------------------------------- task declarations
# The DAG files share these so each only says which steps it chains; every task calls `pipelines`.

def business_date_task():
    """The first task of every DAG: the run's business date D as an XCom string (pipelines.core.dates holds
    the rule for each kind of run: scheduled, manual, asset-triggered, backfill)."""
    from airflow.sdk import task

    @task(task_id="business_date")
    def business_date(**context) -> str:
        return business_date_from_context(context).isoformat()

    return business_date()


def writer_stage(stage: str, day):
    """Declare the daily run's `stage` (ingest, compute, gate, publish, report) for `day` in the one-slot
    writer pool: each of them writes warehouse.duckdb. publish emits the mart assets."""
    from airflow.sdk import task

    def run_stage(day: str, **context) -> str:
        return stage_task(stage, day, context)

    run_stage.__name__ = run_stage.__qualname__ = stage
    extra = {"outlets": mart_assets()} if stage == "publish" else {}
    return task(task_id=stage, pool=WRITER_POOL, **extra)(run_stage)(day)


def catch_up_stage(day):
    """Declare market_indicators' `catch_up` (writer pool): the dates between the last published one and `day`."""
    from airflow.sdk import task

    def catch_up(day: str, **context) -> str:
        catch_up_task(day, context)
        return day

    return task(task_id="catch_up", pool=WRITER_POOL)(catch_up)(day)


def publication_chain(day):
    """compute → gate → publish → report → quality_verdict for `day`; returns the verdict task's output."""
    from airflow.sdk import task

    for stage in ("compute", "gate", "publish", "report"):
        day = writer_stage(stage, day)

    def quality_verdict(day: str, **context) -> str:
        return verdict_task(day, context)

    return task(task_id="quality_verdict")(quality_verdict)(day)


def ingest_source_task(source: str, day: str, context: dict) -> str:
    """Ingest one source's drop for `day` directly, in one writer task (the per-source DAGs now run
    staged.staged_ingest: prepare on any worker, then register); emits the source's asset event with the
    business date. Runs in the writer pool: it writes warehouse.duckdb."""
    home = home_from_env()
    run_date = date.fromisoformat(day)
    run_id = airflow_run_id(context, day)
    log.info("ingest %s for %s on %s (run %s)", source, day, worker_identity(), run_id)
    dag_id = getattr(context.get("dag"), "dag_id", None)

    def ingest_source():
        with writer(home) as con, stage_record(con, run_id, run_date, f"ingest:{source}", "airflow"):
            report = ingest_day(con, home, run_date, sources=[source])
            after_ingest(con, home.config_file, report, task_id=f"ingest_{source}", dag_id=dag_id)
            return report

    report = _fail_without_retry_on_rejected(ingest_source)
    for problem in report.problems():
        log.warning("rejected input: %s", problem)
    _emit(context, [source_asset(source)], day)
    return day


def _fail_without_retry_on_rejected(ingest_call):
    """Run an ingest; a UserError (rejected files under ingest.on_rejected_file: fail) becomes
    AirflowFailException: the task fails at once, a retry would read the same file."""
    try:
        return ingest_call()
    except UserError as exc:
        from airflow.sdk.exceptions import AirflowFailException  # Airflow: imported only where needed

        raise AirflowFailException(str(exc)) from exc


# --------------------------------------------------------------------------- maintenance

def maintenance_task(step: str, day: str, context: dict) -> dict:
    home = home_from_env()
    policy = maintenance.load_policy(home)
    run_date = date.fromisoformat(day)
    if step == "prune_landing":
        result = maintenance.prune_landing(home, run_date, policy)
    elif step == "prune_marts":
        result = maintenance.prune_marts(home, run_date, policy)
    elif step == "expire_raw_text":
        result = maintenance.expire_raw_text(home, run_date, policy)
    elif step == "compact_warehouse":
        result = maintenance.compact_warehouse(home, policy)
    else:
        raise ValueError(f"unknown maintenance step {step!r}")
    log.info("maintenance %s for %s: %s", step, day, result)
    return result
