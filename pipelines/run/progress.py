"""Progress for long work: a bar on a terminal, plain log lines otherwise.

    with Progress(total=5, label="run 2026-03-31", stream=sys.stderr) as bar:
        bar.advance(note="ingest")

On a terminal (stream.isatty()) it redraws one line: `run 2026-03-31 [#####.....] 3/5 60% gate 2.1s`.
Not on a terminal (CI, Airflow, a pipe, a log file) it writes one plain log line per step instead.
`quiet` shows nothing; `verbose` keeps plain lines even on a terminal (so debug logging is readable).

`stage_progress(bar)` is a logging handler that advances a bar on each finished run stage (the
daily run logs "stage %s for %s: %s in %.2f s" when a stage ends), so the CLI shows stages without
the pipeline knowing about terminals.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time

log = logging.getLogger("market_monitor.progress")


class Progress:
    def __init__(self, total: int | None, label: str, stream=None, quiet: bool = False, verbose: bool = False,
                 width: int = 28, tty: bool | None = None):
        self.total = total if total and total > 0 else None
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.bar = (isatty() if tty is None else tty) and not quiet and not verbose
        self.width = width
        self.done = 0
        self.started = time.perf_counter()
        self._drawn = False

    # -- drawing
    def _line(self, note: str) -> str:
        elapsed = time.perf_counter() - self.started
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(round(frac * self.width))
            eta = (elapsed / self.done * (self.total - self.done)) if self.done else 0.0
            text = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                    f"{frac:4.0%} {elapsed:5.1f}s" + (f" eta {eta:4.0f}s" if self.done < self.total else ""))
        else:
            text = f"{self.label} {self.done} done {elapsed:5.1f}s"
        return text + (f"  {note}" if note else "")

    def _draw(self, note: str = "") -> None:
        self.stream.write("\r\x1b[2K" + self._line(note)[:160])
        self.stream.flush()
        self._drawn = True

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if self.quiet:
            return
        if self.bar:
            self._draw(note)
        else:
            total = f"/{self.total}" if self.total else ""
            log.info("%s: %d%s done%s (%.1f s)", self.label, self.done, total, f", {note}" if note else "",
                     time.perf_counter() - self.started)

    def message(self, text: str) -> None:
        """A line that should stay visible above the bar (or a plain log line)."""
        if self.quiet:
            return
        if self.bar:
            self.stream.write("\r\x1b[2K" + text + "\n")
            self._draw()
        else:
            log.info("%s", text)

    def close(self) -> None:
        if self.bar and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> "Progress":
        if self.bar:
            self._draw("")
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _StageHandler(logging.Handler):
    def __init__(self, bar: Progress):
        super().__init__(logging.INFO)
        self.bar = bar

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith("stage ") and record.args \
                and len(record.args) >= 3:
            stage, day, outcome = record.args[0], record.args[1], record.args[2]
            self.bar.advance(note=f"{day} {stage} {outcome}")


@contextlib.contextmanager
def stage_progress(bar: Progress, logger_name: str = "pipelines.run.daily"):
    """Advance `bar` once per finished stage of the daily run while the block runs."""
    if bar.quiet:
        yield bar
        return
    logger = logging.getLogger(logger_name)
    handler = _StageHandler(bar)
    logger.addHandler(handler)
    try:
        yield bar
    finally:
        logger.removeHandler(handler)


@contextlib.contextmanager
def terminal_logging(bar: Progress):
    """While a bar is drawn, INFO log lines on stderr would tear it: show only warnings then."""
    if not bar.bar:
        yield
        return
    root = logging.getLogger()
    saved = [(h, h.level) for h in root.handlers]
    for h, _ in saved:
        h.setLevel(max(h.level, logging.WARNING))
    try:
        yield
    finally:
        for h, level in saved:
            h.setLevel(level)
