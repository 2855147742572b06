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

from airflow.sdk import AssetAll, dag

from pipelines.run.airflow_tasks import (
    DAG_DEFAULT_ARGS,
    LOCAL_TZ_NAME,
    business_date_param,
    business_date_task,
    on_failure_alert,
    publication_chain,
    source_assets,
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
    publication_chain(business_date_task())


market_indicators()
