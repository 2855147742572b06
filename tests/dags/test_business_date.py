"""The business date of each kind of Airflow run (cases measured on Airflow 3.3; table in docs/DEPLOYMENT.md)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from pipelines.core.dates import business_date_from_context

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


# --------------------------------------------------------------------------- asset-triggered runs

def event(day, **extra):
    return SimpleNamespace(extra={"business_date": day, **extra} if day else extra)


def test_asset_run_takes_the_producers_business_date_not_the_event_time():
    # the consumer runs at 2026-11-28 03:00 CST (run_after), the producer ingested 2026-11-20
    ctx = {"triggering_asset_events": {"market-monitor://staging/olist": [event("2026-11-20")]},
           "dag_run": run(datetime(2026, 11, 27, 19, tzinfo=UTC))}
    assert business_date_from_context(ctx) == date(2026, 11, 20)


def test_asset_run_on_several_sources_is_for_the_day_every_source_has_reached():
    # price has D and D+1 (a catch-up), complaints only D: the run is for D, not D+1
    ctx = {"triggering_asset_events": {
        "market-monitor://staging/price_observations": [event("2026-11-09"), event("2026-11-10")],
        "market-monitor://staging/complaints_12315": [event("2026-11-09")],
    }}
    assert business_date_from_context(ctx) == date(2026, 11, 9)
    ctx["triggering_asset_events"]["market-monitor://staging/complaints_12315"].append(event("2026-11-10"))
    assert business_date_from_context(ctx) == date(2026, 11, 10)


def test_two_queued_dates_are_both_computed_in_order():
    """D and D+1 both queued before market_indicators starts: the run is for D+1, and catch_up computes D
    first (the last published date was D-1), so no business date is skipped."""
    from pipelines.run.airflow_tasks import delivered_dates, pending_business_dates

    events = {"market-monitor://staging/price_observations": [event("2026-11-09"), event("2026-11-10")],
              "market-monitor://staging/complaints_12315": [{"extra": {"business_date": "2026-11-09"}},
                                                            event("2026-11-10")]}
    newest = business_date_from_context({"triggering_asset_events": events})
    delivered = delivered_dates(events)
    assert delivered == [date(2026, 11, 9), date(2026, 11, 10)]
    assert pending_business_dates(date(2026, 11, 8), newest, delivered) == [date(2026, 11, 9), date(2026, 11, 10)]
    # nothing published yet: from the oldest delivered date
    assert pending_business_dates(None, newest, delivered) == [date(2026, 11, 9), date(2026, 11, 10)]
    # a gap since the last published date is filled, in order
    assert pending_business_dates(date(2026, 11, 6), newest, delivered) == [
        date(2026, 11, 7), date(2026, 11, 8), date(2026, 11, 9), date(2026, 11, 10)]
    # already published up to D+1 (a rerun): only D+1
    assert pending_business_dates(date(2026, 11, 12), newest, delivered) == [newest]


def test_catch_up_reads_the_last_published_date_from_the_runs(tmp_path):
    """The last published date is the latest successful publish stage before D in meta.runs."""
    from pipelines.run.airflow_tasks import last_published_date
    from warehouse.db import connect_writer

    con = connect_writer(tmp_path / "warehouse.duckdb")
    try:
        con.executemany("INSERT INTO meta.runs VALUES (?, ?, ?, now()::TIMESTAMP, NULL, ?, NULL, 'test')", [
            ("r1", date(2026, 11, 7), "publish", "success"),
            ("r2", date(2026, 11, 8), "publish", "failed"),
            ("r3", date(2026, 11, 8), "compute", "success"),
            ("r4", date(2026, 11, 12), "publish", "success"),
        ])
        assert last_published_date(con, date(2026, 11, 10)) == date(2026, 11, 7)
        assert last_published_date(con, date(2026, 11, 7)) is None
    finally:
        con.close()


def test_catch_up_with_an_explicit_date_does_that_date_only(tmp_path, monkeypatch):
    from pipelines.run.airflow_tasks import catch_up_task

    monkeypatch.setenv("MARKET_MONITOR_HOME", str(tmp_path / "no-home"))
    assert catch_up_task("2026-11-10", {"params": {"business_date": "2026-11-10"}}) == {}
    assert not (tmp_path / "no-home").exists()  # the warehouse was not even opened


def test_asset_events_as_airflow_objects_and_dicts():
    """The context hands over event objects with an `.extra` mapping; API payloads are dicts."""
    ctx = {"triggering_asset_events": {"a": [{"extra": {"business_date": "2026-11-03"}}],
                                       "b": [event("2026-11-04")]}}
    assert business_date_from_context(ctx) == date(2026, 11, 3)


def test_asset_event_without_a_business_date_falls_back_to_run_after():
    ctx = {"triggering_asset_events": {"a": [event(None, rows=3)]},
           "dag_run": run(datetime(2026, 11, 27, 19, tzinfo=UTC))}  # 11-28 03:00 CST
    assert business_date_from_context(ctx) == date(2026, 11, 27)


def test_conf_wins_over_asset_events():
    ctx = {"params": {"business_date": "2026-10-30"},
           "triggering_asset_events": {"a": [event("2026-11-20")]}}
    assert business_date_from_context(ctx) == date(2026, 10, 30)


def test_bad_business_date_is_a_clear_error():
    with pytest.raises(ValueError, match="not a date"):
        business_date_from_context({"params": {"business_date": "15/09/2026"}})


def test_producer_emits_what_the_consumer_reads():
    """The per-source ingest task sets outlet_events[asset].extra = {"business_date": D}; the consumer's
    rule reads exactly that back."""
    from pipelines.run.airflow_tasks import _emit

    class Outlets(dict):
        def __missing__(self, key):
            self[key] = SimpleNamespace(extra=None)
            return self[key]

    outlets = Outlets()
    _emit({"outlet_events": outlets}, ["market-monitor://staging/olist"], "2026-11-05")
    consumer_ctx = {"triggering_asset_events": {k: [v] for k, v in outlets.items()}}
    assert business_date_from_context(consumer_ctx) == date(2026, 11, 5)


# --------------------------------------------------------------------------- backfill windows

def test_backfill_range_gives_one_run_per_business_date():
    """`airflow backfill create` enumerates the DAG's timetable between --from-date and --to-date; the
    window from backfill_range must yield exactly the requested business dates, in order, for the
    real market_daily timetable (and a naive-UTC window would not)."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.timetables.interval import CronDataIntervalTimetable

    from pipelines.core.dates import backfill_range

    declared = DagBag(dag_folder="dags").dags["market_daily"].timetable  # what the scheduler runs
    timetable = CronDataIntervalTimetable(declared.expression, declared.timezone)

    def business_dates(start_iso, end_iso):
        start, end = pendulum.parse(start_iso), pendulum.parse(end_iso)
        out, info = [], timetable.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=_restriction(start, end))
        while info is not None:
            out.append(business_date_from_context({"data_interval_end": info.data_interval.end}))
            info = timetable.next_dagrun_info(last_automated_data_interval=info.data_interval,
                                              restriction=_restriction(start, end))
        return out

    start_iso, end_iso = backfill_range(date(2026, 10, 30), date(2026, 11, 1))
    assert start_iso == "2026-10-30T01:00:00+08:00"
    assert business_dates(start_iso, end_iso) == [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]
    # the trap the research measured: naive dates are UTC, so the same days give a shifted window
    assert business_dates("2026-10-30T00:00:00+00:00", "2026-11-01T00:00:00+00:00") != \
        [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]


def _restriction(start, end):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=start, latest=end, catchup=True)


def test_backfill_range_rejects_reversed_dates():
    from pipelines.core.dates import backfill_range

    with pytest.raises(ValueError):
        backfill_range(date(2026, 11, 2), date(2026, 11, 1))
