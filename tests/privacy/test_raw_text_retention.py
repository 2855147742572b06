"""Raw text expires: `market-monitor maintain` deletes the landing folders of the sources with personal free
text (the landing file is the raw record: the warehouse keeps no text copy since issue 23), clears
meta.quarantine_rows.raw_text and removes quarantine/ folders of business dates older than
retention.raw_text_days (default 90), and --dry-run only says what would go."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines.core.errors import UserError
from pipelines.core.home import Home
from pipelines.ingest import ingest_day
from pipelines.run.cli import main as cli
from pipelines.run.maintenance import Policy, load_policy
from tests.privacy.test_gate_and_masker_agree import _complaints_csv
from warehouse.db import connect_writer

OLD, RECENT, RUN = date(2024, 1, 2), date(2024, 6, 3), date(2024, 6, 10)  # default cutoff: 2024-03-12


def _land(home: Home, day: date) -> None:
    folder = home.landing_dir("complaints_12315", day)
    folder.mkdir(parents=True)
    text = _complaints_csv(["请回电 13812345678", "未按约发货"]).replace("2024-06-03", day.isoformat())
    text += "T9,不是日期,某公司,913101131334484310,某东,S1,310101,质量,手机13912345678,已办结,,是,,0\n"
    (folder / "c.csv").write_text(text, encoding="utf-8")


@pytest.fixture
def home(tmp_path) -> Home:
    home = Home(tmp_path / "home").ensure()
    con = connect_writer(home.db_path)
    try:
        for day in (OLD, RECENT):
            _land(home, day)
            (entry,) = ingest_day(con, home, day).entries
            assert entry.rows_loaded == 2 and entry.rows_quarantined == 1
    finally:
        con.close()
    return home


def _state(home: Home) -> dict:
    con = connect_writer(home.db_path)
    try:
        return {
            "landing": sorted(p.name for p in (home.landing / "complaints_12315").iterdir()),
            "raw_schema": con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'raw'").fetchall()[0][0],
            "staging": dict(con.execute(
                "SELECT _business_date, count(*) FROM staging.complaints_12315 GROUP BY 1").fetchall()),
            "quarantine": dict(con.execute(
                "SELECT business_date, count(raw_text) FROM meta.quarantine_rows GROUP BY 1").fetchall()),
            "reasons": con.execute("SELECT count(*) FROM meta.quarantine_rows WHERE reason IS NOT NULL").fetchall()[0][0],
            "folders": sorted(p.name for p in (home.quarantine / "complaints_12315").iterdir()),
        }
    finally:
        con.close()


def test_default_retention_is_90_days_and_configurable(tmp_path):
    home = Home(tmp_path)
    assert load_policy(home).raw_text_days == 90
    home.config_file.write_text("retention:\n  raw_text_days: 30\n", encoding="utf-8")
    assert load_policy(home) == Policy(raw_text_days=30)
    home.config_file.write_text("retention:\n  raw_text_days: null\n", encoding="utf-8")
    assert load_policy(home).raw_text_days is None  # kept for ever, said explicitly
    home.config_file.write_text("retention:\n  raw_text_days: 0\n", encoding="utf-8")
    with pytest.raises(UserError, match="raw_text_days"):
        load_policy(home)


def test_maintain_expires_raw_text_and_dry_run_shows_what_would_go(home, capsys):
    before = _state(home)
    assert before["landing"] == [str(OLD), str(RECENT)] and before["quarantine"] == {OLD: 1, RECENT: 1}
    assert before["raw_schema"] == 0  # no text copy of the rows in the warehouse
    assert before["folders"] == [str(OLD), str(RECENT)]

    assert cli(["maintain", "--home", str(home.root), "--date", str(RUN), "--dry-run"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["raw_text"]["cutoff"] == "2024-03-12" and summary["raw_text"]["dry_run"] is True
    assert summary["raw_text"]["quarantine_texts"] == 1
    assert f"quarantine/complaints_12315/{OLD}" in summary["landing"]["deleted"]
    assert f"landing/complaints_12315/{OLD}" in summary["landing"]["deleted"]
    assert _state(home) == before  # nothing changed

    assert cli(["maintain", "--home", str(home.root), "--date", str(RUN)]) == 0
    after = _state(home)
    assert after["landing"] == [str(RECENT)]  # the old day's unmasked text (its landing file) is gone
    assert after["quarantine"] == {OLD: 0, RECENT: 1}  # its quarantined line too ...
    assert after["reasons"] == before["reasons"]  # ... but not the record of why it was quarantined
    assert after["staging"] == before["staging"]  # masked staging rows stay
    assert after["folders"] == [str(RECENT)]  # quarantine files hold the same lines

    # relative to the business date: rerunning the same date expires nothing more
    capsys.readouterr()
    assert cli(["maintain", "--home", str(home.root), "--date", str(RUN)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["raw_text"]["quarantine_texts"] == 0 and again["landing"]["deleted"] == []
    assert _state(home) == after


def test_raw_text_kept_when_configured_for_ever(home):
    home.config_file.write_text("retention:\n  raw_text_days: null\n", encoding="utf-8")
    before = _state(home)
    assert cli(["maintain", "--home", str(home.root), "--date", str(RUN)]) == 0
    assert _state(home) == before
