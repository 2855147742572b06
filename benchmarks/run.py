"""The benchmark: floor vs product vs pandas peer, 30 vs 180 days of history, peak memory.

    python -m benchmarks.run [--scale 100] [--repeats 3] [--work DIR] [--out docs/BENCHMARKS.md]
    python -m benchmarks.run --scale 10 --repeats 1          # quick smoke run

Every measured thing runs as its own child process; wall seconds, CPU seconds (user + sys) and max
RSS come from os.wait4's rusage of that child. Each figure is the median of `--repeats` runs
(the product runs `--product-repeats` times per history, default 1: one province-scale run takes minutes). Results are printed as
a table and written to --out (docs/BENCHMARKS.md unless --out is given). See docs/BENCHMARKS.md.
"""

# ruff: noqa: S608 - bench-only SQL: paths and dates made by the harness itself, no outside values
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from warehouse.db import DEFAULT_MEMORY_LIMIT

# duckdb, the generator and benchmarks.history are imported where they are used (marked `# lazy: RSS`):
# Linux carries a parent's peak RSS into the rusage of every child it forks (see bench), so the harness
# keeps its own memory small by importing the heavy modules only in the process that prepares the data.

REPO = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 20)
STAGES = ["ingest", "compute", "gate", "publish", "report"]
CORE_INDICATORS = ["price.cn_reference_7d", "price.spike_mad"]
# the files the floor reads: the product's core work counts the ingestion of these only (the other ten files
# of the day feed the extra indicators, which are reported separately)
CORE_FILES = ["price_observations price_observations.csv", "olist olist_orders_dataset.csv",
              "olist olist_order_items_dataset.csv"]


# ------------------------------------------------------------------ children

def _sample_rss(pid: int, peak: dict, stop: threading.Event, spill_dir: Path | None = None) -> None:
    """Sample the child's resident memory every 0.2 s and keep the clock time of the highest sample, so the
    report can say which step of the run the peak fell in (rusage gives the maximum, not when it happened).
    Every sample is kept in peak["series"] as (clock time, RSS bytes, spill bytes): the memory profile of the run
    per step (step_peaks). `spill_dir`: the product's DuckDB temp_directory, whose spill files are summed."""
    from warehouse.db import spill_bytes  # light: no DuckDB query, only a directory listing

    status = Path(f"/proc/{pid}/status")
    series = peak.setdefault("series", [])
    while not stop.wait(0.2):
        try:
            kb = next(int(ln.split()[1]) for ln in status.read_text().splitlines() if ln.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            return
        now = time.time()
        spill = spill_bytes(spill_dir) if spill_dir is not None else 0
        series.append((now, kb * 1024, spill))
        if kb * 1024 > peak.get("rss", 0):
            peak.update(rss=kb * 1024, at=now)
        if spill > peak.get("spill", 0):
            peak["spill"] = spill


def child(argv: list[str], env: dict | None = None, log: Path | None = None, spill_dir: Path | None = None) -> dict:
    """Run argv; return wall/cpu seconds, max RSS (bytes), when the sampled peak happened, return code, stdout."""
    t0 = time.perf_counter()
    started = time.time()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    peak: dict = {}
    stop = threading.Event()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=out, env=env, cwd=REPO, text=True)  # noqa: S603
        sampler = threading.Thread(target=_sample_rss, args=(proc.pid, peak, stop, spill_dir), daemon=True)
        sampler.start()
        stdout = proc.stdout.read()
        stop.set()
        _pid, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.join()
    finally:
        if log:
            out.close()
    return {"wall": time.perf_counter() - t0, "cpu": ru.ru_utime + ru.ru_stime,
            "rss": ru.ru_maxrss * 1024, "rss_peak_at": peak.get("at"), "started_at": started, "rc": proc.returncode, "stdout": stdout,
            "series": peak.get("series", []), "spill_max": peak.get("spill", 0)}


def _py(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def _check(r: dict, what: str) -> dict:
    if r["rc"] != 0:
        raise SystemExit(f"benchmark step {what} failed (exit {r['rc']}):\n{r['stdout'][-2000:]}")
    return r


# ------------------------------------------------------------------ data

def prepare_day(work: Path, scale: float, seed: int) -> Path:
    gen = work / f"gen_s{scale:g}"
    stamp = gen / ".bench_stamp"
    want = json.dumps({"scale": scale, "seed": seed, "day": DAY.isoformat()})
    if stamp.exists() and stamp.read_text() == want:
        return gen
    from pipelines.generate import generate  # lazy: RSS
    t0 = time.perf_counter()
    generate(gen, DAY, 1, scale=scale, seed=seed, history_days=0)
    stamp.write_text(want)
    print(f"generated scale {scale:g} in {time.perf_counter() - t0:.0f} s", flush=True)
    return gen


def prepare_history(work: Path, gen: Path, days: int, density: float, start_from: Path | None = None) -> Path:
    """The `days`-day history warehouse (cached by a stamp); grown from `start_from` (a shorter history
    of the same day and density) when given, which saves building its days again."""
    from benchmarks.history import build_history  # lazy: RSS

    tpl = work / f"{gen.name}_hist{days}_d{density:g}"
    stamp = tpl / ".bench_stamp"
    want = json.dumps({"days": days, "density": density, "gen": (gen / ".bench_stamp").read_text(),
                       "history_version": 3})  # bump when benchmarks/history.py changes what it builds
    if stamp.exists() and stamp.read_text() == want:
        return tpl
    shutil.rmtree(tpl, ignore_errors=True)
    tpl.mkdir(parents=True)
    t0 = time.perf_counter()
    have = 0
    if start_from is not None:
        have = json.loads((start_from / ".bench_stamp").read_text())["days"]
        shutil.copyfile(start_from / "warehouse.duckdb", tpl / "warehouse.duckdb")
    counts = build_history(tpl / "warehouse.duckdb", gen / "landing", tpl, DAY, days, density, have=have)
    (tpl / "counts.json").write_text(json.dumps(counts))
    stamp.write_text(want)
    print(f"history {days} d built in {time.perf_counter() - t0:.0f} s: {counts}", flush=True)
    return tpl


def fresh_home(work: Path, gen: Path, tpl: Path, name: str) -> Path:
    home = work / name
    shutil.rmtree(home, ignore_errors=True)
    (home / "landing").mkdir(parents=True)
    for src in sorted((gen / "landing").iterdir()):
        (home / "landing" / src.name).symlink_to(src)
    shutil.copyfile(tpl / "warehouse.duckdb", home / "warehouse.duckdb")
    return home


# ------------------------------------------------------------------ measured steps

STAGE_RE = re.compile(r"\[((?:\w+ [0-9.]+s,? ?)+)\]")
# debug lines of `market-monitor --verbose run` (indicators/compute.py, expectations/gate.py)
STEP_RE = re.compile(r"computed (indicator|mart) (\S+): \d+ rows in ([0-9.]+) s")
SUITE_RE = re.compile(r"quality (\S+): \d+ rows.* in ([0-9.]+) s$", re.MULTILINE)
# the ingest log line (pipelines/ingest/): "ingested <source> <file>: N rows in S s (read …, duplicates …, quarantine …, staging …)"
INGEST_RE = re.compile(r"ingested (\S+ \S+): \d+ rows in ([0-9.]+) s \(([^)]*)\)")


def step_seconds(text: str) -> dict[str, float]:
    """Seconds per indicator, mart, quality suite and ingested file (and its phases) from a `--verbose` run log."""
    # the first line of each step is the run date's: publish later computes every indicator again on an empty
    # probe date (pipelines/publish/dictionary.py, 2000-01-01, a few ms each), which must not replace it
    steps: dict[str, float] = {}
    for kind, name, sec in STEP_RE.findall(text):
        steps.setdefault(f"{kind} {name}", float(sec))
    steps |= {f"suite {name}": float(sec) for name, sec in SUITE_RE.findall(text)}
    for name, sec, phases in INGEST_RE.findall(text):
        steps[f"ingest {name}"] = float(sec)
        for what, psec in re.findall(r"(\w+) ([0-9.]+) s", phases):
            steps[f"ingest {name} · {what}"] = float(psec)
    return steps


def product_run(home: Path, log: Path, env: dict | None = None) -> dict:
    from warehouse.db import duckdb_settings  # light: reads HOME/config.yml and the environment only

    spill_dir = duckdb_settings(home).temp_directory  # the child inherits this environment (plus the memory limit)
    r = child(_py("pipelines.run.cli", "--home", str(home), "--verbose", "run", "--date", DAY.isoformat()),
              env=env, log=log, spill_dir=spill_dir)
    text = log.read_text(encoding="utf-8", errors="replace")
    if r["rc"] != 0:  # reported, not hidden: the table says which run failed and why
        tail = [ln for ln in text.splitlines() if ln.strip()]
        r["failed"] = next((ln for ln in reversed(tail) if "failed" in ln or "Error" in ln), tail[-1] if tail else "")
        print(f"product run failed: {r['failed']}", flush=True)
    m = STAGE_RE.findall(r["stdout"])
    r["stages"] = {k: float(v) for k, v in re.findall(r"(\w+) ([0-9.]+)s", m[-1])} if m else {}
    r["steps"] = step_seconds(text)
    r["peak_step"] = step_at(text, r.get("rss_peak_at"), r.get("started_at"))
    r["step_peaks"] = step_peaks(text, r.pop("series", []), r.get("started_at"))
    return r


LOG_LINE_RE = re.compile(r"^(\d\d:\d\d:\d\d) \w+ (.*)$", re.MULTILINE)


def _log_steps(text: str, started: float):
    """(epoch seconds, step) for each line of a `--verbose` run log: the clock times are placed on the day the run
    started and moved one day on whenever the clock goes backwards (a run across midnight)."""
    base = time.localtime(started)
    midnight = time.mktime((base.tm_year, base.tm_mon, base.tm_mday, 0, 0, 0, 0, 0, -1))
    days, last = 0, -1
    for stamp, message in LOG_LINE_RE.findall(text):
        if message.startswith("after "):  # the memory line written after a step ends, not a step
            continue
        h, m, sec = (int(x) for x in stamp.split(":"))
        clock = h * 3600 + m * 60 + sec
        if clock < last:
            days += 1
        last = clock
        yield midnight + days * 86400 + clock, re.sub(r":? \d+ rows.*| in [0-9.]+ s$| \([0-9.]+ s\)$", "", message)[:120]


def step_at(text: str, at: float | None, started: float | None = None) -> str:
    """The step of a `--verbose` run log that was running at clock time `at`: the first line logged at or after
    it (steps log when they end). The log's clock has whole seconds and no date, so each stamp is placed on the
    day the run `started` and moved one day on whenever the clock goes backwards (a run across midnight)."""
    if at is None:
        return ""
    target = int(at)
    for when, step in _log_steps(text, started if started is not None else at):
        if when >= target:
            return step
    return "the end of the run (bulletin, lineage)"


def step_peaks(text: str, series: list, started: float | None = None) -> dict[str, tuple[int, int]]:
    """{step: (highest RSS bytes, highest spill bytes)} over the samples taken while each step of a `--verbose`
    run log was running (as step_at places them): where the memory goes, step by step."""
    out: dict[str, tuple[int, int]] = {}
    if not series:
        return out
    ends = list(_log_steps(text, started if started is not None else series[0][0]))
    i = 0
    for at, rss, spill in sorted(series):
        while i < len(ends) and ends[i][0] < int(at):
            i += 1
        name = ends[i][1] if i < len(ends) else "the end of the run (bulletin, lineage)"
        old = out.get(name, (0, 0))
        out[name] = (max(old[0], rss), max(old[1], spill))
    return out


def med(rs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rs)


# ------------------------------------------------------------------ report

def machine() -> str:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores, {mem / 2**30:.1f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, DuckDB {__import__('duckdb').__version__}, "
            f"load average at the end {load:.1f}")


def render(res: dict) -> str:
    gb = 10**9  # decimal GB, as the target (< 4 GB) is compared
    lines = [
        "## Results",
        "",
        f"Command: `{res['command']}`  ",
        f"Machine: {res['machine']}  ",
        f"Data: scale {res['scale']:g}: {res['day_rows']['price_observations']:,} price observations and "
        f"{res['day_rows']['olist_orders']:,} orders on {DAY}; history density {res['density']:g} "
        f"({', '.join(f'{h} d: {c:,} obs' for h, c in res['history_rows'].items())}); "
        f"repeats {res['repeats']} (product: {res['product_repeats']} per history); "
        f"product DuckDB memory_limit {res['memory_limit']}. "
        f"Harness wall time {res['harness_seconds']:.0f} s.",
        "",
        "| measure | median wall s | median CPU s | max RSS GB | target | ratio | met |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for row in res["rows"]:
        rss = "" if row.get("rss") is None else f"{row['rss'] / gb:.2f}"
        lines.append(f"| {row['name']} | {row.get('wall', '')} | {row.get('cpu', '')} | "
                     f"{rss} | {row.get('target', '')} | "
                     f"{row.get('ratio', '')} | {row.get('met', '')} |")
    hs, hb = res["histories"]
    lines += ["", "Share of the product's time per stage (median stage seconds from the run's own output):", "",
              f"| stage | seconds ({hs} d) | share ({hs} d) | seconds ({hb} d) | share ({hb} d) |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for st in STAGES:
        a, b = res["stages"][hs].get(st, 0.0), res["stages"][hb].get(st, 0.0)
        lines.append(f"| {st} | {a:.1f} | {a / max(sum(res['stages'][hs].values()), 1e-9):.0%} | {b:.1f} | "
                     f"{b / max(sum(res['stages'][hb].values()), 1e-9):.0%} |")
    lines += ["", f"Where the time goes: seconds per indicator, mart and quality suite (median over the {hs}-day "
              "product runs, from the run's own `--verbose` log; every step of 1 s or more):", "",
              "| step | seconds |", "| --- | ---: |"]
    for k, v in sorted(res["steps"].items(), key=lambda kv: -kv[1]):
        if v >= 1.0:
            lines.append(f"| {k} | {v:.1f} |")
    lines += growth_lines(res)
    return "\n".join(lines) + "\n"


def growth_lines(res: dict) -> list[str]:
    """What grows with the history: each product run's wall time, then the steps whose median seconds differ most
    between the two histories (every step that grew or shrank by 1 s or more), with their share of the difference."""
    by = res.get("steps_by_history")
    if not by:
        return []
    hs, hb = res["histories"]
    small, big = by[hs], by[hb]
    walls = res.get("product_walls", {})
    diff = {k: big.get(k, 0.0) - small.get(k, 0.0) for k in set(small) | set(big)
            if not k.startswith("ingest ") or " · " not in k}  # an ingest's phases are inside its own step
    total = sum(diff.values())
    lines = ["", f"What grows with the history ({hb} against {hs} days; medians over the product runs, whose wall "
                 f"times were {', '.join(f'{w:.1f}' for w in walls.get(hs, []))} s ({hs} d) and "
                 f"{', '.join(f'{w:.1f}' for w in walls.get(hb, []))} s ({hb} d)). Steps that differ by 1 s or more; "
                 f"all steps together differ by {total:+.1f} s:", "",
             f"| step | seconds ({hs} d) | seconds ({hb} d) | difference | share of the difference |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for k, v in sorted(diff.items(), key=lambda kv: (-abs(kv[1]), kv[0])):
        if abs(v) >= 1.0:
            share = f"{v / total:.0%}" if total > 0 else ""
            lines.append(f"| {k} | {small.get(k, 0.0):.1f} | {big.get(k, 0.0):.1f} | {v:+.1f} | {share} |")
    return lines


def write_report(path: Path, section: str, marker: str = "results") -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start, end = f"<!-- bench:{marker}:start -->", f"<!-- bench:{marker}:end -->"
    block = f"{start}\n{section}{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------ main

def prepare(work: Path, scale: float, seed: int, density: float, histories: tuple[int, int]) -> tuple[Path, dict]:
    gen = prepare_day(work, scale, seed)
    tpls: dict[int, Path] = {}
    for h in sorted(histories):  # the longer history grows from the shorter one
        tpls[h] = prepare_history(work, gen, h, density, start_from=tpls[min(tpls)] if tpls else None)
    return gen, tpls


def bench(scale: float, repeats: int, product_repeats: int, work: Path, out: Path | None, density: float,
          histories: tuple[int, int], seed: int, command: str, memory_limit: str | None = None) -> dict:
    t_start = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    # the data are prepared in a child process: Linux carries a parent's peak RSS into the rusage of every child
    # it forks, so a harness that had generated the day itself reported its own gigabytes for each measured step
    prep = ["--prepare-only", "--scale", str(scale), "--density", str(density),
            "--history", ",".join(map(str, histories)), "--seed", str(seed), "--work", str(work)]
    r = child(_py("benchmarks.run", *prep))
    print(r["stdout"], end="", flush=True)
    _check(r, "data preparation")
    gen, tpls = prepare(work, scale, seed, density, histories)  # cached by now: reads the stamps only
    landing = gen / "landing"
    ds = DAY.isoformat()
    h_small, h_big = histories

    def times(argv, n, name):
        rs = []
        for i in range(n):
            o = work / f"out_{name}_{i}"
            shutil.rmtree(o, ignore_errors=True)
            rs.append(_check(child(argv + [str(o), ds]), name))
        return rs

    floor = times(_py("benchmarks.floor", "floor", str(landing), str(tpls[h_small])), repeats, "floor")
    check = times(_py("benchmarks.floor", "check", str(landing), str(tpls[h_small])), repeats, "check")
    peer = times(_py("benchmarks.floor", "pandas", str(landing), str(tpls[h_small])), repeats, "pandas")
    if check[0]["stdout"].split() != peer[0]["stdout"].split():
        raise SystemExit(f"pandas peer and DuckDB check disagree: {peer[0]['stdout']!r} vs {check[0]['stdout']!r}")
    env = dict(os.environ, MARKET_MONITOR_MEMORY_LIMIT=memory_limit) if memory_limit else None
    prod: dict[int, list] = {h: [] for h in histories}
    for i in range(product_repeats):
        for h in histories:  # interleaved, so machine noise hits both alike
            home = fresh_home(work, gen, tpls[h], f"home_{h}")
            prod[h].append(product_run(home, work / f"product_{h}_{i}.log", env))
    # seconds per indicator, mart and quality suite: medians over the runs with the smaller history
    # with the longer history too: what grows with the history is the profile of the 180-day target
    names = sorted({k for h in histories for r in prod[h] for k in r["steps"]})
    steps_by_history = {h: {k: statistics.median(r["steps"].get(k, 0.0) for r in prod[h]) for k in names}
                        for h in histories}
    steps = {k: v for k, v in steps_by_history[h_small].items() if any(k in r["steps"] for r in prod[h_small])}
    indicators = {k.split(" ", 1)[1]: v for k, v in steps.items() if k.startswith("indicator ")}
    stages = {h: {st: statistics.median(r["stages"].get(st, 0.0) for r in prod[h]) for st in STAGES}
              for h in histories}
    core_ind = sum(indicators.get(i, 0.0) for i in CORE_INDICATORS)
    core_ingest = sum(steps.get(f"ingest {f}", 0.0) for f in CORE_FILES)
    core = core_ingest + core_ind
    gate_share = stages[h_small]["gate"] / max(sum(stages[h_small].values()), 1e-9)
    p30, p180 = med(prod[h_small], "wall"), med(prod[h_big], "wall")
    rss_all = max(r["rss"] for h in histories for r in prod[h])

    def row(name, rs, **kw):
        failed = [r["failed"] for r in rs if r.get("failed")]
        if failed:
            kw = dict(kw, met=f"FAILED {len(failed)} of {len(rs)}: {failed[0][:160]}")
        return {"name": name, "wall": f"{med(rs, 'wall'):.1f}", "cpu": f"{med(rs, 'cpu'):.1f}",
                "rss": max(r["rss"] for r in rs), **kw}

    fl, ck, pd_ = med(floor, "wall"), med(check, "wall"), med(peer, "wall")
    rows = [
        row("floor: hand-written DuckDB SQL (read CSVs, 7-day check, spike score, parquet)", floor),
        {"name": f"product core work: ingesting the floor's 3 files ({core_ingest:.1f} s) + cn_reference_7d + "
                 f"spike_mad ({core_ind:.1f} s) ({h_small} d)",
         "wall": f"{core:.1f}", "target": "≤ 1.5 × floor", "ratio": f"{core / fl:.2f}",
         "met": "yes" if core / fl <= 1.5 else "NO"},
        row(f"product end to end, {h_small} days of history", prod[h_small]),
        row(f"product end to end, {h_big} days of history", prod[h_big], target=f"≤ 1.2 × {h_small} d",
            ratio=f"{p180 / p30:.2f}", met="yes" if p180 / p30 <= 1.2 else "NO"),
        {"name": "product peak memory (max RSS of any run; the step running at each run's sampled peak: "
                 + "; ".join(f"{h} d: {r['peak_step'] or '?'}" for h in histories for r in prod[h]) + ")",
         "rss": rss_all, "target": "< 4 GB",
         "met": "yes" if rss_all < 4 * 10**9 else "NO"},
        {"name": f"quality gate share of the run ({h_small} d)", "wall": f"{stages[h_small]['gate']:.1f}",
         "target": "< 15 %", "ratio": f"{gate_share:.0%}", "met": "yes" if gate_share < 0.15 else "NO"},
        row("7-day check, DuckDB (floor's SQL, check only)", check),
        row("7-day check, pandas peer", peer, target="DuckDB ≥ 2 × faster", ratio=f"{pd_ / ck:.2f}",
            met="yes" if pd_ / ck >= 2 else "NO"),
    ]
    day_rows = {}
    import duckdb  # lazy: RSS
    c = duckdb.connect()
    day_rows["price_observations"] = c.execute(
        f"SELECT count(*) FROM read_csv('{landing / 'price_observations' / ds / '*.csv'}', header=true, all_varchar=true)"
    ).fetchall()[0][0]
    day_rows["olist_orders"] = c.execute(
        f"SELECT count(*) FROM read_csv('{landing / 'olist' / ds / 'olist_orders_dataset.csv'}', header=true, all_varchar=true)"
    ).fetchall()[0][0]
    res = {"command": command, "machine": machine(), "memory_limit": memory_limit or f"{DEFAULT_MEMORY_LIMIT} (default)", "scale": scale, "density": density, "repeats": repeats,
           "product_repeats": product_repeats, "rows": rows, "stages": stages, "indicators": indicators, "steps": steps,
           "steps_by_history": steps_by_history,
           "product_walls": {h: [round(r["wall"], 1) for r in prod[h]] for h in histories},
           "day_rows": day_rows,
           "history_rows": {h: json.loads((tpls[h] / "counts.json").read_text())["price_observations"]
                            for h in histories},
           "harness_seconds": time.perf_counter() - t_start}
    res["histories"] = (h_small, h_big)
    text = render(res)
    print(text)
    (work / "results.json").write_text(json.dumps(res, default=str))
    if out is not None:
        write_report(out, text)
    return res


def render_memory(res: dict) -> str:
    """The memory block: one product run's peak RSS, its spill, and the steps at the top of its memory profile."""
    gb = 10**9
    r = res["run"]
    lines = [
        "### Memory of one daily run",
        "",
        f"Command: `{res['command']}`  ",
        f"Machine: {res['machine']}  ",
        f"Data: scale {res['scale']:g}, {res['day_rows']:,} price observations on {DAY}, {res['history']} days of "
        f"history at density {res['density']:g}; DuckDB memory_limit {res['memory_limit']}, "
        f"temp_directory {res['temp_directory']}.",
        "",
        "| run | wall s | CPU s | max RSS GB | target | met | highest spill GB | step at the sampled peak |",
        "| --- | ---: | ---: | ---: | --- | --- | ---: | --- |",
        f"| product end to end ({'exit ' + str(r['rc']) if r['rc'] else 'ok'}) | {r['wall']:.1f} | {r['cpu']:.1f} | "
        f"{r['rss'] / gb:.2f} | ≤ 3 GB | {'yes' if r['rss'] <= 3 * gb and not r['rc'] else 'NO'} | "
        f"{r['spill_max'] / gb:.2f} | {r['peak_step'] or '?'} |",
        "",
        "Highest sampled RSS while each step ran (sampled every 0.2 s; the ten highest steps):",
        "",
        "| step | RSS GB | spill GB |",
        "| --- | ---: | ---: |",
    ]
    for name, (rss, spill) in sorted(r["step_peaks"].items(), key=lambda kv: -kv[1][0])[:10]:
        lines.append(f"| {name} | {rss / gb:.2f} | {spill / gb:.2f} |")
    return "\n".join(lines) + "\n"


def memory(scale: float, work: Path, out: Path | None, density: float, history: int, seed: int, command: str,
           memory_limit: str | None = None) -> dict:
    """One end-to-end product run with `history` days, measured for memory (`--memory-only`)."""
    from warehouse.db import duckdb_settings

    work.mkdir(parents=True, exist_ok=True)
    prep = ["--prepare-only", "--scale", str(scale), "--density", str(density),
            "--history", f"{history},{history}", "--seed", str(seed), "--work", str(work)]
    r = child(_py("benchmarks.run", *prep))
    print(r["stdout"], end="", flush=True)
    _check(r, "data preparation")
    gen, tpls = prepare(work, scale, seed, density, (history, history))
    env = dict(os.environ, MARKET_MONITOR_MEMORY_LIMIT=memory_limit) if memory_limit else None
    home = fresh_home(work, gen, tpls[history], f"home_mem_{history}")
    run = product_run(home, work / f"product_mem_{history}.log", env)
    run.pop("stdout", None)
    res = {"command": command, "machine": machine(), "scale": scale, "density": density, "history": history,
           "memory_limit": memory_limit or f"{DEFAULT_MEMORY_LIMIT} (default)",
           "temp_directory": "HOME/" + str(duckdb_settings(home).temp_directory.relative_to(home))
           if duckdb_settings(home).temp_directory.is_relative_to(home) else str(duckdb_settings(home).temp_directory),
           "day_rows": _day_rows(gen), "run": run}
    text = render_memory(res)
    print(text)
    (work / "memory.json").write_text(json.dumps(res, default=str))
    if out is not None:
        write_report(out, text, marker="memory")
    return res


def _day_rows(gen: Path) -> int:
    import duckdb  # lazy: RSS

    glob = gen / "landing" / "price_observations" / DAY.isoformat() / "*.csv"
    return duckdb.connect().execute(
        f"SELECT count(*) FROM read_csv('{glob}', header=true, all_varchar=true)").fetchall()[0][0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=100.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--product-repeats", type=int, default=1,
                    help="end-to-end product runs per history (default 1: each takes minutes at scale 100)")
    ap.add_argument("--density", type=float, default=0.02, help="share of the day's rows copied per history day")
    ap.add_argument("--history", default="30,180")
    ap.add_argument("--seed", type=int, default=20261111)
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("MM_BENCH_WORK", "/tmp/mm_bench")))
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "BENCHMARKS.md")
    ap.add_argument("--no-write", action="store_true", help="print only; do not touch docs/BENCHMARKS.md")
    ap.add_argument("--memory-limit", help="MARKET_MONITOR_MEMORY_LIMIT for the product runs (default: the product's own, warehouse/db.py)")
    ap.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--memory-only", action="store_true",
                    help="one product run with the first --history, measured for memory (peak RSS per step, spill); "
                         "writes the bench:memory block of --out")
    a = ap.parse_args(argv)
    h = tuple(int(x) for x in a.history.split(","))
    if a.prepare_only:  # the harness's own child: generate the day and build the histories (cached by stamps)
        a.work.mkdir(parents=True, exist_ok=True)
        prepare(a.work, a.scale, a.seed, a.density, (h[0], h[1]))
        return 0
    cmd = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    if a.memory_only:
        memory(a.scale, a.work, None if a.no_write else a.out, a.density, h[0], a.seed, cmd.strip(), a.memory_limit)
        return 0
    bench(a.scale, a.repeats, a.product_repeats, a.work, None if a.no_write else a.out, a.density,
          (h[0], h[1]), a.seed, cmd.strip(), a.memory_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
