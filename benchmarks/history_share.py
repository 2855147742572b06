"""What the past days of the window cost each rule: the rule alone on the day with its history, and on the same day
without it, alternating, each timing in its own child process.

    python -m benchmarks.history_share --db WAREHOUSE --date D [--rounds 2] [--memory-limit 2.5GB] RULE [RULE ...]

WAREHOUSE is a warehouse that has run the day (it is only copied, never changed): one copy as it is, one whose price
observations before D are deleted. The run without history is not a result (a rule needs its past days); its time is
what the rule would cost if its past days cost nothing, the most that state kept between runs for the unchanged days
(an incremental window) could save. docs/BENCHMARKS.md, "Session 34", reports it on the scale-100 day.
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


def without_history(src: Path, dst: Path, day: date) -> dict:
    """Copy `src` to `dst` and delete from the copy the price observations dated before `day`; returns the
    observation counts (before the day, on it) found in `src`."""
    shutil.copyfile(src, dst)
    con = duckdb.connect(str(dst))
    try:
        before, on_day = con.execute(
            "SELECT count(*) FILTER (WHERE observed_date < $d), count(*) FILTER (WHERE observed_date = $d) "
            "FROM staging.price_observations", {"d": day}).fetchone()
        con.execute("DELETE FROM staging.price_observations WHERE observed_date < $d", {"d": day})
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return {"history_rows": before, "day_rows": on_day}


def one_rule(db: Path, rule: str, day: date, memory_limit: str, spill: Path) -> dict:
    """Run `rule` alone on `db` (its work table is replaced): rows, wall and CPU seconds, max RSS."""
    from indicators.compute import run_indicator
    from indicators.registry import load_catalogue

    ind = next(i for i in load_catalogue() if i.id == rule)
    return measured(db, memory_limit, spill, lambda con: run_indicator(con, ind, day, {}))


def timed_child(db: Path, rule: str, day: date, memory_limit: str, spill: Path) -> dict:
    return child("benchmarks.history_share", ["--child", "--db", str(db), "--date", day.isoformat(),
                                              "--memory-limit", memory_limit, "--spill", str(spill), rule])


def measure(db: Path, day: date, rules: list[str], rounds: int, memory_limit: str, work: Path) -> dict:
    """Every rule, `rounds` times with history and without, alternating; the copies live in `work`."""
    full, bare = work / "with_history.duckdb", work / "without_history.duckdb"
    shutil.copyfile(db, full)
    counts = without_history(db, bare, day)
    out: dict = {"counts": counts, "rules": {}}
    for rule in rules:
        runs: dict[str, list[dict]] = {"with": [], "without": []}
        for _ in range(rounds):
            for label, copy in (("with", full), ("without", bare)):
                runs[label].append(timed_child(copy, rule, day, memory_limit, work / "spill"))
        out["rules"][rule] = runs
    return out


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if "error" not in r]
    return statistics.median(values) if values else None


def _each(runs: list[dict], key: str) -> str:
    return ", ".join(f"{r[key]:.1f}" for r in runs)


def table(result: dict) -> str:
    """Markdown: per rule, CPU and wall of each round with and without history, and the history's share of the CPU
    (1 - median without / median with); a total over the rules measured in every run."""
    lines = ["| rule | CPU s with history | CPU s without | wall s with | wall s without | history's share of CPU |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    tot_with = tot_without = 0.0
    for rule, runs in result["rules"].items():
        errors = [r["error"] for label in runs for r in runs[label] if "error" in r]
        if errors:
            lines.append(f"| `{rule}` | failed: {errors[0]} | | | | |")
            continue
        cw, cb = _median(runs["with"], "cpu"), _median(runs["without"], "cpu")
        tot_with, tot_without = tot_with + cw, tot_without + cb
        lines.append(f"| `{rule}` | {_each(runs['with'], 'cpu')} | {_each(runs['without'], 'cpu')} "
                     f"| {_each(runs['with'], 'wall')} | {_each(runs['without'], 'wall')} | {1 - cb / cw:.0%} |")
    if tot_with:
        lines.append(f"| all of them (medians) | {tot_with:.1f} | {tot_without:.1f} | | | {1 - tot_without / tot_with:.0%} |")
    c = result["counts"]
    lines.append("")
    lines.append(f"Price observations: {c['day_rows']:,} on the day, {c['history_rows']:,} before it "
                 f"({c['history_rows'] / max(c['history_rows'] + c['day_rows'], 1):.0%} of the rows).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(ap, "folder for the two copies (default: a temporary folder)")
    ap.add_argument("--json", type=Path, help="also write the measurements here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("rules", nargs="+", help="indicator ids, e.g. price.sustained_below_market")
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(one_rule(a.db, a.rules[0], a.date, a.memory_limit, a.spill)))
        return 0
    from indicators.registry import load_catalogue

    known = {i.id for i in load_catalogue()}
    if unknown := [r for r in a.rules if r not in known]:
        ap.error(f"unknown indicator id(s): {', '.join(unknown)} (see docs/INDICATORS.md)")
    with tempfile.TemporaryDirectory(prefix="mm-history-share-", dir=a.work) as tmp:
        result = measure(a.db, a.date, a.rules, a.rounds, a.memory_limit, Path(tmp))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
