"""Test-only fault injection: kill the process at a named point (docs/RELIABILITY.md).

Set MARKET_MONITOR_FAULT to a point name, optionally with the hit number: `publish.swapped:2` kills the
process with SIGKILL the second time that point is reached. Unset (the normal case) it does nothing.
Points: ingest.before_commit (one file's rows written, its transaction not committed),
compute.done (work tables built, stage not recorded), publish.temp_written (a partition's new file
written in marts/.staging/<mart>/, not swapped in), publish.swapped (a partition swapped in, its manifest
not yet updated).
MARKET_MONITOR_PAUSE=`<point>=<seconds>` sleeps at that point instead (each time it is reached): tests of
concurrent runs use it to hold the writer for a known time on a loaded machine.
"""

from __future__ import annotations

import os
import signal
import time

FAULT_ENV = "MARKET_MONITOR_FAULT"
PAUSE_ENV = "MARKET_MONITOR_PAUSE"
_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        point, _, seconds = pause.partition("=")
        if point == name:
            time.sleep(float(seconds or 0))
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
