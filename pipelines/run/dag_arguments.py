"""What every market-monitor DAG declares alike, so a DAG file only says what is its own (id, schedule,
tags, documentation, tasks):

    @dag(schedule=..., **dag_arguments("market_daily", tags=["daily", "marts"], doc_md=__doc__))

Start date 2026-01-01 local time without catchup, one run at a time, the default task arguments (owner,
retries with exponential backoff), the `business_date` parameter of the trigger form and the failure alert.
No Airflow import here: the pieces come from pipelines.run.airflow_tasks, which imports Airflow lazily.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pipelines.run.airflow_tasks import DAG_DEFAULT_ARGS, LOCAL_TZ_NAME, business_date_param
from pipelines.run.alerts import on_failure_alert

START_DATE = datetime(2026, 1, 1, tzinfo=ZoneInfo(LOCAL_TZ_NAME))


def dag_arguments(dag_id: str, *, tags: list[str], doc_md: str) -> dict:
    """The keyword arguments of `@dag` that every market-monitor DAG shares, plus its id, tags and doc."""
    return {
        "dag_id": dag_id,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["market-monitor", *tags],
        "default_args": DAG_DEFAULT_ARGS,
        "params": business_date_param(),
        "doc_md": doc_md,
        "on_failure_callback": on_failure_alert,
    }
