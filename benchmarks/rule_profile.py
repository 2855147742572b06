"""Where one rule's time goes: its listing-day table (`daily`) against the whole rule, and its heaviest operators.

    python -m benchmarks.rule_profile --db WAREHOUSE --date D [--memory-limit 2.5GB] [--daily-only] RULE [RULE ...]

On a copy of a warehouse that has run the day (the rule's work table is replaced). Per rule:
- the rule's CTEs up to `daily` (the seller x SKU x day table several price and collusion rules build), counted
  alone, wall and CPU, against the whole rule (`run_indicator`): the share a listing-day table built once per run
  and shared by the rules could save at most;
- the whole rule once more under DuckDB's JSON profiler: the operators with the most CPU time, with their rows.
A rule without a `daily` CTE gets the profile only.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from indicators.compute import create_macros, run_indicator
from indicators.registry import load_catalogue
from pipelines.core.sql import bind


def daily_sql(sql: str) -> str | None:
    """The rule's SQL cut after its `daily` CTE, counting that CTE's rows (comments dropped: they name every
    parameter of the rule, and DuckDB refuses parameters the statement does not use)."""
    start = sql.find("\ndaily AS (")
    if start < 0:
        return None
    cut = sql.index("\n),", start) + 3
    body = "\n".join(line for line in sql[:cut].splitlines() if not line.lstrip().startswith("--"))
    return body.rstrip().rstrip(",") + "\nSELECT count(*) AS n, sum(price) AS s FROM daily"


def used_parameters(sql: str, values: dict) -> dict:
    """The bound values `sql` names (`$name`, whole names only)."""
    return {k: v for k, v in values.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def _time_daily(con, part: str, values: dict) -> tuple[int, float, float]:
    """(rows of `daily`, wall, CPU) of the cut statement `part`, bound with the values it names."""
    (n, _), wall, cpu = _timed(lambda: con.execute(part, used_parameters(part, values)).fetchone())
    return n, wall, cpu


def operators(profile: dict, top: int) -> list[tuple[float, str, int, str]]:
    """(CPU seconds, operator, rows out, first projection or condition) of the `top` heaviest operators."""
    found = []

    def walk(node: dict) -> None:
        info = node.get("extra_info") or {}
        what = info.get("Projections") or info.get("Conditions") or info.get("Groups") or info.get("Table") or ""
        found.append((node.get("timing", 0.0), node.get("name", "?"), node.get("intermediate_rows", 0),
                      str(what[0] if isinstance(what, list) and what else what)[:110]))
        for child in node.get("children", []):
            walk(child)

    for node in profile.get("operator", []):
        walk(node)
    return sorted(found, key=lambda r: -r[0])[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="a warehouse copy (its rule work tables are replaced)")
    ap.add_argument("--date", required=True, type=date.fromisoformat)
    ap.add_argument("--memory-limit", default="2.5GB")
    ap.add_argument("--top", type=int, default=6, help="operators listed per rule")
    ap.add_argument("--daily-only", action="store_true",
                    help="time only the rules' `daily` CTEs (the warehouse is opened read-only; the whole rules' "
                         "times are in the run's own log)")
    ap.add_argument("rules", nargs="+", help="indicator ids, e.g. price.sustained_below_market")
    a = ap.parse_args(argv)
    catalogue = {i.id: i for i in load_catalogue()}
    with tempfile.TemporaryDirectory(prefix="mm-rule-profile-") as tmp:
        con = duckdb.connect(str(a.db), read_only=a.daily_only, config={"memory_limit": a.memory_limit, "threads": 2,
                                                "temp_directory": str(Path(tmp) / "spill"),
                                                "preserve_insertion_order": "false"})
        create_macros(con)
        for rule in a.rules:
            ind = catalogue[rule]
            values = bind(ind.sql, ind.parameters({}) | {"run_date": a.date})
            part = daily_sql(ind.sql)
            if a.daily_only:
                if part is not None:
                    n_daily, d_wall, d_cpu = _time_daily(con, part, values)
                    print(f"RESULT {rule}: its `daily` alone {n_daily} rows, {d_wall:.1f} s wall, {d_cpu:.1f} s cpu",
                          flush=True)
                continue
            n_rule, wall, cpu = _timed(lambda ind=ind: run_indicator(con, ind, a.date, {}))
            line = f"RESULT {rule}: whole rule {n_rule} rows, {wall:.1f} s wall, {cpu:.1f} s cpu"
            if part is not None:
                n_daily, d_wall, d_cpu = _time_daily(con, part, values)
                line += (f"; its `daily` alone {n_daily} rows, {d_wall:.1f} s wall, {d_cpu:.1f} s cpu "
                         f"({d_wall / wall:.0%} of the rule's wall)")
            print(line, flush=True)
            out = Path(tmp) / "profile.json"
            con.execute("PRAGMA enable_profiling = 'json'")
            con.execute(f"PRAGMA profiling_output = '{out}'")
            con.execute(f"CREATE OR REPLACE TEMP TABLE _profiled AS {ind.sql}", values)
            con.execute("PRAGMA disable_profiling")
            profile = json.loads(out.read_text())
            total = (profile.get("query") or {}).get("cpu_time") or sum(r[0] for r in operators(profile, 10 ** 6))
            print(f"  profiled: {total:.1f} s of operator CPU", flush=True)
            for seconds, name, rows, what in operators(profile, a.top):
                print(f"  {seconds:7.2f} s  {name:<16} {rows:>12,} rows  {what}", flush=True)
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
