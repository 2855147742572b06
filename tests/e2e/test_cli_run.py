"""End to end through the CLI on the bundled sample: partition layout, row counts, reruns, query."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import duckdb
import pyarrow.dataset as ds
import pytest

from indicators.compute import mart_catalogue
from pipelines.run.cli import main

pytestmark = pytest.mark.slow
MARTS = list(mart_catalogue()["marts"])


def digests(home):
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((home / "marts").rglob("*")) if p.is_file()}


def test_every_day_has_every_mart_partition(cli_home):
    home, days = cli_home
    for mart in MARTS:
        parts = sorted(p.name for p in (home / "marts" / mart).glob("dt=*"))
        assert parts == [f"dt={d.isoformat()}" for d in days], mart
        for day in days:
            files = sorted(p.name for p in (home / "marts" / mart / f"dt={day}").iterdir())
            assert files == ["part-0.parquet"], f"{mart} {day}: {files}"  # no temp files left behind


def test_marts_read_back_with_pyarrow_and_match_manifest_and_warehouse(cli_home):
    home, days = cli_home
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        for mart in MARTS:
            dataset = ds.dataset(home / "marts" / mart, format="parquet", partitioning="hive")
            table = dataset.to_table()
            manifest = json.loads((home / "marts" / "_manifests" / f"{mart}.json").read_text())
            assert manifest["schema_version"] == mart_catalogue()["marts"][mart]["schema_version"]
            assert table.num_rows == sum(p["rows"] for p in manifest["partitions"].values())
            assert {"dt", "pipeline_version", "schema_version"} <= set(table.column_names)
            for day in days:
                part = home / "marts" / mart / f"dt={day}" / "part-0.parquet"
                entry = manifest["partitions"][day.isoformat()]
                assert entry["sha256"] == hashlib.sha256(part.read_bytes()).hexdigest()
                recorded = con.execute("SELECT rows FROM meta.published_partitions WHERE mart = ? AND dt = ?",
                                       [mart, day]).fetchall()
                assert recorded == [(entry["rows"],)]
    finally:
        con.close()


def test_the_sample_produces_reference_price_leads(cli_home):
    home, _ = cli_home
    flags = ds.dataset(home / "marts" / "indicator_flags", format="parquet", partitioning="hive").to_table()
    ids = set(flags.column("indicator_id").to_pylist())
    assert "price.cn_reference_7d" in ids
    for evidence in flags.column("evidence").to_pylist():
        assert json.loads(evidence)  # evidence is JSON


def test_rerunning_a_date_changes_no_mart_content(cli_home):
    home, days = cli_home
    before = digests(home)
    assert main(["run", "--home", str(home), "--date", days[-1].isoformat(), "--quiet"]) == 0
    assert main(["run", "--home", str(home), "--date", days[0].isoformat(), "--quiet"]) == 0
    assert digests(home) == before


def test_ledger_accounts_for_every_row(cli_home):
    home, _ = cli_home
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        bad = con.execute("SELECT count(*) FROM ingestion_ledger "
                          "WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()[0][0]
        loaded = con.execute("SELECT count(*) FROM ingestion_ledger WHERE outcome = 'loaded'").fetchall()[0][0]
    finally:
        con.close()
    assert bad == 0 and loaded > 0


def test_query_reads_marts_and_refuses_writes(cli_home, capsys):
    home, _ = cli_home
    assert main(["query", "--home", str(home), "--format", "json",
                 "SELECT count(*) AS n FROM indicator_flags"]) == 0
    n = json.loads(capsys.readouterr().out)[0]["n"]
    assert n > 0
    assert main(["query", "--home", str(home), "DROP VIEW indicator_flags"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert main(["query", "--home", str(home), "SELECT * FROM read_csv('/etc/passwd')"]) == 2
    assert main(["query", "--home", str(home), "SELECT count(*) FROM ingestion_ledger"]) == 0


def test_status_and_report(cli_home, capsys):
    home, days = cli_home
    assert main(["status", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "recent runs" in out and "source freshness" in out
    assert main(["report", "--home", str(home), "--date", days[-1].isoformat(), "--quiet"]) == 0
    html = (home / "reports" / days[-1].isoformat() / "bulletin.html").read_text(encoding="utf-8")
    assert "市场监管监测日报" in html
    capsys.readouterr()
    assert main(["maintain", "--home", str(home), "--date", days[-1].isoformat(), "--dry-run"]) == 0
    assert '"dry_run": true' in capsys.readouterr().out


def test_cli_process_exit_codes(tmp_path):
    """A real process: usage errors exit 2 without a traceback."""
    proc = subprocess.run([sys.executable, "-m", "pipelines.run.cli", "--home", str(tmp_path), "run",
                           "--date", "2026-13-01"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "not a date" in proc.stderr
