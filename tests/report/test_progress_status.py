"""Progress: a bar on a terminal, plain log lines otherwise, nothing with --quiet; and `status`."""

from __future__ import annotations

import io
import logging

from pipelines.run.cli import main
from pipelines.run.progress import Progress, stage_progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_bar_on_a_terminal():
    out = Tty()
    with Progress(4, "run", stream=out) as bar:
        for _ in range(4):
            bar.advance(note="x")
    text = out.getvalue()
    assert "\r" in text and "[" + "#" * 28 + "] 4/4 100%" in text and text.endswith("\n")


def test_plain_lines_when_not_a_terminal(caplog):
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="market_monitor.progress"):
        with Progress(2, "backfill", stream=out) as bar:
            bar.advance(note="2026-01-01")
            bar.advance(note="2026-01-02")
    assert out.getvalue() == ""
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "backfill: 1/2 done, 2026-01-01", "backfill: 2/2 done, 2026-01-02"]


def test_quiet_shows_nothing_and_verbose_keeps_plain_lines(caplog):
    out = Tty()
    with caplog.at_level(logging.INFO, logger="market_monitor.progress"):
        with Progress(1, "q", stream=out, quiet=True) as bar:
            bar.advance()
        with Progress(1, "v", stream=out, verbose=True) as bar:
            bar.advance()
    assert out.getvalue() == ""
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["v: 1/1 done"]


def test_stage_records_of_the_daily_run_advance_the_bar(caplog):
    out = Tty()
    bar = Progress(5, "run", stream=out)
    with caplog.at_level(logging.INFO, logger="pipelines.run.daily"), stage_progress(bar):
        for stage in ("ingest", "compute"):
            logging.getLogger("pipelines.run.daily").info("stage %s for %s: %s in %.2f s", stage, "2026-01-01",
                                                      "success", 0.1)
        logging.getLogger("pipelines.run.daily").info("something else")
    assert bar.done == 2 and "2026-01-01 compute success" in out.getvalue()


def test_status_shows_runs_freshness_ledger_quarantine_and_failing_checks(fake_home, capsys):
    home, _ = fake_home
    assert main(["status", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    for section in ("recent runs", "source freshness", "ledger of the last day", "quarantined rows",
                    "failing checks"):
        assert f"== {section}" in out
    assert "2026-03-28" in out and "failed" in out  # the failed gate of the fake home
    assert "expect_column_values_to_be_between" in out
    assert len(out.splitlines()) < 120  # one screen-ish


def test_status_without_a_warehouse(tmp_path, capsys):
    assert main(["status", "--home", str(tmp_path)]) == 0
    assert "no warehouse yet" in capsys.readouterr().out


def test_status_shows_a_run_left_running_as_died_with_the_rerun_hint(fake_home, tmp_path, capsys):
    """A stage still `running` while status can open the warehouse is a dead process (a live one holds the
    writer lock): `died`, never `running`, and the command to rerun the day."""
    import shutil
    from datetime import date, datetime

    import duckdb

    home, _ = fake_home
    copy = tmp_path / "home"
    copy.mkdir()
    shutil.copy(home.db_path, copy / home.db_path.name)
    con = duckdb.connect(str(copy / home.db_path.name))
    try:
        con.execute("INSERT INTO meta.runs VALUES ('2026-03-29__killed', $d, 'publish', $t, NULL, 'running', NULL, "
                    "'airflow')", {"d": date(2026, 3, 29), "t": datetime(2026, 3, 30, 1, 0)})
    finally:
        con.close()
    assert main(["status", "--home", str(copy)]) == 0
    out = capsys.readouterr().out
    killed = next(line for line in out.splitlines() if "2026-03-29__killed" in line)
    assert "died" in killed and "publish:died" in killed and "running" not in killed
    assert "died: the publish stage of the run for 2026-03-29 never finished" in out
    assert "market-monitor run --date 2026-03-29" in out
