"""The scale curve of the daily run (issue 23, item 6): one day of 1 M, 10 M, 30 M and 100 M price observations,
each with 30 days of history, against the floor.

    python -m benchmarks.curve --points 1M,10M         # `make bench` (the small points)
    python -m benchmarks.curve --points 30M,100M       # `make bench-big` (budget: one hour)
    python -m benchmarks.curve --points 20k --history 2 --density 0.5 --out /tmp/B.md   # smoke (tests/benchmarks)

Built on benchmarks/run.py: the same data (the generator's day without history, `--history` days of thinned,
date-shifted copies from benchmarks/history.py), the same children (`child`, `product_run`: wall and CPU seconds and
max RSS from os.wait4's rusage, RSS and spill sampled every 0.2 s) and the same floor (benchmarks/floor.py). A point is
`rows` price observations for the day: the generator's scale is rows / (observations per scale unit), measured by
the generator's own estimate probe (pipelines/generate/estimate.py), and the table reports the rows the day really has.

A point that runs out of memory, time, disk or budget is recorded with where it died, never dropped. A watchdog
(this file) kills a child that passes its deadline or the RSS cap (the generator holds a day's world in memory; on a
shared machine a runaway child must not take the box with it), and the product's spill is capped below the free
disk. The measured points are kept in docs/benchmarks/scale_curve.json, so `make bench` and `make bench-big` each
replace their own points and the block and the plot (docs/benchmarks/scale_curve.svg) show all of them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.run import DAY, REPO, STAGES, _py, child, fresh_home, machine, product_run, write_report
from warehouse.db import DEFAULT_MEMORY_LIMIT

MARKER = "curve"
GB = 10**9  # decimal GB, as the targets (≤ 3 GB, < 4 GB) are compared
# bytes on disk of a whole point (landing day, history template, the run's home with its warehouse and parquet marts)
# per byte of the generated landing day: 1.6 measured at the 10 M point (2.3 at 1 M, where fixed costs weigh), this
# file's "disk" column; the product's spill comes on top and is capped below the free disk (run_point)
DISK_FACTOR = 2.0
DISK_RESERVE = 5 * GB  # left free for everyone else on the machine, also when the product spills
RATIO_POINTS = (10_000_000, 100_000_000)  # the issue's linearity target: time per row from 10 M to 100 M
# `market-monitor run`'s message when every stage ran but the gate kept marts from publishing (exit 1)
GATE_BLOCKED_RE = re.compile(r"quality gate blocked (\d+) mart\(s\).*\n\s+(.*)")
COMPLETED = ("ok", "gate blocked")  # the run went through every stage: its times are a whole day's
SVG_NAME = "scale_curve.svg"
JSON_NAME = "scale_curve.json"


# What a point runs: the product, the floor and the history it is measured on (benchmarks/run.py, floor.py, history.py).
# A commit that changes none of them (docs, tests, this harness's recording and drawing, other benchmarks) does not
# change a point's figures, so two points measured at such commits ran the same code: a like-for-like ratio.
MEASURED_PATHS = ("dags", "pipelines", "indicators", "warehouse", "expectations", "pyproject.toml", "constraints.txt",
                  "benchmarks/run.py", "benchmarks/floor.py", "benchmarks/history.py")


def code_commit(repo: Path = REPO) -> str:
    """The last commit that changed the code a point runs (MEASURED_PATHS; short hash, `+changes` when the working tree
    differs from it there), so that a ratio between two points can say whether they ran the same code."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    last = git("log", "-1", "--format=%h", "--abbrev=7", "HEAD", "--", *MEASURED_PATHS)
    if not last:
        return "unknown"
    changed = git("status", "--porcelain", "--", *MEASURED_PATHS).splitlines()
    return last + ("+changes" if any(changed) else "")


# ------------------------------------------------------------------ points

def parse_rows(text: str) -> int:
    """'1M' -> 1_000_000, '20k' -> 20_000, '2.5M', '1500000'."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r} (write 1M, 30M, 20k or 1500000)")
    return int(round(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6}[m.group(2).lower()]))


def label(rows: int) -> str:
    if rows >= 10**6:
        return f"{rows / 10**6:g} M"
    return f"{rows / 10**3:g} k" if rows >= 10**3 else str(rows)


def _child_json(*args: str) -> dict:
    """A light child of this module (the probe, the row count): heavy imports stay out of the harness process,
    whose peak RSS Linux would otherwise carry into every measured child (benchmarks/run.py)."""
    r = child(_py("benchmarks.curve", *args))
    if r["rc"] != 0:
        raise SystemExit(f"benchmarks.curve {' '.join(args)} failed (exit {r['rc']}): {r['stdout'][-2000:]}")
    return json.loads(r["stdout"].strip().splitlines()[-1])


def probe(seed: int) -> dict:
    """Observations and landing bytes per scale unit, from the generator's own estimate (one probe day)."""
    from pipelines.generate.estimate import estimate_province  # lazy: RSS (runs in the --probe child)

    e = estimate_province(DAY, 1, 1.0, seed, 0)
    return {"obs_per_scale": e.rows["price_observations"], "bytes_per_scale": e.total_bytes}


# ------------------------------------------------------------------ the watchdog

def _children() -> list[int]:
    """Pids of this process's direct children (every thread's; Linux /proc)."""
    pids = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _rss(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(ln.split()[1]) * 1024 for ln in text.splitlines() if ln.startswith("VmRSS:")), 0)


class Watchdog:
    """While active, stop any direct child of this process that runs past `seconds` or above `rss_cap` bytes
    (SIGTERM, then SIGKILL after 15 s); `reason` says which limit it hit. One measured child runs at a time."""

    def __init__(self, seconds: float, rss_cap: int):
        self.seconds, self.rss_cap = seconds, rss_cap
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watchdog:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        killed_at = None
        while not self._stop.wait(0.5):
            kids = _children()
            if killed_at is not None:
                if time.monotonic() - killed_at > 15:
                    for pid in kids:
                        os.kill(pid, signal.SIGKILL)
                continue
            elapsed = time.monotonic() - self._t0
            over = [(pid, rss) for pid in kids if (rss := _rss(pid)) > self.rss_cap]
            if elapsed > self.seconds and kids:
                self.reason = f"out of time: stopped after {elapsed:.0f} s (limit {self.seconds:.0f} s)"
            elif over:
                self.reason = (f"out of memory: stopped at {over[0][1] / GB:.1f} GB RSS "
                               f"(the harness's cap {self.rss_cap / GB:.1f} GB, --rss-cap)")
            else:
                continue
            for pid in kids:
                os.kill(pid, signal.SIGTERM)
            killed_at = time.monotonic()


def watched(argv: list[str], seconds: float, rss_cap: int, **kw) -> dict:
    with Watchdog(seconds, rss_cap) as dog:
        r = child(argv, **kw)
    r["killed"] = dog.reason
    return r


# ------------------------------------------------------------------ one point

def _slim(r: dict) -> dict:
    return {"wall": r["wall"], "cpu": r["cpu"], "rss": r["rss"]}


def _last_step(log: Path) -> str:
    """The last step a `--verbose` run log reported as done (a run that died was in the step after it); lines of
    the failure itself and the run's progress lines are not steps."""
    from benchmarks.run import _log_steps  # the log's own step names, as the memory profile uses them

    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    steps = [s for _, s in _log_steps(text, time.time()) if "failed" not in s and not s.startswith("run ")]
    return f"in the step after “{steps[-1]}”" if steps else "before the first logged step"


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run_point(rows: int, cal: dict, a: argparse.Namespace, deadline: float) -> dict:
    """Prepare, floor, product for one point; every failure is recorded in the returned dict, not raised."""
    scale = round(rows / cal["obs_per_scale"], 3)
    work = a.work / f"rows_{rows}"
    rec: dict = {"rows_target": rows, "label": label(rows), "scale": scale, "history_days": a.history,
                 "density": a.density, "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "commit": code_commit(),
                 "command": a.command, "memory_limit": os.environ.get("MARKET_MONITOR_MEMORY_LIMIT",
                                                                      f"{DEFAULT_MEMORY_LIMIT} (default)"),
                 "status": "ok", "where": ""}
    landing_bytes = cal["bytes_per_scale"] * scale
    a.work.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(a.work).free + (_du(work) if work.exists() else 0)
    need = landing_bytes * DISK_FACTOR + DISK_RESERVE
    rec["disk_estimate"] = landing_bytes * DISK_FACTOR
    if free < need:
        return rec | {"status": "not run", "where": f"disk: needs about {need / GB:.1f} GB under {a.work} "
                                                    f"(with {DISK_RESERVE / GB:.0f} GB left for others), "
                                                    f"{free / GB:.1f} GB free"}
    left = deadline - time.monotonic()
    if left < 60:
        return rec | {"status": "not run", "where": "budget: the run's --budget was spent by the points before"}
    print(f"point {label(rows)}: scale {scale:g}, landing about {landing_bytes / GB:.1f} GB", flush=True)
    try:
        return _measure(rec, work, a, deadline, left)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


def _measure(rec: dict, work: Path, a: argparse.Namespace, deadline: float, left: float) -> dict:
    scale = rec["scale"]
    prep = watched(_py("benchmarks.run", "--prepare-only", "--scale", str(scale), "--density", str(a.density),
                       "--history", f"{a.history},{a.history}", "--seed", str(a.seed), "--work", str(work)),
                   left, a.rss_cap)
    print(prep["stdout"], end="", flush=True)
    rec["prepare"] = _slim(prep)
    if prep["rc"] != 0:
        tail = [ln for ln in prep["stdout"].splitlines() if ln.strip()][-1:]
        return rec | {"status": "died", "where": "preparing the data (generator or history): "
                                                 + (prep["killed"] or f"exit {prep['rc']} {' '.join(tail)[:200]}")}
    gen = work / f"gen_s{scale:g}"
    tpl = work / f"{gen.name}_hist{a.history}_d{a.density:g}"
    rec["day_rows"] = _child_json("--count-rows", str(gen))["rows"]
    rec["history_rows"] = json.loads((tpl / "counts.json").read_text())["price_observations"]
    ds = DAY.isoformat()

    out = work / "out_floor"
    shutil.rmtree(out, ignore_errors=True)
    # the floor with the machine's memory, then held to the product's DuckDB memory limit, spilling as the product
    # does: the first takes what the machine has (17 GB at 100 M), so the second tells how much of the product's
    # growth per row is the bound's, not its plans'
    bound = os.environ.get("MARKET_MONITOR_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    for key, limit in (("floor", ()), ("floor_bounded", (bound,))):
        r = watched(_py("benchmarks.floor", "floor", str(gen / "landing"), str(tpl), str(out), ds, *limit),
                    max(deadline - time.monotonic(), 1), a.rss_cap)
        rec[key] = _slim(r) | {"rc": r["rc"], "killed": r["killed"]}
        shutil.rmtree(out, ignore_errors=True)
    rec["floor_bounded"]["memory_limit"] = bound
    fl = rec["floor"]

    home = fresh_home(work, gen, tpl, "home")
    free = shutil.disk_usage(a.work).free
    env = dict(os.environ)
    # spill may use the free disk less the reserve: a runaway plan fails with DuckDB's message, not a full disk
    env.setdefault("MARKET_MONITOR_MAX_TEMP", f"{max(1, int((free - DISK_RESERVE) / GB))}GB")
    rec["max_temp"] = env["MARKET_MONITOR_MAX_TEMP"]
    log = work / "product.log"
    seconds = min(a.timeout, max(deadline - time.monotonic(), 1))
    with Watchdog(seconds, a.rss_cap) as dog:
        pr = product_run(home, log, env)
    rec["disk"] = _du(work)
    rec["product"] = {"wall": pr["wall"], "cpu": pr["cpu"], "rss": pr["rss"], "spill": pr["spill_max"],
                      "rc": pr["rc"], "stages": pr["stages"], "peak_step": pr["peak_step"]}
    if dog.reason:
        rec |= {"status": "died", "where": f"{dog.reason}, {_last_step(log)}"}
        if dog.reason.startswith("out of time") and seconds < a.timeout:
            rec["where"] += " (the --budget's remainder)"
    elif pr["rc"] != 0 and (blocked := GATE_BLOCKED_RE.search(log.read_text(encoding="utf-8", errors="replace"))):
        # every stage ran and was timed; the exit code is the gate keeping marts unpublished (said, not hidden)
        rec |= {"status": "gate blocked", "where": f"all stages ran; the quality gate blocked {blocked.group(1)} "
                                                   f"mart(s): {blocked.group(2).split(' observed ')[0][:200]}"}
    elif pr["rc"] != 0:
        rec |= {"status": "died", "where": f"exit {pr['rc']} {_last_step(log)}: "
                                           f"{pr.get('failed', '')[:300]}"}
    else:
        rec["where"] = f"peak RSS in: {pr['peak_step'] or '?'}"
    if fl["rc"] != 0:
        rec["where"] += f"; the floor did not finish: {fl['killed'] or 'exit ' + str(fl['rc'])}"
    return rec


# ------------------------------------------------------------------ report

def per_row(p: dict, key: str) -> float | None:
    """Microseconds of the product's `key` ('wall' or 'cpu') per price observation of the day; None unless ok."""
    if p.get("status") not in COMPLETED or not p.get("day_rows"):
        return None
    return p["product"][key] / p["day_rows"] * 1e6


def held_per_row(p: dict) -> float | None:
    """Microseconds of the held floor's wall time per price observation of the day; None unless it finished."""
    fb = p.get("floor_bounded") or {}
    return fb["wall"] / p["day_rows"] * 1e6 if fb.get("rc") == 0 and p.get("day_rows") else None


def linearity(points: list[dict], lo: int = RATIO_POINTS[0], hi: int = RATIO_POINTS[1]) -> dict:
    """Time per row at `hi` over time per row at `lo` (≤ 1: time grows no faster than linearly with the rows)."""
    by = {p["rows_target"]: p for p in points}
    out: dict = {"lo": lo, "hi": hi}
    for key in ("wall", "cpu"):
        a, b = (per_row(by[r], key) if r in by else None for r in (lo, hi))
        out[key] = None if a is None or b is None else b / a
    # against the floor of each point's own command: a machine that is faster or slower between two commands hours
    # apart moves the product's and the floor's times alike, so the ratio of the two multiples is the product's own
    # growth beyond the floor's (the floor reads the same rows with a plan that grows about linearly)
    multiples = [by[r]["product"]["wall"] / by[r]["floor"]["wall"]
                 if r in by and per_row(by[r], "wall") is not None and (by[r].get("floor") or {}).get("rc") == 0
                 and by[r]["floor"].get("wall") else None for r in (lo, hi)]
    out["vs_floor"] = None if None in multiples else multiples[1] / multiples[0]
    # the floor held to the product's memory limit: its own growth per row (the engine's under that bound) and the
    # product's multiple of it at hi over lo (the product's growth beyond the engine's under the same bound)
    bounded = [held_per_row(by[r]) if r in by else None for r in (lo, hi)]
    out["bounded_floor"] = None if None in bounded else bounded[1] / bounded[0]
    out["vs_bounded_floor"] = (None if out["bounded_floor"] is None or out["wall"] is None
                               else out["wall"] / out["bounded_floor"])
    out["commits"] = tuple(by.get(r, {}).get("commit") or "not recorded" for r in (lo, hi))
    out["missing"] = ", ".join(f"{label(r)} {by[r]['status'] if r in by else 'not measured'}"
                               for r in (lo, hi) if per_row(by.get(r, {}), "wall") is None)
    return out


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "" if v is None else format(v, spec)


def _by_command(points: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for p in sorted(points, key=lambda p: (p["measured_at"], p["rows_target"])):
        out.setdefault(p["command"], []).append(p)
    return out


def render(points: list[dict], svg_rel: str) -> str:
    lines = ["### Scale curve: the daily run against the day's price observations", "", "Measured by:", ""]
    lines += [f"- `{cmd}`: {', '.join(label(p['rows_target']) for p in ps)}; started {ps[0]['measured_at']}, "
              f"{ps[-1]['command_seconds']:.0f} s in all; code {ps[0].get('commit') or 'not recorded'}; "
              f"{ps[-1]['machine']}"
              for cmd, ps in _by_command(points).items()]
    lines += [
        "",
        "Each point: the generator's day at the scale giving its rows, "
        + ", ".join(sorted({f"{p['history_days']} days of history at density {p['density']:g}" for p in points}))
        + " (benchmarks/history.py), one "
        "floor run and one end-to-end product run (`market-monitor -v run`), each its own child process; product "
        "DuckDB memory_limit " + ", ".join(sorted({p["memory_limit"] for p in points})) + ".",
        "",
        "| day's price obs. | scale | history obs. | result | wall s | CPU s | max RSS GB | highest spill GB "
        "| floor wall s | floor CPU s | floor RSS GB | × floor (wall) | wall µs/row | CPU µs/row | disk GB | where |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for p in sorted(points, key=lambda p: p["rows_target"]):
        pr, fl = p.get("product"), p.get("floor")
        rows = f"{p['day_rows']:,}" if p.get("day_rows") else f"{label(p['rows_target'])} (target)"
        fl_ok = fl is not None and fl["rc"] == 0
        ratio = pr["wall"] / fl["wall"] if pr and fl_ok and p["status"] in COMPLETED else None
        lines.append(
            f"| {rows} | {p['scale']:g} | {_fmt(p.get('history_rows'), ',')} | {p['status']} "
            f"| {_fmt(pr and pr['wall'])} | {_fmt(pr and pr['cpu'])} | {_fmt(pr and pr['rss'] / GB, '.2f')} "
            f"| {_fmt(pr and pr['spill'] / GB, '.2f')} "
            f"| {_fmt(fl['wall'] if fl_ok else None)} | {_fmt(fl['cpu'] if fl_ok else None)} "
            f"| {_fmt(fl['rss'] / GB if fl_ok else None, '.2f')} | {_fmt(ratio)} "
            f"| {_fmt(per_row(p, 'wall'), '.2f')} | {_fmt(per_row(p, 'cpu'), '.2f')} "
            f"| {_fmt(p['disk'] / GB if p.get('disk') else None, '.1f')} | {p['where']} |")
    lin = linearity(points)
    lo, hi = label(lin["lo"]), label(lin["hi"])
    if lin["wall"] is None:
        verdict = f"not measured: {lin['missing']}."
    else:
        verdict = (f"wall {lin['wall']:.2f}, CPU {lin['cpu']:.2f} — "
                   + ("met" if lin["wall"] <= 1.0 else "**NO**: time per row grows with the day") + ".")
        if lin["vs_floor"] is not None:
            verdict += (f" Against each point's own floor (× floor at {hi} ÷ × floor at {lo}): {lin['vs_floor']:.2f}, "
                        "which a faster or slower machine between the two commands does not move.")
    if lin["wall"] is not None and lin.get("bounded_floor") is not None:
        verdict += (f" The floor held to the product's memory limit grows {lin['bounded_floor']:.2f} per row from {lo} "
                    f"to {hi} by itself; the product's growth beyond it: {lin['vs_bounded_floor']:.2f}.")
    if lin["wall"] is not None and lin["commits"][0] != lin["commits"][1]:
        verdict += (f" The two points ran different code ({lo}: {lin['commits'][0]}, {hi}: {lin['commits'][1]}): "
                    "the ratio holds only as far as the changes between them did not change the time.")
    lines += ["", f"Time grows no faster than linearly between {lo} and {hi} (time per row at {hi} ÷ time per row at "
                  f"{lo}, ≤ 1.00): {verdict}"]
    held = [p for p in sorted(points, key=lambda p: p["rows_target"]) if p.get("floor_bounded")]
    if held:
        lines += ["", "The floor again, held to the product's DuckDB memory limit (its temp folder beside it), where "
                      "the floor above takes the machine's memory:", "",
                  "| day's price obs. | memory limit | floor wall s | held floor wall s | held floor CPU s "
                  "| held floor RSS GB | held floor wall µs/row | product × held floor (wall) |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for p in held:
            fb, fl, pr = p["floor_bounded"], p.get("floor") or {}, p.get("product")
            ok_b = fb["rc"] == 0
            lines.append(
                f"| {label(p['rows_target'])} | {fb['memory_limit']} "
                f"| {_fmt(fl.get('wall') if fl.get('rc') == 0 else None)} "
                f"| {_fmt(fb['wall']) if ok_b else 'did not finish: ' + str(fb['killed'] or 'exit ' + str(fb['rc']))} "
                f"| {_fmt(fb['cpu'] if ok_b else None)} | {_fmt(fb['rss'] / GB if ok_b else None, '.2f')} "
                f"| {_fmt(held_per_row(p), '.2f')} "
                f"| {_fmt(pr['wall'] / fb['wall'] if ok_b and pr and p['status'] in COMPLETED else None)} |")
    ok = sorted((p for p in points if per_row(p, "wall") is not None), key=lambda p: p["rows_target"])
    if len(ok) > 1:
        lines += [""] if held else []
        lines.append("Between neighbouring measured points (wall, CPU): " + "; ".join(
            f"{label(x['rows_target'])} → {label(y['rows_target'])}: {per_row(y, 'wall') / per_row(x, 'wall'):.2f}, "
            f"{per_row(y, 'cpu') / per_row(x, 'cpu'):.2f}" for x, y in zip(ok, ok[1:], strict=False)) + ".")
    stages = [p for p in sorted(points, key=lambda p: p["rows_target"]) if p.get("product", {}).get("stages")]
    if stages:
        lines += ["", "Seconds per stage (from the run's own summary line):", "",
                  "| day's price obs. | " + " | ".join(STAGES) + " |", "| --- |" + " ---: |" * len(STAGES)]
        for p in stages:
            lines.append(f"| {label(p['rows_target'])} | "
                         + " | ".join(f"{p['product']['stages'].get(s, 0.0):.1f}" for s in STAGES) + " |")
    lines += ["", f"![time and memory against the day's rows]({svg_rel})", ""]
    return "\n".join(lines)


def svg(points: list[dict]) -> str:
    """Two panels against the day's price observations (log x): seconds (log y: product wall and CPU, floor wall, a
    dashed line of linear growth through the 10 M point) and GB (max RSS, highest spill, the 3 and 4 GB targets).
    A point that died is a red cross at what it had reached, labelled; a point not run is named under the axis."""
    pw, ph, left, top, gap = 330, 230, 56, 34, 80
    width, height = left + 2 * pw + gap + 20, top + ph + 92
    pts = sorted(points, key=lambda p: p["rows_target"])
    xs_all = [p["rows_target"] for p in pts] or [10**6]
    xlo, xhi = min(xs_all) / 1.6, max(xs_all) * 1.6  # half a 1-3-10 step of room on either side

    def xmap(x0, r):
        return x0 + (math.log10(r) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo)) * pw

    done = [p for p in pts if p.get("product")]
    secs = [v for p in done for v in (p["product"]["wall"], p["product"]["cpu"])]
    secs += [p["floor"]["wall"] for p in done if p.get("floor") and p["floor"]["rc"] == 0]
    slo = 10 ** math.floor(math.log10(max(min(secs, default=1), 0.1)))
    shi = 10 ** math.ceil(math.log10(max(secs, default=10) * 2))  # room above the top point for its label
    gbs = [v / GB for p in done for v in (p["product"]["rss"], p["product"]["spill"])]
    ghi = max(5.0, math.ceil(max(gbs, default=0) * 1.1))

    def ysec(s):
        return top + ph - (math.log10(max(s, slo)) - math.log10(slo)) / (math.log10(shi) - math.log10(slo)) * ph

    def ygb(g):
        return top + ph - g / ghi * ph

    colours = {"wall": "#1f77b4", "cpu": "#ff7f0e", "floor": "#2ca02c", "rss": "#9467bd", "spill": "#8c564b"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             'font-size="10">',
             f'<defs><clipPath id="mm-curve-left"><rect x="{left}" y="{top}" width="{pw}" height="{ph}"/></clipPath>'
             '</defs>',
             f'<text x="{left}" y="16" font-size="13">The daily run against the day\'s price observations '
             f'({"/".join(sorted({str(p["history_days"]) for p in pts})) or "30"} days of history); '
             '×: died, having reached this</text>']
    panels = [(left, "seconds (log)"), (left + pw + gap, "GB (decimal)")]
    for x0, title in panels:
        parts += [f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#000"/>',
                  f'<text x="{x0 - 40}" y="{top + ph / 2}" transform="rotate(-90 {x0 - 40} {top + ph / 2})" '
                  f'text-anchor="middle">{title}</text>',
                  f'<text x="{x0 + pw / 2}" y="{top + ph + 30}" text-anchor="middle">day\'s price observations '
                  '(log)</text>']
        e = math.floor(math.log10(xlo))
        while 10**e <= xhi:
            for m in (1, 3):
                r = m * 10**e
                if xlo <= r <= xhi:
                    parts.append(f'<line x1="{xmap(x0, r):.1f}" y1="{top + ph}" x2="{xmap(x0, r):.1f}" '
                                 f'y2="{top + ph + 4}" stroke="#000"/><text x="{xmap(x0, r):.1f}" y="{top + ph + 15}" '
                                 f'text-anchor="middle">{label(int(r)).replace(" ", "")}</text>')
            e += 1
    e = math.log10(slo)
    while 10**e <= shi * 1.001:
        parts.append(f'<line x1="{left}" y1="{ysec(10**e):.1f}" x2="{left + pw}" y2="{ysec(10**e):.1f}" '
                     f'stroke="#ddd"/><text x="{left - 4}" y="{ysec(10**e) + 3:.1f}" text-anchor="end">{10**e:g}</text>')
        e += 1
    gx0 = left + pw + gap
    for g in range(0, int(ghi) + 1, max(1, int(ghi) // 5)):
        parts.append(f'<text x="{gx0 - 4}" y="{ygb(g) + 3:.1f}" text-anchor="end">{g}</text>')
    for g, what in ((3, "target ≤ 3 GB"), (4, "budget 4 GB")):
        parts.append(f'<line x1="{gx0}" y1="{ygb(g):.1f}" x2="{gx0 + pw}" y2="{ygb(g):.1f}" stroke="#999" '
                     f'stroke-dasharray="4 3"/><text x="{gx0 + pw - 4}" y="{ygb(g) - 3:.1f}" text-anchor="end" '
                     f'fill="#666">{what}</text>')
    base = next((p for p in pts if p["rows_target"] == RATIO_POINTS[0] and per_row(p, "wall") is not None), None)
    if base is not None:  # linear growth through the 10 M point: time per row constant
        x1, x2 = xlo, xhi
        s1, s2 = (base["product"]["wall"] * x / base["day_rows"] for x in (x1, x2))
        parts.append(f'<line x1="{xmap(left, x1):.1f}" y1="{ysec(s1):.1f}" x2="{xmap(left, x2):.1f}" '
                     f'y2="{ysec(s2):.1f}" stroke="{colours["wall"]}" stroke-opacity="0.5" stroke-dasharray="2 3" '
                     'clip-path="url(#mm-curve-left)"/>')

    def series(x0, name, value, ymap, product=True):
        """`product`: the product's figures, crossed out for a point that died; else the floor's (its own run)."""
        good = [(xmap(x0, p["rows_target"]), ymap(value(p))) for p in done
                if (p["status"] in COMPLETED or not product) and value(p) is not None]
        if len(good) > 1:
            parts.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="1.5" points="'
                         + " ".join(f"{x:.1f},{y:.1f}" for x, y in good) + '"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colours[name]}"/>' for x, y in good)
        for p in done:
            if product and p["status"] not in COMPLETED and value(p) is not None:
                x, y = xmap(x0, p["rows_target"]), ymap(value(p))
                parts.append(f'<path d="M{x - 4:.1f},{y - 4:.1f} L{x + 4:.1f},{y + 4:.1f} M{x - 4:.1f},{y + 4:.1f} '
                             f'L{x + 4:.1f},{y - 4:.1f}" stroke="{colours[name]}" stroke-width="2"/>')

    series(left, "wall", lambda p: p["product"]["wall"], ysec)
    series(left, "cpu", lambda p: p["product"]["cpu"], ysec)
    series(left, "floor", lambda p: p["floor"]["wall"] if p.get("floor") and p["floor"]["rc"] == 0 else None, ysec,
           product=False)
    series(gx0, "rss", lambda p: p["product"]["rss"] / GB, ygb)
    series(gx0, "spill", lambda p: p["product"]["spill"] / GB, ygb)
    for p in pts:
        if p["status"] not in COMPLETED:
            for x0 in (left, gx0):
                parts.append(f'<text x="{xmap(x0, p["rows_target"]):.1f}" y="{top + 12}" text-anchor="middle" '
                             f'fill="#d62728">{p["status"]}</text>')
    legend = [("wall", "product wall s"), ("cpu", "product CPU s"), ("floor", "floor wall s"),
              ("rss", "product max RSS GB"), ("spill", "highest spill GB")]
    for i, (k, text) in enumerate(legend):
        lx = left + i * 130
        parts.append(f'<rect x="{lx}" y="{top + ph + 46}" width="10" height="10" fill="{colours[k]}"/>'
                     f'<text x="{lx + 14}" y="{top + ph + 55}">{text}</text>')
    if base is not None:
        parts.append(f'<text x="{left}" y="{top + ph + 78}" fill="#666">dotted: linear growth through the 10 M point '
                     '(constant wall time per row)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(points_new: list[dict], out: Path) -> list[dict]:
    """Merge the new points into OUT's stored curve (by row count), write the JSON, the SVG and the block."""
    store = out.parent / "benchmarks" / JSON_NAME
    store.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(store.read_text(encoding="utf-8"))["points"] if store.exists() else []
    mine = {p["rows_target"] for p in points_new}
    points = sorted([p for p in old if p["rows_target"] not in mine] + points_new, key=lambda p: p["rows_target"])
    store.write_text(json.dumps({"points": points}, indent=1) + "\n", encoding="utf-8")
    (store.parent / SVG_NAME).write_text(svg(points), encoding="utf-8")
    # write_report re-reads OUT right before it replaces this block (others edit other sections of the file)
    write_report(out, render(points, f"benchmarks/{SVG_NAME}"), marker=MARKER)
    return points


def machine_light() -> str:
    """benchmarks.run.machine() imports duckdb for its version: done in a child, to keep the harness light."""
    return _child_json("--machine")["machine"]


# ------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.curve", description=__doc__.splitlines()[0])
    ap.add_argument("--points", default="1M,10M", help="the day's price observations per point (1M,10M,30M,100M)")
    ap.add_argument("--history", type=int, default=30, help="days of history (default 30)")
    ap.add_argument("--density", type=float, default=0.02, help="share of the day copied per history day")
    ap.add_argument("--seed", type=int, default=20261111)
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("MM_BENCH_WORK", "/tmp/mm_bench")) / "curve")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "BENCHMARKS.md")
    ap.add_argument("--no-write", action="store_true", help="print only; write no docs")
    ap.add_argument("--timeout", type=float, default=1800.0,
                    help="seconds one product run may take before it is stopped and recorded as out of time")
    ap.add_argument("--budget", type=float, default=3300.0,
                    help="seconds for the whole command; points that no longer fit are recorded as not run")
    ap.add_argument("--rss-cap", type=float, default=0.6, metavar="SHARE",
                    help="stop a child whose RSS passes this share of the machine's memory (default 0.6)")
    ap.add_argument("--keep", action="store_true", help="keep each point's data under --work (default: deleted)")
    ap.add_argument("--redraw", action="store_true",
                    help="measure nothing: rewrite the block and the plot from the stored points of --out")
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--count-rows", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--machine", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.probe:
        print(json.dumps(probe(a.seed)))
        return 0
    if a.count_rows:
        from benchmarks.run import _day_rows  # lazy: RSS (duckdb)
        print(json.dumps({"rows": _day_rows(a.count_rows)}))
        return 0
    if a.machine:
        print(json.dumps({"machine": machine()}))
        return 0
    if a.redraw:
        write([], a.out)
        return 0
    t0 = time.monotonic()
    a.command = "python -m benchmarks.curve " + " ".join(argv if argv is not None else sys.argv[1:])
    a.command = a.command.strip()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    a.rss_cap = int(a.rss_cap * mem)
    rows = [parse_rows(x) for x in a.points.split(",") if x.strip()]
    cal = _child_json("--probe", "--seed", str(a.seed))
    print(f"generator: {cal['obs_per_scale']:,} price observations and {cal['bytes_per_scale'] / 1e6:.1f} MB "
          "per scale unit (one probe day)", flush=True)
    points = []
    for r in sorted(rows):
        p = run_point(r, cal, a, t0 + a.budget)
        print(f"point {p['label']}: {p['status']} {p['where']}", flush=True)
        points.append(p)
    mach = machine_light()  # with the load average at the end: the machine was shared or it was not
    for p in points:
        p |= {"machine": mach, "command_seconds": time.monotonic() - t0}
    if a.no_write:
        print(render(points, SVG_NAME))
    else:
        write(points, a.out)
        print(f"wrote the {MARKER} block of {a.out} and {a.out.parent / 'benchmarks' / SVG_NAME} "
              f"in {time.monotonic() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
