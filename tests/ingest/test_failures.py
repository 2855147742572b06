"""Failures named honestly (issue 19): only bad content is `rejected` (exit 2). Out of memory, a full
disk, a DuckDB internal error or a bug fail the ingest stage (exit 1, the message names the stage and the
file), book nothing as rejected, and fail the Airflow task. A rejected file raises an alert and marks the
day incomplete (default), or stops the day (`ingest.on_rejected_file: fail`)."""

from __future__ import annotations

import datetime as dt
import errno

import duckdb
import pytest

from pipelines.core.errors import IngestFailed, UserError
from pipelines.ingest import orchestrate
from pipelines.run import airflow_tasks, daily
from pipelines.run.cli import main
from tests.ingest.conftest import land
from tests.ingest.test_file_shapes import _csv, _rows
from warehouse.db import connect_writer

D = dt.date(2026, 10, 29)
P = "price_observations"

FAULTS = {
    "out_of_memory": (lambda: MemoryError(), "out of memory"),
    "duckdb_out_of_memory": (lambda: duckdb.OutOfMemoryException("could not allocate block"), "out of memory"),
    "disk_full": (lambda: OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    "duckdb_internal": (lambda: duckdb.InternalException("INTERNAL Error: assertion failed"),
                        "a DuckDB internal error"),
    "bug": (lambda: KeyError("a_column_that_should_exist"), "an unexpected error (a bug"),
}


def _ledger(home) -> dict:
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        return {n: o for n, o in con.execute("SELECT file_name, outcome FROM meta.ingestion_ledger").fetchall()}
    finally:
        con.close()


def _query(home, sql: str) -> list:
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_infrastructure_failure_fails_the_stage_not_the_file(home, monkeypatch, capsys, kind):
    make, words = FAULTS[kind]
    land(home, P, D, "a_good.csv", _csv(_rows("g")))
    land(home, P, D, "b_hit.csv", _csv(_rows("h")))
    real_load = orchestrate.load_file

    def load_file(con, source, table, d, name, *args, **kw):
        if name == "b_hit.csv":
            raise make()
        return real_load(con, source, table, d, name, *args, **kw)

    monkeypatch.setattr(orchestrate, "load_file", load_file)
    code = main(["run", "--home", str(home.root), "--date", D.isoformat(), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"stage ingest failed on landing/{P}/{D}/b_hit.csv: {words}" in err
    assert "Traceback" not in err
    # nothing booked as rejected; the failed file has no ledger row (a rerun reads it again), the file
    # before it stays loaded, and the stage is recorded as failed
    assert _ledger(home) == {"a_good.csv": "loaded"}
    assert _query(home, "SELECT count(*) FROM meta.quarantine_rows") == [(0,)]
    assert _query(home, "SELECT count(*) FROM staging.price_observations WHERE _file_name = 'b_hit.csv'") == [(0,)]
    stages = _query(home, "SELECT stage, outcome, message FROM meta.runs")
    assert [(s, o) for s, o, _m in stages] == [("ingest", "failed")]
    assert "b_hit.csv" in stages[0][2]
    # once the cause is gone the rerun loads the file
    monkeypatch.setattr(orchestrate, "load_file", real_load)
    con = connect_writer(home.db_path)
    try:
        report = daily.ingest(home, D, "rerun", con=con)
    finally:
        con.close()
    assert {e.file_name: e.outcome for e in report.entries} == {"a_good.csv": "skipped_same_file",
                                                               "b_hit.csv": "loaded"}


def test_disk_full_while_preparing_a_file_is_not_bad_input(home, monkeypatch, capsys):
    land(home, P, D, "gbk.csv", _csv(_rows("x")).decode("utf-8").encode("gbk"))

    def prepare(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/mm_ingest_x/abc.utf8")

    monkeypatch.setattr(orchestrate, "prepare", prepare)
    assert main(["run", "--home", str(home.root), "--date", D.isoformat(), "--quiet"]) == 1
    assert f"stage ingest failed on landing/{P}/{D}/gbk.csv: the disk is full" in capsys.readouterr().err
    assert _ledger(home) == {}


def test_infrastructure_failure_fails_the_airflow_ingest_task(home, monkeypatch):
    land(home, P, D, "a.csv", _csv(_rows("a")))
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(home.root))

    def load_file(*_a, **_k):
        raise MemoryError()

    monkeypatch.setattr(orchestrate, "load_file", load_file)
    with pytest.raises(IngestFailed, match="stage ingest failed on landing/price_observations/2026-10-29/a.csv"):
        airflow_tasks.stage_task("ingest", D.isoformat(), {})
    with pytest.raises(IngestFailed, match="out of memory"):
        airflow_tasks.ingest_source_task(P, D.isoformat(), {})
    assert _ledger(home) == {}


def _rejected_day(home):
    land(home, P, D, "a_good.csv", _csv(_rows("g")))
    land(home, P, D, "b_bad.csv", _csv(_rows("b")).replace(b"price,currency", b"cost,currency"))


def test_rejected_file_by_default_alerts_and_the_day_is_incomplete(home):
    _rejected_day(home)
    con = connect_writer(home.db_path)
    try:
        report = daily.ingest(home, D, "r1", con=con)
        alerts = con.execute("SELECT task_id, business_date, message FROM meta.alerts").fetchall()
        ledger = dict(con.execute("SELECT file_name, outcome FROM meta.ingestion_ledger").fetchall())
    finally:
        con.close()
    assert ledger == {"a_good.csv": "loaded", "b_bad.csv": "rejected"}  # the other file went on
    assert [(t, d) for t, d, _m in alerts] == [("ingest", D)]
    assert alerts[0][2].startswith(f"day {D} incomplete: file rejected: landing/{P}/{D}/b_bad.csv: ")
    assert "'price'" in alerts[0][2]
    with pytest.raises(UserError) as exc:
        daily.DayResult(run_id="r1", run_date=D, ingest=report).raise_for_outcome()
    assert exc.value.exit_code == 2
    assert f"run {D}: day incomplete: 1 file(s) rejected" in str(exc.value) and "b_bad.csv" in str(exc.value)


def test_rejected_file_with_policy_fail_stops_the_day_after_ingest(home, monkeypatch):
    _rejected_day(home)
    home.config_file.write_text("ingest:\n  on_rejected_file: fail\n", encoding="utf-8")
    with pytest.raises(UserError, match="stopped after ingest") as exc:
        daily.run_day(home, D)
    assert exc.value.exit_code == 2
    stages = _query(home, "SELECT stage, outcome FROM meta.runs")
    assert stages == [("ingest", "failed")]  # nothing computed or published
    assert _query(home, "SELECT count(*) FROM meta.alerts") == [(1,)]
    assert _ledger(home) == {"a_good.csv": "loaded", "b_bad.csv": "rejected"}
    # under Airflow the ingest task fails at once (no retry: the same file gives the same answer)
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("MARKET_MONITOR_HOME", str(home.root))
    with pytest.raises(AirflowFailException, match="b_bad.csv"):
        airflow_tasks.stage_task("ingest", D.isoformat(), {})
    with pytest.raises(AirflowFailException, match="b_bad.csv"):
        airflow_tasks.ingest_source_task(P, D.isoformat(), {})


def test_a_bad_policy_value_is_a_user_error(home):
    home.config_file.write_text("ingest:\n  on_rejected_file: ignore\n", encoding="utf-8")
    with pytest.raises(UserError, match="ingest.on_rejected_file must be one of alert, fail"):
        daily.run_day(home, D)


def test_staging_and_quarantine_split_every_row_and_a_disagreement_fails_the_file(home, con, monkeypatch):
    """Staging takes the rows that break no rule, the quarantine the rows staging did not take
    (pipelines.ingest.load): every row of the file is in exactly one of them, and rows read = loaded +
    quarantined is checked, not assumed. If the two passes ever disagreed (a bug), the file's transaction is
    rolled back: no staged row, no quarantined row, no ledger row, and the stage fails naming the file."""
    from pipelines.ingest import load

    rows = _rows("s", names=("电饭煲", "台灯", "水杯", "茶壶"))
    rows[1][9] = "abc"        # row 2: not a number
    rows[3][0] = rows[0][0]   # row 4: repeats row 1's observation_id
    land(home, P, D, "split.csv", _csv(rows))
    (e,) = orchestrate.ingest_day(con, home, D, sources=[P]).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (4, 2, 2)
    staged = {r[0] for r in con.execute("SELECT _row FROM staging.price_observations").fetchall()}
    quarantined = {r[0] for r in con.execute("SELECT row_number FROM meta.quarantine_rows").fetchall()}
    assert staged == {1, 3} and quarantined == {2, 4}

    real = load.build_transform

    def build_transform(*args, rows="_mm_in", **kw):  # the quarantine pass loses its rows
        dup, xdup, view, params, raw = real(*args, rows=rows, **kw)
        return dup, xdup, view if rows == "_mm_in" else f"SELECT * FROM ({view}) WHERE false", params, raw

    monkeypatch.setattr(load, "build_transform", build_transform)
    land(home, P, D, "lost.csv", _csv([[f"l-{r[0]}", *r[1:]] for r in rows]))
    with pytest.raises(IngestFailed, match=r"lost.csv: .*4 rows read but 2 staged and 0 quarantined"):
        orchestrate.ingest_day(con, home, D, sources=[P])
    assert con.execute("SELECT count(*) FROM staging.price_observations WHERE _file_name = 'lost.csv'").fetchall() \
        == [(0,)]
    assert con.execute("SELECT count(*) FROM meta.quarantine_rows WHERE file_name = 'lost.csv'").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM meta.ingestion_ledger WHERE file_name = 'lost.csv'").fetchall() == [(0,)]
