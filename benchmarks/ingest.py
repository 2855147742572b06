"""The price feed's ingest against the floor's read of the same file (issue 23), each a child process.

    python -m benchmarks.ingest [--work /tmp/mm_bench] [--scale 100] [--repeats 1] [--compare-repo DIR]
                                [--only-compared] [--no-floor]

Uses the benchmark day that `python -m benchmarks.run --prepare-only` generated under WORK (gen_s<scale>).
Per repeat: the floor's `read_csv` of the price feed (benchmarks.floor's own statement: 8 columns, sniffed
types, in memory), then `ingest_day` of the price feed alone into an empty warehouse with this checkout's
code and, with --compare-repo, with another checkout's (e.g. a clone of the previous commit: the
before/after of a change, measured in one session). Prints wall and CPU seconds (rusage of the child),
max RSS, the ledger counts and the per-phase seconds of the product's own `ingested …` log line. Each
child runs with its checkout as working directory and PYTHONPATH (it asserts which `pipelines` it imported).
"""

# ruff: noqa: S603 - bench-only: the children are this interpreter with code and paths made here
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAY = "2026-11-20"

CHILD_PRODUCT = r"""
import datetime as dt, logging, sys, time
from pathlib import Path
import pipelines
assert pipelines.__file__.startswith(sys.argv[1]), pipelines.__file__
from pipelines.core.home import Home
from pipelines.ingest.orchestrate import ingest_day
from warehouse.db import connect_writer
home = Home(Path(sys.argv[2]))
logging.basicConfig(level=logging.WARNING, format="%(message)s")
logging.getLogger("pipelines.ingest").setLevel(logging.DEBUG)
con = connect_writer(home.db_path)
t = time.perf_counter()
(e,) = ingest_day(con, home, dt.date.fromisoformat(sys.argv[3]), sources=["price_observations"]).entries
print("RESULT", e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined, f"{time.perf_counter() - t:.2f} s")
"""

CHILD_FLOOR = r"""
import duckdb, sys, time
con = duckdb.connect()
t = time.perf_counter()
con.execute(f'''CREATE TABLE obs AS SELECT shop_id, sku_id, observed_at, price_type, price, reference_price, promo_start,
 account_cohort FROM read_csv('{sys.argv[1]}/price_observations/{sys.argv[2]}/*.csv', header=true,
 types={{'reference_price': 'DOUBLE', 'price': 'DOUBLE', 'promo_start': 'DATE'}})''')
print("RESULT floor", con.execute("SELECT count(*) FROM obs").fetchone()[0], f"{time.perf_counter() - t:.2f} s")
"""


def _child(args: list[str], env: dict, cwd: Path | None = None) -> tuple[float, float, float, list[str]]:
    t = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    out = p.stdout.read()
    _, _status, ru = os.wait4(p.pid, 0)
    keep = [line for line in out.splitlines() if line.startswith("RESULT") or "ingested" in line
            or "read again" in line or "Error" in line]
    return time.perf_counter() - t, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024 / 1e9, keep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("MM_BENCH_WORK", "/tmp/mm_bench")))
    ap.add_argument("--scale", type=float, default=100.0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--compare-repo", type=Path, help="another checkout to ingest with as well (before/after)")
    ap.add_argument("--only-compared", action="store_true", help="ingest with --compare-repo's code only")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor's read")
    a = ap.parse_args(argv)
    landing = a.work / f"gen_s{a.scale:g}" / "landing"
    if not (landing / "price_observations" / DAY).is_dir():
        sys.exit(f"{landing} has no price feed for {DAY}: run `python -m benchmarks.run --prepare-only "
                 f"--scale {a.scale:g} --work {a.work}` first")
    runs = [] if a.only_compared else [("this checkout", REPO)]
    runs += [("compared", a.compare_repo.resolve())] if a.compare_repo else []
    for r in range(a.repeats):
        if not a.no_floor:
            w, cpu, rss, out = _child([sys.executable, "-c", CHILD_FLOOR, str(landing), DAY], dict(os.environ))
            print(f"[{r}] floor read: wall {w:.1f} s, cpu {cpu:.1f} s, max rss {rss:.2f} GB", *out, sep="\n    ",
                  flush=True)
        for name, repo in runs:
            home = a.work / f"ingest_home_{r}_{name.split()[0]}"
            shutil.rmtree(home, ignore_errors=True)
            (home / "landing").mkdir(parents=True)
            (home / "landing" / "price_observations").symlink_to(landing / "price_observations")
            env = dict(os.environ, PYTHONPATH=str(repo))
            w, cpu, rss, out = _child([sys.executable, "-c", CHILD_PRODUCT, str(repo), str(home), DAY], env, cwd=repo)
            print(f"[{r}] ingest ({name}: {repo}): wall {w:.1f} s, cpu {cpu:.1f} s, max rss {rss:.2f} GB", *out,
                  sep="\n    ", flush=True)
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
