"""
### market_daily — 市场监管日常监测 (daily market-supervision refresh, all sources in one run)

For business date D (yesterday in Asia/Shanghai for a scheduled run; override with
`{"business_date": "YYYY-MM-DD"}` in the trigger form or `--conf`):
`landed_files` lists `landing/*/D/` → `prepare` (one mapped task per landed file, in parallel on any
worker: parse, validate and write its rows as parquet under `HOME/.stage/`) → `register` (the prepared
files into the warehouse) → compute every indicator → Great Expectations gate → publish the
marts that passed → build the bulletin → `quality_verdict` (fails the run, without retries, when
a mart was blocked: its previous partition stays published). Every task only calls `pipelines`; the same functions run
behind `market-monitor run --date D` (which loads the files directly: same warehouse rows, same marts).

All tasks that open the DuckDB warehouse share the one-slot pool `duckdb_writer` (one writer per
file, across every DAG). The home folder comes from `MARKET_MONITOR_HOME`.

Backfill: `airflow backfill create --dag-id market_daily --from-date D1T01:00:00+08:00
--to-date D2T01:00:00+08:00` gives one run per business date D1..D2 (`pipelines.core.dates.backfill_range`).
Production alternative: the per-source `ingest_<source>` DAGs plus `market_indicators`; unpause one
path, not both (docs/DEPLOYMENT.md).
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag

from pipelines.run.airflow_tasks import LOCAL_TZ_NAME, business_date_task, publication_chain
from pipelines.run.dag_arguments import dag_arguments
from pipelines.run.staged import staged_ingest


@dag(
    # Fires 01:00 CST for the day that just ended; the interval [D 01:00, D+1 01:00) maps to D.
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone=LOCAL_TZ_NAME),
    **dag_arguments("market_daily", tags=["daily", "marts"], doc_md=__doc__),
)
def market_daily():
    publication_chain(staged_ingest(business_date_task()))


market_daily()
