"""Freshness is part of the gate: a day without its expected drops is incomplete, not quiet.

Three whole runs on a copy of the first sample days (`template_d1`: D1 run and published, D2's drops laid):
a day with no drop at all, and D2 with the 12315 complaints missing, each through the real CLI, gate,
publish and bulletin; then `status` on a run killed midway. The rules themselves (expected cadences,
rejected-only and not-yet-ingested folders, a home's first delivery) are checked on a warehouse's ledger.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime

import duckdb
import pytest

from expectations.gate import guarding_suites
from indicators.compute import day_lineage, mart_catalogue
from pipelines.core.home import Home
from pipelines.ingest import freshness
from pipelines.run.cli import main
from pipelines.serve.status import status_text
from tests.reliability.helpers import D1, D2, copy_home

DAILY = ("price_observations", "olist", "complaints_12315")
EMPTY_DAY = date(2026, 11, 2)  # nothing in landing/*/2026-11-02/


@pytest.fixture
def home(template_d1, tmp_path) -> Home:
    return Home(copy_home(template_d1, tmp_path / "home"))


def _run(home: Home, day: date, capsys) -> tuple[int, str]:
    code = main(["run", "--home", str(home.root), "--date", day.isoformat(), "--quiet"])
    return code, capsys.readouterr().err


def _query(home: Home, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def _published(home: Home, day: date) -> set[str]:
    return {m for m in mart_catalogue()["marts"] if home.partition_file(m, day).exists()}


def _bulletin(home: Home, day: date) -> str:
    return (home.reports / day.isoformat() / "bulletin.html").read_text(encoding="utf-8")


def test_the_daily_sources_are_declared_daily_and_the_sample_delivers_them_every_day():
    from pipelines.generate.sample import sample_days, sample_landing
    from pipelines.ingest.catalogue import all_sources

    cadence = {s.id: s.expected for s in all_sources()}
    assert tuple(s for s, e in cadence.items() if e == "daily") == DAILY
    assert {e for s, e in cadence.items() if s not in DAILY} == {"on_events"}
    for source in DAILY:  # the demo must stay complete on every day
        for day in sample_days():
            assert any((sample_landing() / source / day.isoformat()).iterdir()), (source, day)


def test_a_day_with_no_drops_at_all_publishes_nothing_and_says_what_is_missing(home, capsys):
    before = _published(home, D1)
    code, err = _run(home, EMPTY_DAY, capsys)

    assert code == 1, err
    assert f"run {EMPTY_DAY}: day incomplete: 3 expected source(s) delivered nothing:\n  no source delivered anything" in err
    for source in DAILY:
        assert f"{source} (expected daily): nothing delivered for {EMPTY_DAY}: no file in landing/{source}/{EMPTY_DAY}/" in err
    assert "no source delivered anything" in err
    assert _published(home, EMPTY_DAY) == set()  # not one mart, entity_matches (on-events inputs only) included
    assert _published(home, D1) == before  # the previous partitions stay

    page = _bulletin(home, EMPTY_DAY)
    assert page.index('id="day-incomplete"') < page.index('id="total-leads"')  # the page opens with it
    for source in DAILY:
        assert f"no file in landing/{source}/{EMPTY_DAY}/" in page
    assert "indicator_flags" in page.split('id="day-incomplete"')[1].split("</div>")[0]  # named as not published

    alerts = [m for (m,) in _query(home, "SELECT message FROM meta.alerts WHERE business_date = $d", {"d": EMPTY_DAY})]
    for source in DAILY:
        assert any(m.startswith(f"day {EMPTY_DAY} incomplete: {source} (expected daily)") for m in alerts), alerts

    status = status_text(home)
    for source in DAILY:
        assert f"{EMPTY_DAY} incomplete: missing: {source} (expected daily)" in status


def test_a_day_with_one_expected_source_missing_blocks_only_the_marts_that_read_it(home, capsys):
    import shutil

    shutil.rmtree(home.landing_dir("complaints_12315", D2))
    code, err = _run(home, D2, capsys)

    assert code == 1, err
    assert f"run {D2}: day incomplete: 1 expected source(s) delivered nothing" in err
    assert f"complaints_12315 (expected daily): nothing delivered for {D2}: no file in landing/complaints_12315/{D2}/" in err
    marts = mart_catalogue()["marts"]
    lineage = day_lineage(marts=marts)
    needs = {m for m in marts if "staging.complaints_12315" in guarding_suites(m, lineage)}
    assert {"complaint_rates", "complaint_categories", "indicator_flags", "merchant_credit_tiers"} <= needs
    assert _published(home, D2) == set(marts) - needs  # the others are published
    assert "price_anomalies" in _published(home, D2) and "complaint_rates" not in _published(home, D2)
    assert "not published for 2026-10-30 (their previous partitions stay): " in err
    for mart in needs:
        assert mart in err.split("not published for")[1].split("\n")[0]

    page = _bulletin(home, D2)
    notice = page.split('id="day-incomplete"')[1].split("</div>")[0]
    assert "complaints_12315" in notice and "price_observations" not in notice
    status = status_text(home)
    assert f"{D2} incomplete: missing: complaints_12315 (expected daily)" in status
    assert f"{D1} incomplete" not in status


def test_a_killed_run_is_shown_as_died_and_a_live_one_is_not(home):
    con = duckdb.connect(str(home.db_path))
    try:  # what a SIGKILL in compute leaves: the stage row never updated
        con.execute("INSERT INTO meta.runs VALUES ('2026-10-30__killed', $d, 'ingest', $t, $t, 'success', NULL, 'cli'), "
                    "('2026-10-30__killed', $d, 'compute', $t, NULL, 'running', NULL, 'cli')",
                    {"d": D2, "t": datetime(2026, 10, 31, 1, 0)})
    finally:
        con.close()
    text = status_text(home)
    runs = text.split("== recent runs")[1].split("==")[0]
    killed = next(line for line in runs.splitlines() if "2026-10-30__killed" in line)
    assert "died" in killed and "compute:died" in killed and "running" not in killed
    assert f"died: the compute stage of the run for {D2} never finished" in text
    assert f"market-monitor run --date {D2}" in text

    # a live run holds DuckDB's writer lock: status cannot open the warehouse and says a job is running
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(home.db_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        live = status_text(home)
    finally:
        holder.kill()
        holder.wait()
    assert "in use by a running job" in live and "died" not in live


def test_the_airflow_verdict_fails_the_run_naming_the_missing_sources():
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.run.airflow_tasks import BLOCKED_KEY, GAPS_KEY, verdict_task

    gap = f"complaints_12315 (expected daily): nothing delivered for {D2}: no file in landing/complaints_12315/{D2}/"

    class TI:
        def xcom_pull(self, task_ids, key):
            return {("gate", GAPS_KEY): [gap], ("publish", BLOCKED_KEY): {"complaint_rates": ["…"]}}.get((task_ids, key))

    with pytest.raises(AirflowFailException) as err:
        verdict_task(D2.isoformat(), {"ti": TI()})
    assert gap in str(err.value) and "day incomplete" in str(err.value) and "complaint_rates" in str(err.value)


# --------------------------------------------------------------------------- the rules, on a ledger

def _ledger(con, rows) -> None:
    con.executemany("INSERT INTO meta.ingestion_ledger VALUES (?, ?, ?, NULL, 1, 0, 0, 0, ?, 'why', NULL, ?)",
                    [(s, d, f, o, datetime(2026, 1, 1)) for s, d, f, o in rows])


def test_expected_cadences():
    assert freshness.expected_on("daily", D1)
    assert not freshness.expected_on("on_events", D1)
    assert freshness.expected_on("weekly:thu", D1) and not freshness.expected_on("weekly:fri", D1)  # D1 is a Thursday


def test_gaps_from_the_ledger(mem_warehouse, tmp_path):
    con = mem_warehouse
    # a home that never delivered anything expects every daily source, and the whole day is empty
    fresh = freshness.check(con, D1)
    assert fresh.missing == DAILY and fresh.nothing_delivered

    _ledger(con, [("price_observations", D1, "p.csv", "loaded"), ("olist", D1, "o.csv", "loaded"),
                  ("price_observations", D2, "bad.csv", "rejected"), ("penalties", D2, "x.csv", "loaded")])
    fresh = freshness.check(con, D1)
    assert fresh.expected == ("price_observations", "olist") and fresh.missing == ()  # complaints never used here
    home = Home(tmp_path / "home")
    waiting = home.landing_dir("olist", D2)
    waiting.mkdir(parents=True)
    (waiting / "olist_orders_dataset.csv").write_text("order_id\n", encoding="utf-8")
    fresh = freshness.check(con, D2, home)
    assert fresh.missing == ("price_observations", "olist") and not fresh.nothing_delivered  # penalties came
    prices, olist = (g.describe() for g in fresh.gaps)
    assert prices.endswith(f"only rejected file(s) in landing/price_observations/{D2}/: bad.csv")
    assert olist.endswith(f"1 file(s) in landing/olist/{D2}/ not ingested yet: olist_orders_dataset.csv")


def test_a_misspelt_cadence_is_refused(tmp_path):
    from pipelines.core.errors import UserError
    from pipelines.ingest.catalogue import SOURCES_DIR, read_source_file

    path = tmp_path / "penalties.yml"
    path.write_text((SOURCES_DIR / "penalties.yml").read_text(encoding="utf-8").replace(
        "expected: on_events", "expected: weekly:friday"), encoding="utf-8")
    with pytest.raises(UserError, match=re.escape("weekly:<mon|tue|wed|thu|fri|sat|sun>")):
        read_source_file(path)
