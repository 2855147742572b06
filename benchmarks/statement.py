"""One indicator's statement alone on a copy of a warehouse, under a memory limit, with DuckDB's JSON profiler:
wall and CPU seconds, max RSS, the highest spill sampled and the profile's peak buffer memory (docs/BENCHMARKS.md,
"Bounded plans").

    python -m benchmarks.statement --db W.duckdb --indicator price.spike_mad --date 2026-11-20 --limit 2.5GB
    python -m benchmarks.statement --db W.duckdb --indicator price.spike_mad --sql other.sql ...  # a variant's text

The warehouse is written (a `work.bench_<id>` table): point it at a copy.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import duckdb

from indicators.compute import create_macros
from indicators.registry import load_catalogue
from pipelines.core.sql import bind


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.statement", description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a warehouse file (a copy: the result table is written)")
    ap.add_argument("--indicator", required=True, help="its id: parameters and, without --sql, its SQL")
    ap.add_argument("--sql", type=Path, help="run this SQL text instead of the indicator's (same parameters)")
    ap.add_argument("--date", type=date.fromisoformat, required=True, help="the run date")
    ap.add_argument("--limit", default="2.5GB", help="DuckDB memory_limit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--profile", type=Path, help="where DuckDB writes its JSON profile (default: a temp file)")
    a = ap.parse_args(argv)

    indicator = {i.id: i for i in load_catalogue()}[a.indicator]
    sql = a.sql.read_text(encoding="utf-8") if a.sql else indicator.sql
    values = indicator.parameters({}) | {"run_date": a.date}
    with tempfile.TemporaryDirectory(prefix="mm-statement-") as tmp:
        spill_dir = Path(tmp) / "spill"
        profile = a.profile or Path(tmp) / "profile.json"
        con = duckdb.connect(str(a.db), config={"memory_limit": a.limit, "threads": a.threads,
                                                "temp_directory": str(spill_dir), "preserve_insertion_order": "false"})
        create_macros(con)
        con.execute("PRAGMA enable_profiling='json'")
        con.execute("SET profiling_mode='detailed'")
        con.execute(f"SET profiling_output='{profile}'")
        peak = {"spill": 0}
        stop = threading.Event()

        def sample():
            while not stop.wait(0.5):
                if spill_dir.is_dir():
                    peak["spill"] = max(peak["spill"], sum(p.stat().st_size for p in spill_dir.glob("*") if p.is_file()))

        threading.Thread(target=sample, daemon=True).start()
        table = "work.bench_" + a.indicator.replace(".", "_")
        t0, c0 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        try:
            con.execute("CREATE SCHEMA IF NOT EXISTS work")
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}", bind(sql, values))
            outcome = "completed"
        except duckdb.Error as exc:
            outcome = f"failed: {str(exc).splitlines()[0][:200]}"
        c1 = resource.getrusage(resource.RUSAGE_SELF)
        stop.set()
        print(f"{a.indicator} at {a.limit}, {a.threads} threads: {outcome}; wall {time.monotonic() - t0:.1f} s, "
              f"CPU {c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime:.1f} s, max RSS {c1.ru_maxrss / 1e6:.2f} GB, "
              f"highest spill sampled {peak['spill'] / 1e9:.2f} GB")
        if outcome == "completed":
            con.execute("PRAGMA disable_profiling")
            rows, digest = con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} AS t").fetchall()[0]  # noqa: S608 - our own table name
            system = json.loads(profile.read_text(encoding="utf-8")).get("system", {})
            print(f"rows {rows}, hash {digest}; profile: peak buffer memory {system.get('peak_buffer_memory')}, "
                  f"bytes spilled {system.get('total_bytes_spilled')}")
        con.close()
    return 0 if outcome == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
