"""Faults: the process SIGKILLed inside ingest, compute and publish, then rerun; a full disk at publish.

A kill leaves the published marts either old or new per partition (never a half-written file), the
warehouse opens and every ingested row is still accounted for, and the rerun gives exactly what an
uninterrupted run gives. Kills use the test-only hook MARKET_MONITOR_FAULT (pipelines/core/faults.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import duckdb
import pytest

from tests.reliability import figures
from tests.reliability.helpers import (
    D1,
    cli,
    copy_home,
    extra_prices,
    hidden_leftovers,
    manifests_agree,
    partitions,
)

pytestmark = pytest.mark.slow


def _killed(proc) -> None:
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-2000:])
    figures.add("faults injected")


def _accounted(home) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        bad = con.execute("SELECT count(*) FROM meta.ingestion_ledger "
                          "WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()[0][0]
        assert bad == 0
        for _source, name, loaded in con.execute(
                "SELECT source, file_name, rows_loaded FROM meta.ingestion_ledger "
                "WHERE source = 'price_observations'").fetchall():
            staged = con.execute("SELECT count(*) FROM staging.price_observations WHERE _file_name = $f",
                                 {"f": name}).fetchall()[0][0]
            assert staged == loaded, (name, staged, loaded)
        # a file whose transaction was killed left no rows and no ledger entry
        orphans = con.execute("SELECT count(*) FROM staging.price_observations s WHERE NOT EXISTS (SELECT 1 FROM "
                              "meta.ingestion_ledger l WHERE l.file_name = s._file_name AND "
                              "l.business_date = s._business_date)").fetchall()[0][0]
        assert orphans == 0
    finally:
        con.close()


def test_sigkill_in_each_stage_then_rerun(template_d1, tmp_path):
    old = partitions(template_d1)
    assert old, "the template published nothing"
    # the reference: the same change run without interruption
    ref = copy_home(template_d1, tmp_path / "ref")
    extra_prices(ref)
    done = cli(ref, "run", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    new = partitions(ref)
    changed = [k for k in new if old.get(k) != new[k]]
    assert changed, "the extra drop changed no mart: the test would prove nothing"

    home = copy_home(template_d1, tmp_path / "faulty")
    extra_prices(home)
    # 1. killed while the new file's rows are written but not committed
    _killed(cli(home, "run", "--date", D1.isoformat(), fault="ingest.before_commit"))
    assert partitions(home) == old and not hidden_leftovers(home)
    _accounted(home)
    # 2. killed after the indicators were computed, before the gate
    _killed(cli(home, "run", "--date", D1.isoformat(), fault="compute.done"))
    assert partitions(home) == old and not hidden_leftovers(home)
    _accounted(home)
    # 3. killed with a new partition file written beside the old one, not swapped in
    _killed(cli(home, "run", "--date", D1.isoformat(), fault="publish.temp_written"))
    assert partitions(home) == old
    assert hidden_leftovers(home), "the kill should have left the hidden temp file (readers skip it)"
    # 4. killed right after a partition was swapped in (its manifest entry not yet updated)
    _killed(cli(home, "run", "--date", D1.isoformat(), fault="publish.swapped:2"))
    now = partitions(home)
    assert now.keys() == old.keys()
    assert all(now[k] in (old[k], new[k]) for k in now), "a partition is neither the old nor the new file"
    assert any(now[k] != old[k] for k in changed if k in now) or now == old
    _accounted(home)
    # the rerun completes and equals the uninterrupted run, file for file
    done = cli(home, "run", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    assert partitions(home) == new
    assert not hidden_leftovers(home) and not manifests_agree(home)
    _accounted(home)


def _mount_tmpfs(path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        got = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return got.returncode == 0


def test_full_disk_during_publish(template_d1, tmp_path):
    home = copy_home(template_d1, tmp_path / "full")
    extra_prices(home)
    old = partitions(home)
    saved = tmp_path / "marts_saved"
    shutil.move(home / "marts", saved)
    marts = home / "marts"
    if os.geteuid() != 0 or not _mount_tmpfs(marts, "64m"):
        shutil.move(saved, marts)
        pytest.skip("cannot mount a size-limited tmpfs here (needs root / CAP_SYS_ADMIN)")
    try:
        shutil.copytree(saved, marts, dirs_exist_ok=True)
        assert partitions(home) == old
        # fill the disk: leave a few KiB, less than any partition needs
        st = os.statvfs(marts)
        with open(marts / ".filler", "wb") as fh:
            fh.write(b"\0" * (st.f_bavail * st.f_frsize - 4096))
        done = cli(home, "run", "--date", D1.isoformat())
        figures.add("faults injected")
        assert done.returncode == 1, (done.returncode, done.stderr[-3000:])
        assert "publish" in done.stderr and "No space left on device" in done.stderr, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        assert partitions(home) == old, "a partition changed although publishing failed"
        assert [f for f in hidden_leftovers(home) if not f.endswith(".filler")] == []
        assert not manifests_agree(home)
        # the failure is recorded, and once there is room the rerun publishes
        (marts / ".filler").unlink()
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        try:
            failed = con.execute("SELECT count(*) FROM meta.runs WHERE stage = 'publish' AND outcome = 'failed' "
                                 "AND message LIKE '%No space left%'").fetchall()[0][0]
        finally:
            con.close()
        assert failed == 1
    finally:
        subprocess.run(["umount", "-l", str(marts)], capture_output=True)
