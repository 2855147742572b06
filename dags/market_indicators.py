"""
### market_indicators — 指标计算与发布 (indicators, quality gate and publication, asset-driven)

Scheduled on the per-source assets (`market-monitor://staging/<source>`, all of them): it runs once
every source has been ingested since its last run. Business date D: the producers' `business_date` in
the triggering asset events (the latest date every source has reached); a manual run takes
`{"business_date": "YYYY-MM-DD"}` (that date only) or defaults to yesterday (local time).

No date is skipped: `catch_up` first runs compute → gate → publish → report, in order, for every date
from the day after the last published one up to D (e.g. D-1 when D-1 and D were both queued before
the run started). Then, for D: compute every indicator → Great Expectations gate → publish the marts
that passed (emits the mart assets `market-monitor://marts/<mart>`) → bulletin → `quality_verdict`
(fails the run when a mart was blocked, for D or a date caught up on). The writing tasks run in the
one-slot pool `duckdb_writer`.
"""

from __future__ import annotations

from airflow.sdk import AssetAll, dag

from pipelines.run.airflow_tasks import business_date_task, catch_up_stage, publication_chain, source_assets
from pipelines.run.dag_arguments import dag_arguments


@dag(
    schedule=AssetAll(*source_assets()),
    **dag_arguments("market_indicators", tags=["indicators", "marts"], doc_md=__doc__),
)
def market_indicators():
    publication_chain(catch_up_stage(business_date_task()))


market_indicators()
