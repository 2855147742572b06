"""
### ingest_<source> — 分数据源采集 (one ingest DAG per source, each on its own cadence)

One DAG per source id (`pipelines.run.airflow_tasks.SOURCE_SCHEDULES` holds the cadences). For business
date D (the local day before the fire time; override with `{"business_date": "YYYY-MM-DD"}`):
`landed_files` lists `landing/<source>/D/`, `prepare` (one mapped task per file, any worker, in parallel)
parses and validates each into parquet under `HOME/.stage/<source>/D/`, then `register` loads them into
the warehouse in the one-slot pool `duckdb_writer` and emits the asset `market-monitor://staging/<source>`
with `extra={"business_date": D}`. `market_indicators` is
scheduled on those assets.

A source with no drop for D still emits its event (nothing to load is a valid day), so the
indicators DAG is not held back by a quiet source.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag

from pipelines.run.airflow_tasks import LOCAL_TZ_NAME, SOURCE_SCHEDULES, business_date_task, source_ids
from pipelines.run.dag_arguments import dag_arguments
from pipelines.run.staged import staged_ingest


def build(source: str):
    @dag(
        schedule=CronDataIntervalTimetable(SOURCE_SCHEDULES[source], timezone=LOCAL_TZ_NAME),
        **dag_arguments(
            f"ingest_{source}", tags=["ingest", source],
            doc_md=__doc__.replace("<source>", source, 1)
            + f"\n\nCadence: `{SOURCE_SCHEDULES[source]}` ({LOCAL_TZ_NAME}).",
        ),
    )
    def ingest_dag():
        staged_ingest(business_date_task(), source)

    return ingest_dag()


for _source in source_ids():
    build(_source)
