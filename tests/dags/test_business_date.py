"""The business date of each kind of Airflow run (cases from ../shared/research/airflow3-business-date.md)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from pipelines.dates import business_date_from_context

UTC = timezone.utc


def run(run_after):
    return SimpleNamespace(run_after=run_after)


CASES = [
    # scheduled run of CronDataIntervalTimetable firing 2026-11-26 00:00 CST: interval ends at the fire time
    ("scheduled", {"data_interval_end": datetime(2026, 11, 25, 16, tzinfo=UTC),
                   "dag_run": run(datetime(2026, 11, 25, 16, tzinfo=UTC))}, date(2026, 11, 25)),
    # our DAG fires 01:00 CST: 2026-11-27 01:00 CST = 11-26T17Z -> business date 11-26
    ("scheduled 01:00", {"data_interval_end": datetime(2026, 11, 26, 17, tzinfo=UTC)}, date(2026, 11, 26)),
    # manual trigger without a date: no interval, run_after = now (stdlib datetime) -> yesterday in CST
    ("manual", {"dag_run": run(datetime(2026, 11, 27, 18, 30, tzinfo=UTC))}, date(2026, 11, 27)),
    # manual trigger with conf: conf always wins
    ("conf", {"params": {"business_date": "2026-09-15"},
              "data_interval_end": datetime(2026, 11, 25, 16, tzinfo=UTC)}, date(2026, 9, 15)),
    # asset-triggered: the producer's business date in the event extra
    ("asset", {"triggering_asset_events": {"a": [SimpleNamespace(extra={"business_date": "2026-11-20"})]},
               "dag_run": run(datetime(2026, 11, 27, 3, tzinfo=UTC))}, date(2026, 11, 20)),
    # partitioned timetable
    ("partition", {"partition_date": datetime(2026, 11, 24, 16, tzinfo=UTC)}, date(2026, 11, 25)),
    # dags test <id> 2026-11-26 (naive input is UTC; interval end at logical date) -> 11-25
    ("dags test", {"data_interval_end": datetime(2026, 11, 26, 0, tzinfo=UTC)}, date(2026, 11, 25)),
    # backfill with +08:00 dates: interval end = next fire time
    ("backfill", {"data_interval_end": datetime(2026, 11, 25, 16, tzinfo=UTC)}, date(2026, 11, 25)),
    # backfill with --dag-run-conf
    ("backfill conf", {"params": {"business_date": "2026-09-15"},
                       "data_interval_end": datetime(2026, 11, 25, 16, tzinfo=UTC)}, date(2026, 9, 15)),
]


@pytest.mark.parametrize("kind,context,expected", CASES, ids=[c[0] for c in CASES])
def test_business_date_for_each_run_kind(kind, context, expected):
    assert business_date_from_context(context) == expected


def test_null_param_falls_through_to_the_interval():
    ctx = {"params": {"business_date": None}, "data_interval_end": datetime(2026, 11, 25, 16, tzinfo=UTC)}
    assert business_date_from_context(ctx) == date(2026, 11, 25)


def test_no_information_is_an_error():
    with pytest.raises(ValueError):
        business_date_from_context({})
