"""benchmarks.run.step_at: which logged step was running at the memory peak, also for a run across midnight."""

import time

from benchmarks.run import step_at

LOG = """23:59:58 DEBUG computed indicator price.spike_mad: 10 rows in 1.2 s
23:59:59 DEBUG computed indicator price.variance_screen: 3 rows in 0.4 s
00:00:03 DEBUG computed indicator collusion.parallelism: 5 rows in 4.0 s
00:00:09 DEBUG quality staging.price_observations: 100 rows, passed in 2.0 s
"""


def _epoch(day: int, hh: int, mm: int, ss: float) -> float:
    return time.mktime((2026, 12, day, hh, mm, 0, 0, 0, -1)) + ss


def test_step_at_names_the_step_that_ends_next():
    started = _epoch(3, 23, 59, 50)
    assert step_at(LOG, _epoch(3, 23, 59, 58.5), started) == "computed indicator price.spike_mad"
    assert step_at(LOG, _epoch(3, 23, 59, 59.2), started) == "computed indicator price.variance_screen"


def test_step_at_after_midnight_is_not_the_first_step_of_the_log():
    started = _epoch(3, 23, 59, 50)
    # 00:00:01 on the next day: before midnight-aware stamps this matched "23:59:58" < "00:00:01" wrongly
    assert step_at(LOG, _epoch(4, 0, 0, 1), started) == "computed indicator collusion.parallelism"
    assert step_at(LOG, _epoch(4, 0, 0, 5), started) == "quality staging.price_observations"
    assert step_at(LOG, _epoch(4, 0, 0, 30), started) == "the end of the run (bulletin, lineage)"
    assert step_at(LOG, None, started) == ""


def test_step_seconds_keep_the_run_dates_not_the_publish_probes():
    """publish computes every indicator again on an empty probe date (2000-01-01): its ~0 s lines must not replace
    the run date's seconds (session 29: `make bench` reported spike_mad + cn_reference_7d as 0.0 s)."""
    from benchmarks.run import step_seconds

    log = ("22:23:51 DEBUG computed indicator price.spike_mad: 6952953 rows in 60.114 s\n"
           "22:30:35 DEBUG computed indicator price.spike_mad: 0 rows in 0.012 s\n")
    assert step_seconds(log)["indicator price.spike_mad"] == 60.114
