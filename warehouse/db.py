"""Opening the DuckDB warehouse: one writer at a time, readers read-only.

DuckDB allows one read-write process per file and fails at once (no waiting) when another process
holds it. We translate that into a message naming the holder and optionally wait a bounded time.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import duckdb

from pipelines.core.errors import WarehouseBusy
from warehouse.migrate import apply_migrations

# DuckDB settings chosen on purpose (docs/BENCHMARKS.md, "DuckDB settings", gives the measurements):
# - threads: every core (DuckDB's own default, made explicit); MARKET_MONITOR_THREADS lowers it on a
#   shared box. Each thread holds its own aggregate hash tables, so fewer threads also means less memory.
# - memory_limit 3.5GB (DEFAULT_MEMORY_LIMIT): the whole process must fit a 4 GB small server. DuckDB's
#   buffer pool stays under it and spills sorts, joins and grouped aggregates to temp_directory; Python,
#   pyarrow and Great Expectations come on top (~0.3-0.6 GB; 1 GB of the pool is handed to Python while marts
#   are written, python_memory_headroom). 3GB was too close to the edge for sustained_below_market at scale
#   100. MARKET_MONITOR_MEMORY_LIMIT overrides (raise it on a bigger server: fewer spills).
# - temp_directory HOME/.duckdb_tmp (set in connect_writer): spill files stay on the home's disk, never in
#   /tmp; max_temp_directory_size caps them so a runaway query fails instead of filling the disk.
# - preserve_insertion_order=false lets DuckDB stream large INSERT/COPY without buffering order
#   (every mart is written with an explicit ORDER BY where order matters for byte-identical output;
#   ingestion turns it on only where it numbers the rows of a file).
DEFAULT_SETTINGS = {
    "preserve_insertion_order": "false",
}

_PID_RE = re.compile(r"\(PID (\d+)\)")

DEFAULT_MEMORY_LIMIT = "3.5GB"
PUBLISH_HEADROOM_BYTES = 1 << 30  # Arrow batches and parquet row groups held by Python while a mart is written
_SIZE_RE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?i?B)\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def memory_limit_setting() -> str:
    """DuckDB's memory_limit for the pipeline's connections (docs/BENCHMARKS.md, "DuckDB settings")."""
    return os.environ.get("MARKET_MONITOR_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)


def _size_bytes(text: str) -> int | None:
    m = _SIZE_RE.match(text or "")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()]) if m and m.group(2).upper() in _UNITS else None


@contextlib.contextmanager
def python_memory_headroom(con: duckdb.DuckDBPyConnection, headroom: int = PUBLISH_HEADROOM_BYTES):
    """Lower DuckDB's memory limit by `headroom` (not below 1 GiB) while Python itself holds large buffers.

    Publishing streams Arrow batches into parquet row groups on top of DuckDB's buffer pool; without this the
    run's peak memory was the full pool plus those buffers (docs/BENCHMARKS.md). Afterwards the pipeline's
    configured limit (memory_limit_setting(), what connect_writer opened the connection with) is set again:
    DuckDB reports the current limit rounded to 0.1 GiB, so it cannot be restored from what it reports."""
    current = con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchall()[0][0]
    limit = _size_bytes(current)
    if limit is None:  # no limit, or a form we do not read: leave it alone
        yield
        return
    con.execute(f"SET memory_limit = '{max(limit - headroom, 2**30)}B'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{_size_bytes(memory_limit_setting()) or limit}B'")


def _settings(home_root: Path) -> dict:
    settings = dict(DEFAULT_SETTINGS)
    settings["memory_limit"] = memory_limit_setting()
    settings["threads"] = os.environ.get("MARKET_MONITOR_THREADS") or str(os.cpu_count() or 1)
    settings["max_temp_directory_size"] = os.environ.get("MARKET_MONITOR_MAX_TEMP", "50GB")
    return settings


def _translate_lock_error(db_path: Path, exc: Exception) -> WarehouseBusy:
    text = str(exc)
    match = _PID_RE.search(text)
    holder = f"process {match.group(1)}" if match else "another process"
    return WarehouseBusy(
        f"the warehouse {db_path} is in use by {holder} (one writer at a time). "
        "Wait for that run to finish, or stop it, then try again."
    )


def connect_writer(db_path: Path, wait_seconds: float = 0.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write; wait up to `wait_seconds` for another writer to finish."""
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        try:
            con = duckdb.connect(str(db_path), config=_settings(db_path.parent))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise _translate_lock_error(db_path, exc) from None
            time.sleep(0.5)
    temp_dir = db_path.parent / ".duckdb_tmp"
    con.execute("SET temp_directory = $d", {"d": str(temp_dir)})
    apply_migrations(con)
    return con


def connect_reader(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (any number of readers; not while a writer holds it)."""
    db_path = Path(db_path)
    try:
        return duckdb.connect(str(db_path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise _translate_lock_error(db_path, exc) from None
        raise
