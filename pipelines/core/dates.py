"""Which business date an Airflow run is for (the rule below was measured on Airflow 3 for every run kind).

Never `ds` or `logical_date` directly: by run kind they are the interval start, the fire time, a UTC
midnight, or missing. The rule, in order:
  1. operator override: params/conf `business_date` (trigger form, `--conf`, `backfill --dag-run-conf`);
  2. asset-triggered runs: the producers' `business_date` in the triggering events' extra. With several
     assets (an `AssetAll` schedule) the run is for the latest date that *every* asset has reached:
     the minimum over assets of each asset's newest event date;
  3. partitioned runs: the partition date in local time;
  4. otherwise the local date of data_interval_end (or run_after when there is no interval), minus one day:
     the last complete local day (scheduled, catchup, backfill, manual trigger without conf).
Plain Python (no Airflow import), so the rule is unit-tested for every run kind.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
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


def _parse_day(value) -> date:
    if isinstance(value, datetime):
        return _as_local_date(value)
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"business_date {value!r} is not a date (expected YYYY-MM-DD)") from None


def asset_business_date(triggering_asset_events) -> date | None:
    """The business date of an asset-triggered run: min over assets of the newest `business_date`
    among that asset's events (events without one are ignored). None when no event carries one."""
    if not triggering_asset_events or not hasattr(triggering_asset_events, "values"):
        return None
    newest_per_asset = []
    for asset_events in triggering_asset_events.values():
        dates = []
        for event in asset_events or []:
            extra = _get(event, "extra") or {}
            if extra.get("business_date"):
                dates.append(_parse_day(extra["business_date"]))
        if dates:
            newest_per_asset.append(max(dates))
    return min(newest_per_asset) if newest_per_asset else None


def business_date_from_context(ctx: dict) -> date:
    params = ctx.get("params") or {}
    override = params.get("business_date") if hasattr(params, "get") else None
    if override:
        return _parse_day(override)
    from_assets = asset_business_date(ctx.get("triggering_asset_events"))
    if from_assets is not None:
        return from_assets
    partition = ctx.get("partition_date")
    if partition:
        return _as_local_date(partition)
    anchor = ctx.get("data_interval_end") or _get(ctx.get("dag_run"), "run_after")
    if anchor is None:
        raise ValueError("cannot derive the business date: no params, asset event, interval or run_after")
    return _as_local_date(anchor) - timedelta(days=1)


def backfill_range(start: date, end: date, fire_at: time = time(1, 0)) -> tuple[str, str]:
    """`airflow backfill create --from-date/--to-date` values (local-time ISO with offset) that give
    exactly one run per business date start..end for a daily CronDataIntervalTimetable firing at
    `fire_at` local time: the run for D has the interval [D fire_at, D+1 fire_at) and its logical
    date is the interval start. Naive CLI dates would be read as UTC (the research's surprise)."""
    if end < start:
        raise ValueError(f"backfill range ends ({end}) before it starts ({start})")

    def at(day: date) -> str:
        return datetime.combine(day, fire_at, tzinfo=LOCAL_TZ).isoformat()

    return at(start), at(end)


def local_day_bounds(day: date, fire_at: time = time(1, 0)) -> tuple[datetime, datetime]:
    """The data interval of the scheduled run for business date `day` (fires at D+1 `fire_at`)."""
    start = datetime.combine(day, fire_at, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)
