"""`market-monitor`: the command line (docs/CONTRACT.md §2).

Exit codes: 0 success; 1 the run failed (stage and reason printed); 2 bad usage or bad input.
User errors are printed as messages, never as tracebacks (set MARKET_MONITOR_DEBUG=1 for one).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from pipelines.core.errors import MarketMonitorError, UserError
from pipelines.core.home import Home
from pipelines.generate.sample import sample_days, sample_landing
from pipelines.run.progress import Progress, stage_progress, terminal_logging
from pipelines.serve.query import format_rows, run_query
from pipelines.serve.status import status_text

# The stage modules are imported by the commands that run them (marked `# lazy: import cost`): they bring
# pandas, pyarrow, the source catalogue and the generator, and importing them at the top more than doubles
# the start-up of every command (measured: `market-monitor --help` 0.4 s without them, 0.95 s with them),
# which `--help`, `status` and `query` need not pay.

log = logging.getLogger("market_monitor")
OWN_LOGGERS = ("market_monitor", "pipelines", "indicators", "expectations", "warehouse", "dags", "benchmarks")

FIRST_QUERY = ("market-monitor query \"SELECT indicator_id, severity, shop_id, sku_id, value, threshold "
               "FROM indicator_flags ORDER BY dt DESC, value DESC LIMIT 10\"")


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors, as docs/CONTRACT.md §2 wants
        self.print_usage(sys.stderr)
        self.exit(2, f"market-monitor: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    def options(defaults):
        # The subcommands' copies default to SUPPRESS so `market-monitor --quiet run …` is not reset
        # to False by the subparser (argparse copies subparser defaults over the parent's values).
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument("--home", default=None if defaults else argparse.SUPPRESS,
                       help="home folder (default: $MARKET_MONITOR_HOME, else ./var)")
        p.add_argument("--quiet", "-q", action="store_true", default=False if defaults else argparse.SUPPRESS,
                       help="no progress, only warnings and errors")
        p.add_argument("--verbose", "-v", action="store_true", default=False if defaults else argparse.SUPPRESS,
                       help="debug log of every step (plain lines, no progress bar; libraries stay at INFO)")
        return p

    common = options(defaults=False)
    parser = _Parser(prog="market-monitor", description=__doc__.splitlines()[0], parents=[options(defaults=True)])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("demo", parents=[common], help="lay the bundled sample province into a fresh home and run every day")

    p = sub.add_parser("run", parents=[common], help="the daily refresh for business date D")
    p.add_argument("--date", required=True, type=parse_date)
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another writer (default 0)")

    p = sub.add_parser("backfill", parents=[common], help="run each date from --start to --end, in order")
    p.add_argument("--start", required=True, type=parse_date)
    p.add_argument("--end", required=True, type=parse_date)
    p.add_argument("--wait", type=float, default=0.0)

    p = sub.add_parser("fetch", parents=[common], help="download a source's file(s) for D into landing/")
    p.add_argument("--source", required=True)
    p.add_argument("--date", required=True, type=parse_date)
    p.add_argument("--url")

    p = sub.add_parser("generate", parents=[common], help="write a synthetic province with planted anomalies")
    p.add_argument("--out", required=True)
    p.add_argument("--start", required=True, type=parse_date)
    p.add_argument("--days", required=True, type=int)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int)
    p.add_argument("--history-days", type=int, default=None,
                   help="days of history before --start carried by the first drop (default 35)")
    p.add_argument("--force", action="store_true", help="write even when the disk check says there is no room")
    p.add_argument("--clean", action="store_true",
                   help="plant no anomaly: the same world and campaigns, an empty ground truth (false-positive control)")
    p.add_argument("--power", metavar="CONTEXT",
                   choices=("ordinary", "campaign", "small_cell", "new_shop", "high_volume"),
                   help="power mode: every plant kind at 1.2/1.5/2/3 x its threshold in this market context, "
                        "plus power_truth.csv (docs/ACCURACY.md)")

    p = sub.add_parser("evaluate", parents=[common], help="accuracy of published flags against ground truth")
    p.add_argument("--truth", required=True)

    p = sub.add_parser("query", parents=[common], help="read-only SQL over the warehouse and the marts")
    p.add_argument("sql")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")

    sub.add_parser("status", parents=[common], help="recent runs, ledger, quality results, quarantine")

    p = sub.add_parser("raw-line", parents=[common],
                       help="the original text of a staging or quarantined row, read back from its landing file")
    p.add_argument("--source", required=True)
    p.add_argument("--date", required=True, type=parse_date, help="the business date (the row's _business_date)")
    p.add_argument("--file", required=True, help="the file name as in the ledger (the row's _file_name)")
    p.add_argument("--row", required=True, type=int, help="the data row, 1-based, header excluded (the row's _row)")

    p = sub.add_parser("maintain", parents=[common],
                       help="retention of old landing files and partitions (HOME/config.yml), compact the warehouse")
    p.add_argument("--date", required=True, type=parse_date)
    p.add_argument("--dry-run", action="store_true", help="list what would be removed, change nothing")

    p = sub.add_parser("republish", parents=[common],
                       help="rewrite a mart's published partitions under its current schema (all or nothing)")
    p.add_argument("--mart", required=True)
    p.add_argument("--start", type=parse_date, help="first date to rewrite (default: the mart's first partition)")
    p.add_argument("--end", type=parse_date, help="last date to rewrite (default: its last partition)")
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another writer (default 0)")

    p = sub.add_parser("report", parents=[common], help="(re)build the bulletin for D, or one merchant's dossier")
    p.add_argument("--date", required=True, type=parse_date)
    p.add_argument("--merchant", metavar="USCC_OR_SHOP_ID",
                   help="build only this merchant's dossier (一户一档), reports/<D>/merchants/<id>.html")

    p = sub.add_parser("export", parents=[common],
                       help="write exports/<D>/ for publication: spot-check results and the 差异化监管 list (CSV, XLSX)")
    p.add_argument("--date", required=True, type=parse_date)
    return parser


def _setup_logging(args) -> None:
    level = logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr, force=True)
    # --verbose is the debug log of this project's own steps; libraries stay at INFO (their debug lines,
    # e.g. a time-zone lookup, would land in the middle of the step timings the benchmark reads)
    for own in OWN_LOGGERS:
        logging.getLogger(own).setLevel(logging.DEBUG if args.verbose and not args.quiet else logging.NOTSET)
    for noisy in ("great_expectations", "urllib3", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, flush=True)


def _progress(args, total, label):
    """A bar on a terminal (stderr), plain log lines otherwise; nothing with --quiet."""
    return Progress(total, label, stream=sys.stderr, quiet=args.quiet, verbose=args.verbose)


def _run_days(args, home: Home, days, label: str, wait: float = 0.0):
    """run_day for each date with one progress bar over all their stages; yields each result."""
    from pipelines.run.daily import STAGES, run_day  # lazy: import cost

    days = list(days)
    with _progress(args, len(days) * len(STAGES), label) as bar, stage_progress(bar), terminal_logging(bar):
        for day in days:
            result = run_day(home, day, wait_seconds=wait)
            yield result, bar


# --------------------------------------------------------------------------- commands

def cmd_run(args, home: Home) -> int:
    for result, _ in _run_days(args, home, [args.date], f"run {args.date}", wait=args.wait):
        _summarise(args, home, result)
        result.raise_for_outcome()
    return 0


def _summary_line(result) -> str:
    pub = result.publish
    leads = result.bulletin.leads_today if result.bulletin else 0
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    return (f"{result.run_date}: {leads} leads; published "
            f"{', '.join(f'{m} ({n})' for m, n in pub.published.items()) or 'nothing'}"
            f"{'; BLOCKED ' + ', '.join(pub.blocked) if pub.blocked else ''} [{timing}]")


def _summarise(args, home: Home, result) -> None:
    _say(args, _summary_line(result))


def _show_day(args, home: Home, result, bar) -> None:
    """One day's summary line: above the progress bar when there is one, else printed."""
    if bar.bar:
        bar.message(_summary_line(result))
    else:
        _summarise(args, home, result)


def _dates(start: date, end: date):
    if end < start:
        raise UserError(f"backfill: --end {end} is before --start {start}")
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def cmd_backfill(args, home: Home) -> int:
    """Runs each date in order. Resumable: a rerun skips files already loaded and republishes whole
    partitions, so restarting after a failure just continues."""
    worst = 0
    days = list(_dates(args.start, args.end))
    for result, bar in _run_days(args, home, days, f"backfill {args.start}…{args.end}", wait=args.wait):
        _show_day(args, home, result, bar)
        try:
            result.raise_for_outcome()
        except MarketMonitorError as exc:
            print(f"market-monitor: {exc}", file=sys.stderr)
            worst = max(worst, exc.exit_code)
    return worst


def cmd_demo(args, home: Home) -> int:
    home.ensure()
    started = time.perf_counter()
    src = sample_landing()
    # Lay the sample in (idempotent: files already present and identical are left alone).
    for path in sorted(src.rglob("*")):
        if path.is_file():
            target = home.landing / path.relative_to(src)
            if not target.exists() or target.stat().st_size != path.stat().st_size:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    days = sample_days()
    _say(args, f"market-monitor demo: sample province laid into {home.landing}; running {len(days)} days "
               f"{days[0]} … {days[-1]}")
    last, problems = None, []
    for last, bar in _run_days(args, home, days, f"demo {days[0]}…{days[-1]}"):
        _show_day(args, home, last, bar)
        try:
            last.raise_for_outcome()
        except MarketMonitorError as exc:  # keep going: the other days still publish and show something
            problems.append(exc)
    if problems:
        raise max(problems, key=lambda e: e.exit_code)
    _say(args, "")
    _say(args, f"Done in {time.perf_counter() - started:.0f} s.")
    _say(args, f"  marts (hive-partitioned parquet): {home.marts}")
    _say(args, f"  warehouse (DuckDB, read-only for analysts): {home.db_path}")
    _say(args, f"  bulletin: {last.bulletin.path}")
    _say(args, f"  data quality (Data Docs): {home.quality / 'index.html'}")
    _say(args, "A first query to try:")
    home_flag = "" if os.environ.get("MARKET_MONITOR_HOME") == str(home.root) else f" --home {home.root}"
    # `make demo` runs the venv's script: name it in full when `market-monitor` is not on PATH
    exe = "market-monitor" if shutil.which("market-monitor") else (sys.argv[0] or "market-monitor")
    _say(args, "  " + FIRST_QUERY.replace("market-monitor query", f"{exe} query{home_flag}", 1))
    return 0


def cmd_fetch(args, home: Home) -> int:
    from pipelines.ingest.fetch import fetch  # lazy: import cost

    with _progress(args, 1, f"fetch {args.source} {args.date}") as bar:
        paths = fetch(home.ensure(), args.source, args.date, url=args.url)
        bar.advance(note=f"{len(paths)} file(s)")
    for path in paths:
        _say(args, f"fetched {path}")
    return 0


def cmd_generate(args, home: Home) -> int:
    from pipelines.generate import DEFAULT_SEED, HISTORY_DAYS, generate  # lazy: import cost
    from pipelines.generate.estimate import disk_shortfall, estimate_province  # lazy: import cost

    if args.days < 1:
        raise UserError("generate: --days must be at least 1")
    if args.scale <= 0:
        raise UserError("generate: --scale must be greater than 0")
    history_days = HISTORY_DAYS if args.history_days is None else args.history_days
    if history_days < 0:
        raise UserError("generate: --history-days must be 0 or more")
    seed = DEFAULT_SEED if args.seed is None else args.seed
    kwargs = {"scale": args.scale, "seed": seed, "history_days": history_days}
    if args.clean:
        kwargs["clean"] = True
    if getattr(args, "power", None):
        kwargs["power"] = args.power
    # Say how big it will be before writing it, and refuse when the disk cannot hold it (a scale-100 run
    # with the default 35 history days is ~90 GB: better a clear refusal now than ENOSPC an hour in).
    est = estimate_province(args.start, args.days, args.scale, seed, history_days)
    _say(args, f"generate: {est.describe()}")
    shortfall = disk_shortfall(Path(args.out), est)
    if shortfall and not args.force:
        raise UserError(f"generate: {shortfall} (or pass --force)")
    with _progress(args, args.days, f"generate {args.days} day(s)") as bar:
        if "progress" in inspect.signature(generate).parameters:
            kwargs |= {"quiet": True, "progress": lambda *a, **k: bar.advance(note=" ".join(map(str, a)))}
            summary = generate(Path(args.out), args.start, args.days, **kwargs)
        else:
            # the generator prints one "  <day>: done" line per day when not quiet: one step each
            kwargs["quiet"] = args.quiet
            with contextlib.redirect_stdout(_LineSteps(bar)):
                summary = generate(Path(args.out), args.start, args.days, **kwargs)
    _say(args, f"generated {args.days} day(s) into {args.out}: {summary}")
    return 0


class _LineSteps:
    """A stdout stand-in: each printed line is one progress step (its text is the step's note)."""

    def __init__(self, bar):
        self.bar, self._pending = bar, ""

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            if line.strip():
                self.bar.advance(note=line.strip())
        return len(text)

    def flush(self) -> None:
        pass


def cmd_evaluate(args, home: Home) -> int:
    from pipelines.generate.evaluate import evaluate, format_evaluation  # lazy: import cost

    print(format_evaluation(evaluate(home.root, Path(args.truth))))
    return 0


def cmd_query(args, home: Home) -> int:
    columns, rows = run_query(home, args.sql)
    print(format_rows(columns, rows, args.format))
    return 0


def cmd_status(args, home: Home) -> int:
    print(status_text(home))
    return 0


def cmd_raw_line(args, home: Home) -> int:
    from pipelines.serve.raw_line import raw_line  # lazy: import cost (the source catalogue)

    print(raw_line(home, args.source, args.date, args.file, args.row).render())
    return 0


def cmd_maintain(args, home: Home) -> int:
    from pipelines.run.maintenance import run_maintenance  # lazy: import cost

    summary = run_maintenance(home, args.date, dry_run=args.dry_run)
    _say(args, json.dumps(summary, ensure_ascii=False, indent=1, default=str))
    return 0


def cmd_republish(args, home: Home) -> int:
    from pipelines.run.republish import republish  # lazy: import cost

    result = republish(home, args.mart, args.start, args.end, wait_seconds=args.wait,
                       progress=lambda line: _say(args, line))
    for day, (before, now) in result.rows.items():
        _say(args, f"  {args.mart} dt={day}: {now} rows" + ("" if before in (None, now) else f" (was {before})"))
    _say(args, f"republished {len(result.rows)} partition(s) of {args.mart} under schema_version "
               f"{result.schema_version}")
    return 0


def cmd_report(args, home: Home) -> int:
    from pipelines.run.daily import new_run_id, report  # lazy: import cost

    if args.merchant is not None:
        _say(args, f"dossier: {report(home, args.date, new_run_id(args.date), merchant=args.merchant)}")
        return 0
    bulletin = report(home, args.date, new_run_id(args.date))
    _say(args, f"bulletin: {bulletin.path}")
    return 0


def cmd_export(args, home: Home) -> int:
    from pipelines.serve.export import export_day  # lazy: import cost (openpyxl)

    result = export_day(home, args.date)
    _say(args, f"export: {result.folder}")
    for name, rows in result.rows.items():
        _say(args, f"  {name}: {rows} rows")
    return 0


COMMANDS = {
    "run": cmd_run, "backfill": cmd_backfill, "demo": cmd_demo, "fetch": cmd_fetch, "generate": cmd_generate,
    "evaluate": cmd_evaluate, "query": cmd_query, "status": cmd_status, "report": cmd_report,
    "maintain": cmd_maintain, "republish": cmd_republish, "export": cmd_export, "raw-line": cmd_raw_line,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args)
    try:
        home = Home.resolve(args.home)
        return COMMANDS[args.command](args, home)
    except MarketMonitorError as exc:
        print(f"market-monitor: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("market-monitor: interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # an unexpected failure: say where, keep the traceback for debugging only
        if os.environ.get("MARKET_MONITOR_DEBUG"):
            raise
        print(f"market-monitor: {args.command} failed unexpectedly: {type(exc).__name__}: {exc} "
              "(set MARKET_MONITOR_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
