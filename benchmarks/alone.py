"""What the benchmarks that run one statement alone on a copy of a warehouse share (benchmarks.history_share,
benchmarks.incremental_window): their common options, the connection each run opens (the product's settings), the
measured run, and the child process each run is (its own max RSS: Linux carries a parent's peak into its children)."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]


def add_options(ap: argparse.ArgumentParser, work_help: str) -> None:
    ap.add_argument("--db", type=Path, required=True, help="a warehouse that has run the day (copied, not changed)")
    ap.add_argument("--date", required=True, type=date.fromisoformat)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--memory-limit", default="2.5GB", help="DuckDB memory_limit of each run (the product's default)")
    ap.add_argument("--work", type=Path, help=work_help)
    ap.add_argument("--spill", type=Path, help=argparse.SUPPRESS)  # a child's temp_directory


def measured(db: Path, memory_limit: str, spill: Path, run: Callable[[duckdb.DuckDBPyConnection], int]) -> dict:
    """`run(con)` on `db` opened with the product's settings (2 threads): its rows, wall and CPU seconds, and this
    process's max RSS."""
    con = duckdb.connect(str(db), config={"memory_limit": memory_limit, "threads": 2, "temp_directory": str(spill),
                                          "preserve_insertion_order": "false"})
    try:
        t, c = time.perf_counter(), time.process_time()
        rows = run(con)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    finally:
        con.close()
    return {"rows": rows, "wall": wall, "cpu": cpu, "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def child(module: str, args: list[str]) -> dict:
    """`python -m module args` (which prints one JSON line last): its dict, or {"error": its last stderr line}."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:300]}
    return json.loads(done.stdout.strip().splitlines()[-1])
