"""
### market_indicators — 指标计算与发布 (indicators, quality gate and publication, asset-driven)

Scheduled on the per-source assets (`market-monitor://staging/<source>`, all of them): it runs once
every source has been ingested since its last run. Business date: the producers' `business_date` in
the triggering asset events (the latest date every source has reached); a manual run takes
`{"business_date": "YYYY-MM-DD"}` or defaults to yesterday (local time).

compute every indicator → Great Expectations gate → publish the marts that passed (emits the mart
assets `market-monitor://marts/<mart>`) → bulletin → `quality_verdict` (fails the run when a mart was
blocked). The first four write warehouse.duckdb and run in the
one-slot pool `duckdb_writer`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from airflow.sdk import AssetAll, dag, task

from pipelines.airflow_support import (
    DAG_DEFAULT_ARGS,
    LOCAL_TZ_NAME,
    WRITER_POOL,
    business_date_param,
    mart_assets,
    on_failure_alert,
    source_assets,
    stage_task,
    verdict_task,
)


@dag(
    dag_id="market_indicators",
    schedule=AssetAll(*source_assets()),
    start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo(LOCAL_TZ_NAME)),
    catchup=False,
    max_active_runs=1,
    tags=["market-monitor", "indicators", "marts"],
    default_args=DAG_DEFAULT_ARGS,
    params=business_date_param(),
    doc_md=__doc__,
    on_failure_callback=on_failure_alert,
)
def market_indicators():
    @task
    def business_date(**context) -> str:
        from pipelines.dates import business_date_from_context

        return business_date_from_context(context).isoformat()

    @task(pool=WRITER_POOL)
    def compute(day: str, **context) -> str:
        return stage_task("compute", day, context)

    @task(pool=WRITER_POOL)
    def gate(day: str, **context) -> str:
        return stage_task("gate", day, context)

    @task(pool=WRITER_POOL, outlets=mart_assets())
    def publish(day: str, **context) -> str:
        return stage_task("publish", day, context)

    @task(pool=WRITER_POOL)
    def report(day: str, **context) -> str:
        return stage_task("report", day, context)

    @task
    def quality_verdict(day: str, **context) -> str:
        return verdict_task(day, context)

    quality_verdict(report(publish(gate(compute(business_date())))))


market_indicators()
