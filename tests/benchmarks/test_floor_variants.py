"""The floor held to the product's memory, in memory or on a database file, computes what the floor computes: the
held variants of docs/BENCHMARKS.md ("Scale curve", "Session 35") differ from it only in where their rows live."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.run import DAY, prepare


def _floor(gen, tpl, out, *bound: str) -> str:
    done = subprocess.run([sys.executable, "-m", "benchmarks.floor", "floor", str(gen / "landing"), str(tpl), str(out),
                           DAY.isoformat(), *bound], capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_held_floors_give_the_floors_answer(tmp_path):
    gen, tpls = prepare(tmp_path / "work", 0.2, 20261111, 0.5, (2, 2))
    free = _floor(gen, tpls[2], tmp_path / "free")
    assert free.startswith("checks=") and free != "checks=0 flagged=0", free
    assert _floor(gen, tpls[2], tmp_path / "held", "2.5GB") == free
    assert _floor(gen, tpls[2], tmp_path / "held_file", "2.5GB", "file") == free
    assert (tmp_path / "held_file" / "floor.duckdb").stat().st_size > 0
    assert not (tmp_path / "held" / "floor.duckdb").exists()
