"""The price feed's ingest against the floor's read of the same file (issue 23), each a child process.

    python -m benchmarks.ingest [--work /tmp/mm_bench] [--scale 100] [--repeats 1] [--compare-repo DIR]
                                [--only-compared] [--no-floor] [--hash] [--profile]

Uses the benchmark day that `python -m benchmarks.run --prepare-only` generated under WORK (gen_s<scale>).
Per repeat: the floor's `read_csv` of the price feed (benchmarks.floor's own statement: 8 columns, sniffed
types, in memory), then `ingest_day` of the price feed alone into an empty warehouse with this checkout's
code and, with --compare-repo, with another checkout's (e.g. a clone of the previous commit: the
before/after of a change, measured in one session). Prints wall and CPU seconds (rusage of the
child, and in-process around the measured statement or `ingest_day` alone), max RSS, the ledger counts and the
per-phase wall and CPU seconds of the product's own `ingested …`/`ingest cpu …` log lines; with --hash, the
count and sum(hash) of the staged and quarantined rows (identity of two checkouts' output); with --profile,
the CPU of the floors under the product's phases (CHILD_PROFILE). Each
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
t, c = time.perf_counter(), time.process_time()
(e,) = ingest_day(con, home, dt.date.fromisoformat(sys.argv[3]), sources=["price_observations"]).entries
print("RESULT", e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined, f"{time.perf_counter() - t:.2f} s wall",
      f"{time.process_time() - c:.2f} s cpu", flush=True)
if sys.argv[4] == "hash":  # row-for-row identity between checkouts: order-free sum of each whole row's hash
    for what, sql in [("staging", "SELECT count(*), sum(hash(*COLUMNS(*))) FROM staging.price_observations"),
                      ("quarantine", "SELECT count(*), sum(hash(*COLUMNS(*))) FROM meta.quarantine_rows")]:
        print("RESULT hash", what, *con.execute(sql).fetchall()[0])
"""

CHILD_FLOOR = r"""
import duckdb, sys, time
con = duckdb.connect()
t, c = time.perf_counter(), time.process_time()
con.execute(f'''CREATE TABLE obs AS SELECT shop_id, sku_id, observed_at, price_type, price, reference_price, promo_start,
 account_cohort FROM read_csv('{sys.argv[1]}/price_observations/{sys.argv[2]}/*.csv', header=true,
 types={{'reference_price': 'DOUBLE', 'price': 'DOUBLE', 'promo_start': 'DATE'}})''')
print("RESULT floor", con.execute("SELECT count(*) FROM obs").fetchone()[0], f"{time.perf_counter() - t:.2f} s wall",
      f"{time.process_time() - c:.2f} s cpu")
"""

# the floors under the product's phases, each statement's process CPU: the file read as text into a numbered temp
# table (the product's read), that table typed by plain casts in memory (no checks), and those typed rows stored
# in a persistent table (what staging costs at least), once with DuckDB's default compression and once without
# dictionary+FSST string compression (cheaper to write, several times the bytes); under the product's memory_limit
CHILD_PROFILE = r"""
import duckdb, os, sys, time
db = sys.argv[3]
con = duckdb.connect(db, config={"preserve_insertion_order": "false", "memory_limit": sys.argv[4]})
cols = "{" + ", ".join(f"'_c{k}': 'VARCHAR'" for k in range(1, 20)) + "}"
src = (f"read_csv('{sys.argv[1]}/price_observations/{sys.argv[2]}/*.csv', header=true, auto_detect=false, "
       f"columns={cols}, delim=',', quote='\"', escape='\"', null_padding=false, max_line_size=16777216)")
typed = ("_ord, _c1, CAST(_c2 AS TIMESTAMP) AS c2, CAST(CAST(_c2 AS TIMESTAMP) AS DATE) AS d, _c3, _c4, _c5, _c6, "
         "_c7, _c8, _c9, _c10, CAST(_c11 AS DECIMAL(18, 2)) AS c11, _c12, CAST(_c13 AS DECIMAL(18, 2)) AS c13, "
         "CAST(_c14 AS DATE) AS c14, CAST(_c15 AS BOOLEAN) AS c15, _c16, _c17, _c18, _c19")
steps = [("read: 19 columns as text into a numbered temp table", "SET preserve_insertion_order = true; "
          f"CREATE TEMP TABLE t AS SELECT row_number() OVER () AS _ord, * FROM {src}; "
          "SET preserve_insertion_order = false"),
         ("type: plain casts into a temp table (no checks)", f"CREATE TEMP TABLE ty AS SELECT {typed} FROM t"),
         ("store: the typed rows into a persistent table", "CREATE TABLE s1 AS SELECT * FROM ty; CHECKPOINT"),
         ("store without dictionary/FSST string compression", "SET disabled_compression_methods = 'dict_fsst,fsst,"
          "dictionary'; CREATE TABLE s2 AS SELECT * FROM ty; CHECKPOINT")]
for what, sql in steps:
    t, c, size = time.perf_counter(), time.process_time(), os.path.getsize(db)
    con.execute(sql)
    print(f"RESULT profile {what}: {time.process_time() - c:.2f} s cpu, {time.perf_counter() - t:.2f} s wall"
          + (f", +{(os.path.getsize(db) - size) / 1e6:.0f} MB on disk" if what.startswith("store") else ""), flush=True)
"""


def _child(args: list[str], env: dict, cwd: Path | None = None) -> tuple[float, float, float, list[str]]:
    t = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    out = p.stdout.read()
    _, _status, ru = os.wait4(p.pid, 0)
    keep = [line for line in out.splitlines() if line.startswith("RESULT") or "ingested" in line or "ingest cpu" in line
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
    ap.add_argument("--profile", action="store_true",
                    help="also time the floors under the product's phases (read as text, plain casts, persistent store)")
    ap.add_argument("--hash", action="store_true",
                    help="after each ingest, print count and sum(hash) of the staged rows and of the quarantine "
                         "(row-for-row identity of two checkouts; not part of the timed seconds)")
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
        if a.profile:
            db = a.work / f"ingest_profile_{r}.duckdb"
            db.unlink(missing_ok=True)
            from warehouse.db import memory_limit_setting  # noqa: I001 - light: the product's limit (env or default)

            w, cpu, rss, out = _child([sys.executable, "-c", CHILD_PROFILE, str(landing), DAY, str(db),
                                       memory_limit_setting()], dict(os.environ))
            db.unlink(missing_ok=True)
            print(f"[{r}] profile: wall {w:.1f} s, cpu {cpu:.1f} s, max rss {rss:.2f} GB", *out, sep="\n    ", flush=True)
        for name, repo in runs:
            home = a.work / f"ingest_home_{r}_{name.split()[0]}"
            shutil.rmtree(home, ignore_errors=True)
            (home / "landing").mkdir(parents=True)
            (home / "landing" / "price_observations").symlink_to(landing / "price_observations")
            env = dict(os.environ, PYTHONPATH=str(repo))
            w, cpu, rss, out = _child([sys.executable, "-c", CHILD_PRODUCT, str(repo), str(home), DAY,
                                    "hash" if a.hash else "-"], env, cwd=repo)
            print(f"[{r}] ingest ({name}: {repo}): wall {w:.1f} s, cpu {cpu:.1f} s, max rss {rss:.2f} GB", *out,
                  sep="\n    ", flush=True)
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
