"""
### market_maintenance — 数据保留与仓库维护 (retention and warehouse housekeeping)

Weekly (Sunday 04:00 Asia/Shanghai, after the daily run). Retention is read from `HOME/config.yml`
(`retention: landing_days / quarantine_days / reports_days / marts_days`; a missing key keeps
everything) and counted back from the run's business date, never the wall clock:

- `prune_landing`: old `landing/`, `quarantine/` and `reports/` date folders (files only; no pool); the
  landing folders of the sources with free text (the raw record of personal text) are kept no longer
  than `retention.raw_text_days`;
- `prune_marts`: old `marts/<mart>/dt=<D>/` partitions, their manifest entries and
  `meta.published_partitions` rows (writer pool);
- `expire_raw_text`: quarantined lines' text older than `retention.raw_text_days`
  (default 90; the masked staging rows, the ledger and the quarantine reasons stay) (writer pool);
- `compact_warehouse`: CHECKPOINT, and a rewrite of `warehouse.duckdb` when more than
  `maintenance.compact_free_ratio` of its blocks are free (writer pool).
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task

from pipelines.run.airflow_tasks import (
    LOCAL_TZ_NAME,
    MAINTENANCE_CRON,
    WRITER_POOL,
    business_date_task,
    maintenance_task,
)
from pipelines.run.dag_arguments import dag_arguments


@dag(
    schedule=CronDataIntervalTimetable(MAINTENANCE_CRON, timezone=LOCAL_TZ_NAME),
    **dag_arguments("market_maintenance", tags=["maintenance"], doc_md=__doc__),
)
def market_maintenance():
    @task
    def prune_landing(day: str, **context) -> dict:
        return maintenance_task("prune_landing", day, context)

    @task(pool=WRITER_POOL)
    def prune_marts(day: str, **context) -> dict:
        return maintenance_task("prune_marts", day, context)

    @task(pool=WRITER_POOL)
    def expire_raw_text(day: str, **context) -> dict:
        return maintenance_task("expire_raw_text", day, context)

    @task(pool=WRITER_POOL)
    def compact_warehouse(day: str, **context) -> dict:
        return maintenance_task("compact_warehouse", day, context)

    day = business_date_task()
    prune_landing(day)
    prune_marts(day) >> expire_raw_text(day) >> compact_warehouse(day)


market_maintenance()
