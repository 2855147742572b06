"""A prototype of the incremental window for `price.sustained_below_market` (docs/proposals/incremental-windows.md):
the past days' per-offer peer figures read from a state table instead of being ranked again, against the rule as it
is, on a copy of a warehouse, alternating, each run a child process; the two tables must be identical.

    python -m benchmarks.incremental_window --db WAREHOUSE --date D [--rounds 2] [--memory-limit 2.5GB]

Both SQL texts are derived from the rule's own file, so the prototype follows the rule:
- the state: the rule's CTEs up to `seller_day` (every offer of a cell-day with its peers' P10 and median), over every
  cell of the window's past days (no candidate-cell restriction: a state row is kept for whichever listing is observed
  on a later run date), written once here; in the product each run would write its own day;
- the incremental rule: the same CTEs over the run date's observations only, and the past days of the run date's
  listings from the state (`seller_day_all`), read by the rule's unchanged per-listing window and share test.
Not the product: no invalidation (a late file), no writer, no retention. It measures what reading the past from a
state saves, where benchmarks.history_share gives the most any state could save.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from datetime import date
from pathlib import Path

import duckdb

from benchmarks.alone import add_options, child, measured

RULE = "price.sustained_below_market"
STATE_TABLE = "main.bench_state_seller_day"
CANDIDATES = "\n      AND (sku_id, region_code) IN (SELECT (sku_id, region_code) FROM candidate_cells)"
WINDOW_FILTER = "    WHERE observed_date > $run_date - to_days(CAST($window_days AS INTEGER))\n"


def _rule_sql() -> str:
    from indicators.registry import load_catalogue

    return next(i for i in load_catalogue() if i.id == RULE).sql


def _without_comment_lines(sql: str) -> str:
    # the rule's header comments name every parameter, and DuckDB refuses parameters a statement does not use
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")) + "\n"


def state_sql(rule: str) -> str:
    """The rule cut after `seller_day`, every cell of the window's days before the run date."""
    if rule.count(CANDIDATES) != 1 or "\nbelow AS (" not in rule:
        raise ValueError(f"{RULE}'s SQL no longer has the shape this prototype cuts (candidate cells, `below`)")
    head = rule[:rule.index("\nbelow AS (")].replace(CANDIDATES, "").rstrip().rstrip(",")
    return _without_comment_lines(head + "\nSELECT * FROM seller_day WHERE d < $run_date")


def incremental_sql(rule: str) -> str:
    """The rule over the run date's observations, its listings' past days read from the state."""
    if rule.count(WINDOW_FILTER) != 1 or rule.count("    FROM seller_day\n") != 1:
        raise ValueError(f"{RULE}'s SQL no longer has the shape this prototype rewrites (window filter, `below`)")
    sql = rule.replace(WINDOW_FILTER, "    WHERE observed_date = $run_date\n")
    sql = sql.replace("\nbelow AS (", f"""
seller_day_all AS (
    -- the run date's offers ranked now; the past days of the run date's listings from the state
    SELECT * FROM seller_day
    UNION ALL
    SELECT s.* FROM {STATE_TABLE} AS s
    SEMI JOIN daily_groups AS t USING (shop_id, sku_id, region_code)
    WHERE s.d > $run_date - to_days(CAST($window_days AS INTEGER))
),
below AS (""", 1)  # noqa: S608 - the state table's name is a constant of this module
    return _without_comment_lines(sql.replace("    FROM seller_day\n", "    FROM seller_day_all\n"))


def run_child(db: Path, what: str, day: date, memory_limit: str, spill: Path) -> dict:
    """In this process: build `what` (state, rule, incremental) into a table of `db`; rows, wall, CPU, max RSS."""
    from indicators.compute import create_macros
    from indicators.registry import load_catalogue
    from pipelines.core.sql import bind

    ind = next(i for i in load_catalogue() if i.id == RULE)
    sql = {"state": state_sql, "rule": lambda s: s, "incremental": incremental_sql}[what](ind.sql)
    target = {"state": STATE_TABLE, "rule": "main.bench_out_rule", "incremental": "main.bench_out_incremental"}[what]

    def build(con) -> int:
        create_macros(con)
        con.execute(f"CREATE OR REPLACE TABLE {target} AS {sql}", bind(sql, ind.parameters({}) | {"run_date": day}))
        return con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]  # noqa: S608 - constant table names

    return measured(db, memory_limit, spill, build)


def _child(db: Path, what: str, day: date, memory_limit: str, spill: Path) -> dict:
    return child("benchmarks.incremental_window", ["--child", what, "--db", str(db), "--date", day.isoformat(),
                                                   "--memory-limit", memory_limit, "--spill", str(spill)])


def identical(db: Path) -> dict:
    """Rows of the rule's table missing from the incremental one and the other way (EXCEPT ALL, every column)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        a, b = con.execute(
            "SELECT (SELECT count(*) FROM (SELECT * FROM main.bench_out_rule EXCEPT ALL "
            "SELECT * FROM main.bench_out_incremental)), (SELECT count(*) FROM (SELECT * FROM "
            "main.bench_out_incremental EXCEPT ALL SELECT * FROM main.bench_out_rule))").fetchone()
    finally:
        con.close()
    return {"rule_not_incremental": a, "incremental_not_rule": b}


def measure(db: Path, day: date, rounds: int, memory_limit: str, work: Path) -> dict:
    copy = work / "warehouse.duckdb"
    shutil.copyfile(db, copy)
    spill = work / "spill"
    out: dict = {"state": _child(copy, "state", day, memory_limit, spill), "rule": [], "incremental": []}
    if "error" in out["state"]:
        return out
    for _ in range(rounds):
        for what in ("rule", "incremental"):
            out[what].append(_child(copy, what, day, memory_limit, spill))
    if all("error" not in r for r in out["rule"] + out["incremental"]):
        out["difference"] = identical(copy)
    return out


def table(result: dict) -> str:
    st = result["state"]
    if "error" in st:
        return f"the state could not be built: {st['error']}"
    lines = ["| run | rows | wall s | CPU s | max RSS GB |", "| --- | ---: | ---: | ---: | ---: |",
             f"| state: the past days' offers with their peer figures (once) | {st['rows']:,} | {st['wall']:.1f} "
             f"| {st['cpu']:.1f} | {st['rss_gb']:.2f} |"]
    for what, label in (("rule", f"`{RULE}` as it is"), ("incremental", "the same rule, past days from the state")):
        for r in result[what]:
            lines.append(f"| {label} | failed: {r['error']} | | | |" if "error" in r else
                         f"| {label} | {r['rows']:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss_gb']:.2f} |")
    if "difference" in result:
        d = result["difference"]
        cpu = {w: statistics.median(r["cpu"] for r in result[w]) for w in ("rule", "incremental")}
        lines += ["", f"Identical tables: {'yes' if not any(d.values()) else 'NO'} ({d['rule_not_incremental']} rows "
                      f"only in the rule's, {d['incremental_not_rule']} only in the incremental one). Median CPU "
                      f"{cpu['incremental']:.1f} s against {cpu['rule']:.1f} s: "
                      f"{1 - cpu['incremental'] / cpu['rule']:.0%} saved."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(ap, "folder for the copy (default: a temporary folder)")
    ap.add_argument("--child", choices=("state", "rule", "incremental"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(run_child(a.db, a.child, a.date, a.memory_limit, a.spill)))
        return 0
    with tempfile.TemporaryDirectory(prefix="mm-incremental-", dir=a.work) as tmp:
        result = measure(a.db, a.date, a.rounds, a.memory_limit, Path(tmp))
    print(table(result))
    return 0 if result.get("difference") and not any(result["difference"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
