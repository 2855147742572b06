"""`market-monitor`: the command line (CONTRACT §2).

Exit codes: 0 success; 1 the run failed (stage and reason printed); 2 bad usage or bad input.
User errors are printed as messages, never as tracebacks (set MARKET_MONITOR_DEBUG=1 for one).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from datetime import date, timedelta

from pipelines.errors import MarketMonitorError, UserError
from pipelines.home import Home

log = logging.getLogger("market_monitor")

FIRST_QUERY = ("market-monitor query \"SELECT indicator_id, severity, shop_id, sku_id, value, threshold "
               "FROM indicator_flags ORDER BY dt DESC, value DESC LIMIT 10\"")


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors, as CONTRACT §2 wants
        self.print_usage(sys.stderr)
        self.exit(2, f"market-monitor: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="home folder (default: $MARKET_MONITOR_HOME, else ./var)")
    common.add_argument("--quiet", "-q", action="store_true", help="only errors")
    common.add_argument("--verbose", "-v", action="store_true", help="debug logging")

    parser = _Parser(prog="market-monitor", description=__doc__.splitlines()[0], parents=[common])
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

    p = sub.add_parser("evaluate", parents=[common], help="accuracy of published flags against ground truth")
    p.add_argument("--truth", required=True)

    p = sub.add_parser("query", parents=[common], help="read-only SQL over the warehouse and the marts")
    p.add_argument("sql")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")

    sub.add_parser("status", parents=[common], help="recent runs, ledger, quality results, quarantine")

    p = sub.add_parser("report", parents=[common], help="(re)build the bulletin for D")
    p.add_argument("--date", required=True, type=parse_date)
    return parser


def _setup_logging(args) -> None:
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr, force=True)
    for noisy in ("great_expectations", "urllib3", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, flush=True)


# --------------------------------------------------------------------------- commands

def cmd_run(args, home: Home) -> int:
    from pipelines.daily import run_day

    result = run_day(home, args.date, wait_seconds=args.wait)
    _summarise(args, home, result)
    result.raise_for_outcome()
    return 0


def _summarise(args, home: Home, result) -> None:
    pub = result.publish
    leads = result.bulletin.leads_today if result.bulletin else 0
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    _say(args, f"{result.run_date}: {leads} leads; published "
               f"{', '.join(f'{m} ({n})' for m, n in pub.published.items()) or 'nothing'}"
               f"{'; BLOCKED ' + ', '.join(pub.blocked) if pub.blocked else ''} [{timing}]")


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
    from pipelines.daily import run_day

    worst = 0
    for day in _dates(args.start, args.end):
        result = run_day(home, day, wait_seconds=args.wait)
        _summarise(args, home, result)
        try:
            result.raise_for_outcome()
        except MarketMonitorError as exc:
            print(f"market-monitor: {exc}", file=sys.stderr)
            worst = max(worst, exc.exit_code)
    return worst


def cmd_demo(args, home: Home) -> int:
    from pipelines.daily import run_day
    from pipelines.demo import sample_days, sample_landing

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
    last = None
    for day in days:
        last = run_day(home, day)
        _summarise(args, home, last)
    last.raise_for_outcome()
    _say(args, "")
    _say(args, f"Done in {time.perf_counter() - started:.0f} s.")
    _say(args, f"  marts (hive-partitioned parquet): {home.marts}")
    _say(args, f"  warehouse (DuckDB, read-only for analysts): {home.db_path}")
    _say(args, f"  bulletin: {last.bulletin.path}")
    _say(args, f"  data quality: {home.quality / 'results' / days[-1].isoformat() / 'index.html'}")
    _say(args, "A first query to try:")
    home_flag = "" if os.environ.get("MARKET_MONITOR_HOME") == str(home.root) else f" --home {home.root}"
    _say(args, "  " + FIRST_QUERY.replace("market-monitor query", f"market-monitor query{home_flag}", 1))
    return 0


def cmd_fetch(args, home: Home) -> int:
    from pipelines.fetch import fetch

    paths = fetch(home.ensure(), args.source, args.date, url=args.url)
    for path in paths:
        _say(args, f"fetched {path}")
    return 0


def cmd_generate(args, home: Home) -> int:
    from pathlib import Path

    from pipelines.generate import generate

    kwargs = {"scale": args.scale, "quiet": args.quiet}
    if args.seed is not None:
        kwargs["seed"] = args.seed
    if args.days < 1:
        raise UserError("generate: --days must be at least 1")
    summary = generate(Path(args.out), args.start, args.days, **kwargs)
    _say(args, f"generated {args.days} day(s) into {args.out}: {summary}")
    return 0


def cmd_evaluate(args, home: Home) -> int:
    from pathlib import Path

    from pipelines.evaluate import evaluate, format_evaluation

    print(format_evaluation(evaluate(home.root, Path(args.truth))))
    return 0


def cmd_query(args, home: Home) -> int:
    from pipelines.query import format_rows, run_query

    columns, rows = run_query(home, args.sql)
    print(format_rows(columns, rows, args.format))
    return 0


def cmd_status(args, home: Home) -> int:
    from pipelines.status import status_text

    print(status_text(home))
    return 0


def cmd_report(args, home: Home) -> int:
    from pipelines.daily import new_run_id, report

    bulletin = report(home, args.date, new_run_id(args.date))
    _say(args, f"bulletin: {bulletin.path}")
    return 0


COMMANDS = {
    "run": cmd_run, "backfill": cmd_backfill, "demo": cmd_demo, "fetch": cmd_fetch, "generate": cmd_generate,
    "evaluate": cmd_evaluate, "query": cmd_query, "status": cmd_status, "report": cmd_report,
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
