"""Which business date an Airflow run is for (measured in ../shared/research/airflow3-business-date.md).

Never `ds` or `logical_date` directly: by run kind they are the interval start, the fire time, a UTC
midnight, or missing. The rule, in order:
  1. operator override: params/conf `business_date`;
  2. asset-triggered runs: the producer's `business_date` in the triggering event's extra;
  3. partitioned runs: the partition date in local time;
  4. otherwise the local date of data_interval_end (or run_after when there is no interval), minus one day:
     the last complete local day.
Plain Python (no Airflow import), so the rule is unit-tested for every run kind.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _as_local_date(moment: datetime) -> date:
    if moment.tzinfo is None:  # Airflow's naive datetimes are UTC
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(LOCAL_TZ).date()


def _get(obj, name):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def business_date_from_context(ctx: dict) -> date:
    params = ctx.get("params") or {}
    override = params.get("business_date") if hasattr(params, "get") else None
    if override:
        return date.fromisoformat(str(override)[:10])
    events = ctx.get("triggering_asset_events") or {}
    for asset_events in (events.values() if hasattr(events, "values") else []):
        for event in asset_events:
            extra = _get(event, "extra") or {}
            if extra.get("business_date"):
                return date.fromisoformat(str(extra["business_date"])[:10])
    partition = ctx.get("partition_date")
    if partition:
        return _as_local_date(partition)
    anchor = ctx.get("data_interval_end") or _get(ctx.get("dag_run"), "run_after")
    if anchor is None:
        raise ValueError("cannot derive the business date: no params, asset event, interval or run_after")
    return _as_local_date(anchor) - timedelta(days=1)
