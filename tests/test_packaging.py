"""`pip install .` (not only editable) carries the SQL, metadata, suites, templates and sample data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_package_data(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path),
                           str(REPO)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [wheel] = tmp_path.glob("market_monitor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    in_repo = {
        str(p.relative_to(REPO))
        for top in ("indicators", "warehouse", "pipelines", "expectations")
        for p in (REPO / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    missing = sorted(in_repo - names)
    assert not missing, f"files left out of the wheel: {missing[:20]}"
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "market-monitor = pipelines.run.cli:main" in entry
