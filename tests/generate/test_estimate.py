"""`generate` says how big a province will be before writing it and refuses when the disk lacks room (issue 23)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from pipelines.generate import generate
from pipelines.generate.estimate import Estimate, disk_shortfall, estimate_province

START = dt.date(2026, 11, 1)


def test_estimate_is_close_to_what_is_written(tmp_path):
    est = estimate_province(START, 2, 0.3, 7, history_days=2)
    written = generate(tmp_path / "p", START, 2, scale=0.3, seed=7, history_days=2)
    assert est.days_written == 4
    actual = written["price_observations"]
    assert abs(est.rows["price_observations"] - actual) / actual < 0.2, (est.rows, actual)
    on_disk = sum(p.stat().st_size for p in (tmp_path / "p" / "landing").rglob("*") if p.is_file())
    assert abs(est.total_bytes - on_disk) / on_disk < 0.25, (est.total_bytes, on_disk)


def test_history_days_scale_the_estimate():
    short = estimate_province(START, 1, 0.2, 7, history_days=0)
    long = estimate_province(START, 1, 0.2, 7, history_days=9)
    assert long.total_rows == short.total_rows * 10 or abs(long.total_rows / short.total_rows - 10) < 0.01


def test_disk_shortfall_names_the_way_out(tmp_path):
    huge = Estimate(days_written=36, rows={"price_observations": 10**12}, total_rows=10**12, total_bytes=10**18)
    msg = disk_shortfall(tmp_path / "not" / "yet", huge)
    assert msg and "--history-days" in msg and "free" in msg
    tiny = Estimate(days_written=1, rows={}, total_rows=1, total_bytes=1)
    assert disk_shortfall(tmp_path, tiny) is None


def test_cli_refuses_a_province_the_disk_cannot_hold(tmp_path):
    out = tmp_path / "big"
    r = subprocess.run([sys.executable, "-m", "pipelines.run.cli", "generate", "--out", str(out),
                        "--start", "2026-11-01", "--days", "30", "--scale", "1000000", "--history-days", "35"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "not enough disk space" in r.stderr and "Traceback" not in r.stderr
    assert "estimate:" in r.stdout
    assert not (out / "landing").exists()
