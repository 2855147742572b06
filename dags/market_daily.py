"""
### market_daily — 市场监管日常监测 (daily market-supervision refresh)

For business date D (yesterday in Asia/Shanghai for a scheduled run; override with
`{"business_date": "YYYY-MM-DD"}` in the trigger form or `--conf`):
ingest `landing/*/D/` → compute every indicator → Great Expectations gate → publish the marts
that passed → build the bulletin. Every task only calls `pipelines.daily`; the same functions
run behind `market-monitor run --date D`.

All tasks that open the DuckDB warehouse share the one-slot pool `duckdb_writer` (one writer per
file, across every DAG). The home folder comes from `MARKET_MONITOR_HOME`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from pipelines.airflow_support import (
    DAG_DEFAULT_ARGS,
    WRITER_POOL,
    mart_assets,
    on_failure_alert,
    stage_task,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dag(
    dag_id="market_daily",
    # Fires 01:00 CST for the day that just ended; the interval [D 01:00, D+1 01:00) maps to D.
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2026, 1, 1, tzinfo=SHANGHAI),
    catchup=False,
    max_active_runs=1,
    tags=["market-monitor", "daily", "marts"],
    default_args=DAG_DEFAULT_ARGS,
    params={"business_date": Param(None, type=["null", "string"], format="date",
                                   description="Business date YYYY-MM-DD (default: yesterday, local time)")},
    doc_md=__doc__,
    on_failure_callback=on_failure_alert,
)
def market_daily():
    @task
    def business_date(**context) -> str:
        from pipelines.dates import business_date_from_context

        return business_date_from_context(context).isoformat()

    @task(pool=WRITER_POOL)
    def ingest(day: str, **context) -> str:
        return stage_task("ingest", day, context)

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

    day = business_date()
    report(publish(gate(compute(ingest(day)))))


market_daily()

