"""Time the quality gate on a synthetic price batch (default 1,000,000 rows) in a fresh home.

    python -m benchmarks.gate [--rows N] [--home DIR]

Rows are made in DuckDB straight into staging.price_observations (with the ledger row that
accounts for them), the two foundation marts are computed, then `pipelines.run.daily.gate` runs as in a
daily run (every suite, results stored, Data Docs built). Prints the gate's seconds per suite and
the engine that validated it (duckdb-sql for batches of MARKET_MONITOR_GATE_SQL_ROWS rows or more,
else gx-pandas; set MARKET_MONITOR_GATE_SQL_ROWS=1000000000000 to time the pandas-only gate).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import date
from pathlib import Path

from expectations.sql_checks import sql_rows_threshold
from indicators.compute import build_indicator_flags, pipeline_version, run_indicator
from indicators.registry import load_catalogue, mart_sql
from pipelines.core.home import Home
from pipelines.core.sql import bind
from pipelines.run import daily
from warehouse.db import connect_writer

D = date(2026, 3, 10)


def make_batch(con, rows: int, day: date = D) -> None:
    con.execute("""
        INSERT INTO staging.price_observations BY NAME
        SELECT 'o' || i AS observation_id,
               $d::TIMESTAMP + to_seconds(i % 86400) AS observed_at, $d::DATE AS observed_date,
               'p' || (i % 5) AS platform, 'S' || (i % 20000) AS shop_id, 'K' || (i % 50000) AS sku_id,
               '3101' || lpad(((i % 90) + 10)::VARCHAR, 2, '0') AS region_code,
               CASE i % 3 WHEN 0 THEN 'list' WHEN 1 THEN 'promo' ELSE 'checkout' END AS price_type,
               (10 + (i % 997))::DECIMAL(18, 2) AS price, 'CNY' AS currency,
               CASE WHEN i % 3 = 1 THEN (20 + (i % 997))::DECIMAL(18, 2) END AS reference_price,
               CASE WHEN i % 3 = 1 THEN $d::DATE - 1 END AS promo_start,
               CASE WHEN i % 3 = 1 THEN false END AS basis_disclosed,
               'new' AS condition, 'https://example.invalid/p/' || i AS url, 'product ' || (i % 50000) AS product_name,
               $d::DATE AS _business_date, 'bench.csv' AS _file_name, 'bench' AS _sha256, i + 1 AS _row
        FROM range($n) t(i)""", {"d": day, "n": rows})
    con.execute("INSERT INTO meta.ingestion_ledger VALUES ('price_observations', $d, 'bench.csv', 'bench', 0, "
                "$n, $n, 0, 'loaded', NULL, 'utf-8', now()::TIMESTAMP)", {"d": day, "n": rows})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args(argv)

    root = args.home or Path(tempfile.mkdtemp(prefix="mm-gate-bench-"))
    home = Home(root.resolve()).ensure()
    con = connect_writer(home.db_path)
    t0 = time.perf_counter()
    make_batch(con, args.rows)
    sql = mart_sql("price_reference_checks")
    used = set(re.findall(r"work\.(ind__\w+)", sql)) | {"ind__price__cn_reference_7d"}
    catalogue = [i for i in load_catalogue() if i.work_table in used]
    for ind in catalogue:
        run_indicator(con, ind, D, {})
    versions = {"pipeline_version": pipeline_version(), "schema_version": 1}
    build_indicator_flags(con, catalogue, D, versions)
    con.execute(f"CREATE OR REPLACE TABLE work.mart__price_reference_checks AS {sql}", bind(sql, {"run_date": D} | versions))
    print(f"batch of {args.rows:,} price rows and the foundation marts built in {time.perf_counter() - t0:.1f} s")
    # imported here, before the clock starts: its import time (~4 s) is not the gate's
    import great_expectations  # noqa: F401

    t0 = time.perf_counter()
    outcomes = daily.gate(home, D, "bench-run", con=con)
    total = time.perf_counter() - t0
    for name, o in sorted(outcomes.items(), key=lambda kv: -kv[1].seconds)[:8]:
        print(f"  {name:40s} {o.rows:>10,} rows {o.seconds:6.2f} s  {o.engine:10s}  "
              f"blocking failures {len(o.blocking_failures)}")
    print(f"gate: {total:.1f} s for {len(outcomes)} suites, SQL engine from {sql_rows_threshold():,} rows "
          f"(results and Data Docs under {home.quality})")
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
