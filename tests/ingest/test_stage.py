"""Two-phase ingest (pipelines/ingest/stage.py): prepare every landed file into HOME/.stage without the
warehouse, then register; the warehouse must hold exactly what the direct path (ingest_day) writes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipelines.core.home import Home
from pipelines.ingest import ingest_day
from pipelines.ingest.stage import (
    StageError,
    landed_files,
    prepare_file,
    register_day,
    stage_and_register,
    stage_day_dir,
)
from tests.ingest.conftest import accounting, land
from warehouse.db import connect_writer

REPO = Path(__file__).resolve().parents[2]
D1, D2 = dt.date(2026, 10, 29), dt.date(2026, 10, 30)


LIGHT = ("complaints_12315", "olist", "registry", "quality_sampling")  # the sample's sources without the price file


def lay_sample(home: Home, days, sources=None) -> None:
    from pipelines.generate.sample import sample_landing

    for source in sorted(p for p in sample_landing().iterdir() if p.is_dir()):
        if sources and source.name not in sources:
            continue
        for d in days:
            if (source / d.isoformat()).is_dir():
                shutil.copytree(source / d.isoformat(), home.landing_dir(source.name, d), dirs_exist_ok=True)


def ingest_tables(con) -> list[str]:
    return [f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('raw', 'staging') "
        "ORDER BY 1, 2").fetchall()] + ["meta.quarantine_rows", "meta.ingestion_ledger"]


def contents(con) -> dict[str, list]:
    """Every ingest table's rows, sorted (the ledger without loaded_at: a timestamp of when)."""
    out = {}
    for name in ingest_tables(con):
        exclude = " EXCLUDE (loaded_at)" if name == "meta.ingestion_ledger" else ""
        out[name] = con.execute(f"SELECT *{exclude} FROM {name} ORDER BY ALL").fetchall()  # noqa: S608 - catalogue names
    return out


def copy_landing(a: Home, b: Home) -> None:
    shutil.copytree(a.landing, b.landing, dirs_exist_ok=True, symlinks=True)


def twin_homes(tmp_path) -> tuple[Home, Home]:
    return Home(tmp_path / "direct").ensure(), Home(tmp_path / "staged").ensure()


def assert_same(direct: Home, staged: Home) -> None:
    a, b = connect_writer(direct.db_path), connect_writer(staged.db_path)
    try:
        ca, cb = contents(a), contents(b)
        assert ca.keys() == cb.keys()
        for name in ca:
            assert ca[name] == cb[name], f"{name} differs between the direct path and prepare + register"
        accounting(b)
    finally:
        a.close()
        b.close()
    qa = sorted(p.relative_to(direct.quarantine) for p in direct.quarantine.rglob("*") if p.is_file())
    qb = sorted(p.relative_to(staged.quarantine) for p in staged.quarantine.rglob("*") if p.is_file())
    assert qa == qb
    for rel in qa:
        assert (direct.quarantine / rel).read_bytes() == (staged.quarantine / rel).read_bytes(), rel


def run_both(direct: Home, staged: Home, days) -> list:
    reports = []
    for d in days:
        con = connect_writer(direct.db_path)
        try:
            ingest_day(con, direct, d)
        finally:
            con.close()
        con = connect_writer(staged.db_path)
        try:
            reports.append(stage_and_register(con, staged, d))
        finally:
            con.close()
    return reports


@pytest.mark.slow
def test_sample_days_staged_equal_direct(tmp_path):
    direct, staged = twin_homes(tmp_path)
    lay_sample(direct, (D1, D2))
    copy_landing(direct, staged)
    reports = run_both(direct, staged, (D1, D2))
    assert sum(r.rows_loaded for r in reports) > 100_000
    assert_same(direct, staged)
    # the stage folders stay, with their manifests only (the parquet is removed once registered)
    left = sorted(p.name for p in stage_day_dir(staged, "price_observations", D1).rglob("*") if p.is_file())
    assert left == ["manifest.json"]


def broken_day(home: Home) -> None:
    """Everything the direct path treats specially, in one day: a repeated export (same bytes, other name),
    the same rows re-saved with other bytes (cross-file duplicates), bad rows, an empty file, a name no
    table takes, a hidden file, a subfolder, a broken zip, a header that does not fit."""
    lay_sample(home, (D1,), ("price_observations", "complaints_12315", "penalties"))
    folder = home.landing_dir("price_observations", D1)
    (original,) = sorted(folder.glob("*.zip"))
    shutil.copyfile(original, folder / "price_observations_resent.zip")
    with zipfile.ZipFile(original) as zf:
        (member,) = zf.namelist()
        text = zf.read(member)
    (folder / "price_observations_from_excel.csv").write_bytes(text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    lines = text.decode("utf-8").splitlines()
    # a second file of the day with some new rows, some repeated keys and some bad values
    head, body = lines[0], lines[1:]
    cols = head.split(",")
    price = cols.index("price")
    bad = []
    for k, line in enumerate(body[:40]):
        f = line.split(",")
        if k % 3 == 0:
            f[price] = "-1"
        bad.append(",".join(f))
    land(home, "price_observations", D1, "zz_partial.csv", "\n".join([head, *bad]) + "\n")
    land(home, "complaints_12315", D1, "empty.csv", "")
    land(home, "complaints_12315", D1, "notes_for_the_team.csv", "a,b\n1,2\n")
    land(home, "complaints_12315", D1, ".hidden.csv", "a,b\n1,2\n")
    (home.landing_dir("complaints_12315", D1) / "sub").mkdir()
    land(home, "penalties", D1, "penalties_broken.zip", b"PK\x03\x04 not really a zip")
    land(home, "penalties", D1, "penalties_wrong_header.csv", "foo,bar\n1,2\n")


@pytest.mark.slow
def test_broken_day_staged_equals_direct(tmp_path, caplog):
    direct, staged = twin_homes(tmp_path)
    broken_day(direct)
    copy_landing(direct, staged)
    caplog.set_level("INFO", logger="pipelines.ingest.stage")
    con = connect_writer(direct.db_path)
    try:
        direct_report = ingest_day(con, direct, D1)
    finally:
        con.close()
    con = connect_writer(staged.db_path)
    try:
        staged_report = stage_and_register(con, staged, D1)
    finally:
        con.close()
    outcomes = sorted((e.file_name, e.outcome, e.rows_loaded, e.rows_quarantined) for e in staged_report.entries)
    assert outcomes == sorted((e.file_name, e.outcome, e.rows_loaded, e.rows_quarantined)
                              for e in direct_report.entries)
    kinds = {o for _, o, _, _ in outcomes}
    assert {"loaded", "duplicate", "empty", "ignored", "rejected"} <= kinds
    assert_same(direct, staged)
    # the cross-file checks sent exactly the files that needed them through the direct path
    direct_loads = [r.getMessage() for r in caplog.records if "loaded directly" in r.getMessage()]
    assert any("price_observations_from_excel.csv" in m for m in direct_loads), direct_loads
    assert any("price_observations_resent.zip" in m for m in direct_loads), direct_loads
    assert not any("complaints_12315.csv" in m for m in direct_loads), direct_loads


def test_register_twice_changes_nothing(tmp_path):
    home = Home(tmp_path / "h").ensure()
    lay_sample(home, (D1,), LIGHT)
    con = connect_writer(home.db_path)
    try:
        stage_and_register(con, home, D1)
        before = contents(con)
        again = register_day(con, home, D1)  # manifests only now: every file is skipped by the ledger
        assert {e.outcome for e in again.entries} == {"skipped_same_file"}
        assert contents(con) == before
        prepared = [prepare_file(home, f["source"], D1, f["entry"]) for f in landed_files(home, D1)]
        third = register_day(con, home, D1, prepared)  # prepared again: still nothing new
        assert {e.outcome for e in third.entries} == {"skipped_same_file"}
        assert contents(con) == before
    finally:
        con.close()


def test_prepare_never_opens_the_warehouse_and_a_crash_before_register_commits_nothing(tmp_path):
    home = Home(tmp_path / "h").ensure()
    lay_sample(home, (D1,), LIGHT)
    for f in landed_files(home, D1):
        prepare_file(home, f["source"], D1, f["entry"])
    assert not home.db_path.exists(), "prepare must not create or open the warehouse"
    # the register process dies just before its first commit: nothing of that file is in the warehouse
    code = ("import datetime as dt; from pipelines.core.home import Home; from pipelines.ingest.stage import register_day; "
            "from warehouse.db import connect_writer; h = Home(__import__('pathlib').Path(r'%s')); "
            "con = connect_writer(h.db_path); register_day(con, h, dt.date(2026, 10, 29))" % home.root)
    env = dict(os.environ, PYTHONPATH=str(REPO), MARKET_MONITOR_FAULT="register.before_commit:2")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr[-2000:]
    con = connect_writer(home.db_path)
    try:
        committed = con.execute("SELECT count(*) FROM meta.ingestion_ledger").fetchall()[0][0]
        assert committed == 1  # the first file's transaction, not the second's
        report = register_day(con, home, D1)  # the rerun registers the rest
        assert committed + sum(1 for e in report.entries if e.outcome == "loaded") == len(report.entries)
        accounting(con)
    finally:
        con.close()
    reference = Home(tmp_path / "ref").ensure()
    copy_landing(home, reference)
    con = connect_writer(reference.db_path)
    try:
        ingest_day(con, reference, D1)
    finally:
        con.close()
    assert_same(reference, home)


@pytest.mark.parametrize("damage", ["truncate", "delete", "no_stage", "manifest"])
def test_a_damaged_stage_is_an_error_naming_it(tmp_path, damage):
    home = Home(tmp_path / "h").ensure()
    land(home, "complaints_12315", D1, "complaints_12315.csv", _complaints_csv())
    (summary,) = [prepare_file(home, f["source"], D1, f["entry"]) for f in landed_files(home, D1)]
    folder = home.root / summary["stage"]
    parquet = folder / "staging.complaints_12315.parquet"
    if damage == "truncate":
        parquet.write_bytes(parquet.read_bytes()[:100])
        expected = f"stage file {parquet} (staging.complaints_12315) is corrupt"
    elif damage == "delete":
        parquet.unlink()
        expected = f"stage file {parquet} (staging.complaints_12315) is missing"
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{", encoding="utf-8")
        expected = f"stage manifest {folder / 'manifest.json'} is unreadable"
    else:
        shutil.rmtree(folder)
        expected = f"its stage {folder} is missing"
    con = connect_writer(home.db_path)
    try:
        with pytest.raises(StageError) as err:
            register_day(con, home, D1, [summary])
        assert expected in str(err.value)
        assert "landing/complaints_12315/2026-10-29/complaints_12315.csv" in str(err.value)
        assert con.execute("SELECT count(*) FROM meta.ingestion_ledger").fetchall() == [(0,)]
    finally:
        con.close()


def _complaints_csv() -> str:
    from pipelines.generate.sample import sample_landing

    path = sample_landing() / "complaints_12315" / D1.isoformat() / "complaints_12315.csv"
    return path.read_text(encoding="utf-8")


def test_a_file_landed_after_the_list_is_loaded_directly(tmp_path):
    home = Home(tmp_path / "h").ensure()
    land(home, "complaints_12315", D1, "complaints_12315.csv", _complaints_csv())
    prepared = [prepare_file(home, f["source"], D1, f["entry"]) for f in landed_files(home, D1)]
    land(home, "complaints_12315", D1, "late.csv", _complaints_csv())
    con = connect_writer(home.db_path)
    try:
        report = register_day(con, home, D1, prepared)
    finally:
        con.close()
    assert [(e.file_name, e.outcome) for e in report.entries] == [
        ("complaints_12315.csv", "loaded"), ("late.csv", "duplicate")]


def test_prepare_uses_the_homes_duckdb_settings(tmp_path, monkeypatch):
    """A prepare task's scratch DuckDB takes the home's `duckdb:` settings (HOME/config.yml, the environment
    winning), as the writer does: a pod's memory limit binds its prepare tasks too."""
    from pipelines.ingest.stage import _scratch_connection

    for var in ("MARKET_MONITOR_MEMORY_LIMIT", "MARKET_MONITOR_THREADS", "MARKET_MONITOR_MAX_TEMP"):
        monkeypatch.delenv(var, raising=False)
    home = Home(tmp_path / "home").ensure()
    home.config_file.write_text("duckdb:\n  memory_limit: 300MB\n  threads: 1\n  max_temp_directory_size: 2GB\n",
                                encoding="utf-8")
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def settings():
        con = _scratch_connection(scratch, home)
        try:
            return dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('memory_limit', 'threads', 'max_temp_directory_size')").fetchall())
        finally:
            con.close()
            (scratch / "scratch.duckdb").unlink()

    got = settings()
    assert got["memory_limit"] == "286.1 MiB" and got["threads"] == "1", got
    assert got["max_temp_directory_size"].startswith("1.8"), got  # 2 GB
    monkeypatch.setenv("MARKET_MONITOR_MEMORY_LIMIT", "200MB")
    assert settings()["memory_limit"] == "190.7 MiB"
