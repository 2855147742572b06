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

from airflow.sdk import AssetAll, dag

from pipelines.run.airflow_tasks import business_date_task, publication_chain, source_assets
from pipelines.run.dag_arguments import dag_arguments


@dag(
    schedule=AssetAll(*source_assets()),
    **dag_arguments("market_indicators", tags=["indicators", "marts"], doc_md=__doc__),
)
def market_indicators():
    publication_chain(business_date_task())


market_indicators()
