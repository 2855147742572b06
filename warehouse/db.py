"""Opening the DuckDB warehouse: one writer at a time, readers read-only.

DuckDB allows one read-write process per file and fails at once (no waiting) when another process
holds it. We translate that into a message naming the holder and optionally wait a bounded time.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from pipelines.core.errors import UserError, WarehouseBusy
from pipelines.core.home import Home
from warehouse.migrate import apply_migrations

# DuckDB settings chosen on purpose (docs/BENCHMARKS.md, "DuckDB settings and memory", gives the measurements;
# docs/DEPLOYMENT.md, "DuckDB memory and spill", how to set them). Each comes from, first to last: its environment
# variable, the `duckdb:` section of HOME/config.yml, the default here.
# - memory_limit (DEFAULT_MEMORY_LIMIT): DuckDB's buffer pool stays under it and spills sorts, joins, windows and
#   grouped aggregates to temp_directory. The whole process must stay at or below 3 GB at scale 100 (issue 23), and
#   Python, pyarrow and Great Expectations come on top of the pool (measured 0.3-0.6 GB), so the pool gets 2.5 GB.
#   That holds because every indicator's plan is bounded: no per-group list whose length grows with the data and no
#   holistic aggregate (median, mad, top-k) over millions of groups, states that DuckDB does not spill (measured and
#   written down in docs/BENCHMARKS.md, "Bounded plans"). Raise it on a bigger server: fewer spills, same results.
# - temp_directory HOME/.duckdb_tmp: spill files stay on the home's disk (or wherever config.yml points, e.g. a
#   local disk when the home is on NFS), never in /tmp; emptied when a writer opens the warehouse (leftovers of a
#   killed run) and by DuckDB when the connection closes. max_temp_directory_size caps the spill so a runaway query
#   fails with a message instead of filling the disk.
# - threads: every core (DuckDB's own default, made explicit). Each thread holds its own aggregate hash tables, so
#   fewer threads also means less memory on a shared box.
# - preserve_insertion_order=false lets DuckDB stream large INSERT/COPY without buffering order
#   (every mart is written with an explicit ORDER BY where order matters for byte-identical output;
#   ingestion turns it on only where it numbers the rows of a file).
DEFAULT_SETTINGS = {
    "preserve_insertion_order": "false",
}

_PID_RE = re.compile(r"\(PID (\d+)\)")

DEFAULT_MEMORY_LIMIT = "2.5GB"
DEFAULT_TEMP_DIRECTORY = ".duckdb_tmp"  # relative to the home folder
DEFAULT_MAX_TEMP = "50GB"
CONFIG_SECTION = "duckdb"
# config.yml key -> environment variable that overrides it
SETTING_ENV = {
    "memory_limit": "MARKET_MONITOR_MEMORY_LIMIT",
    "temp_directory": "MARKET_MONITOR_TEMP_DIRECTORY",
    "max_temp_directory_size": "MARKET_MONITOR_MAX_TEMP",
    "threads": "MARKET_MONITOR_THREADS",
}
# DuckDB's own spill files (temp_directory holds nothing else of ours)
_SPILL_FILE_RE = re.compile(r"^duckdb_temp_")  # duckdb_temp_<pid>_<n>_storage_…tmp, duckdb_temp_<pid>_<n>_owner
PUBLISH_HEADROOM_BYTES = 1 << 30  # Arrow batches and parquet row groups held by Python while a mart is written
_SIZE_RE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?i?B)\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_LIMIT_VARIABLE = "mm_memory_limit"  # the connection's configured limit, for python_memory_headroom to restore


@dataclass(frozen=True)
class DuckDBSettings:
    """The pipeline's DuckDB settings for one home (env > HOME/config.yml `duckdb:` > defaults)."""
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    temp_directory: Path | None = None
    max_temp_directory_size: str = DEFAULT_MAX_TEMP
    threads: int = 0  # 0: every core

    def connect_config(self) -> dict:
        config = dict(DEFAULT_SETTINGS)
        config["memory_limit"] = self.memory_limit
        config["threads"] = str(self.threads or os.cpu_count() or 1)
        config["max_temp_directory_size"] = self.max_temp_directory_size
        return config


def _config_section(home_root: Path | None) -> dict:
    """The `duckdb:` mapping of HOME/config.yml ({} when there is no file or no section)."""
    if home_root is None:
        return {}
    path = Home(Path(home_root)).config_file
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from None
    section = data.get(CONFIG_SECTION) if isinstance(data, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise UserError(f"{path}: '{CONFIG_SECTION}' must be a mapping (e.g. duckdb: {{memory_limit: 2.5GB}})")
    unknown = sorted(set(section) - set(SETTING_ENV))
    if unknown:
        raise UserError(f"{path}: unknown key(s) under '{CONFIG_SECTION}': {', '.join(unknown)} "
                        f"(known: {', '.join(SETTING_ENV)})")
    return section


def duckdb_settings(home_root: Path | None = None) -> DuckDBSettings:
    """The settings for the warehouse of the home at `home_root` (None: defaults and environment only)."""
    section = _config_section(home_root)
    where = "config.yml duckdb."

    def pick(key: str):
        env = os.environ.get(SETTING_ENV[key])
        if env:
            return env, f"${SETTING_ENV[key]}"
        return section.get(key), f"{where}{key}"

    limit, src = pick("memory_limit")
    if limit is not None and _size_bytes(str(limit)) is None:
        raise UserError(f"{src} must be a size such as 2.5GB or 800MiB (got {limit!r})")
    cap, src = pick("max_temp_directory_size")
    if cap is not None and _size_bytes(str(cap)) is None:
        raise UserError(f"{src} must be a size such as 50GB (got {cap!r})")
    threads, src = pick("threads")
    if threads is not None:
        given = threads
        try:
            threads = int(given)
        except (TypeError, ValueError):
            threads = 0
        if threads < 1 or isinstance(given, bool | float):
            raise UserError(f"{src} must be a whole number of threads >= 1 (got {given!r})")
    temp, _ = pick("temp_directory")
    temp_dir = None
    if home_root is not None or temp:
        base = Path(home_root) if home_root is not None else Path.cwd()
        temp_dir = base / Path(str(temp or DEFAULT_TEMP_DIRECTORY)).expanduser()  # an absolute path stays as it is
    return DuckDBSettings(memory_limit=str(limit or DEFAULT_MEMORY_LIMIT), temp_directory=temp_dir,
                          max_temp_directory_size=str(cap or DEFAULT_MAX_TEMP), threads=threads or 0)


def memory_limit_setting(home_root: Path | None = None) -> str:
    """DuckDB's memory_limit for the pipeline's connections (docs/BENCHMARKS.md, "DuckDB settings and memory")."""
    return duckdb_settings(home_root).memory_limit


def _size_bytes(text: str) -> int | None:
    m = _SIZE_RE.match(text or "")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()]) if m and m.group(2).upper() in _UNITS else None


def _configured_limit(con: duckdb.DuckDBPyConnection) -> int | None:
    """The limit the connection was opened with (connect_writer records it), else the environment's/default."""
    try:
        value = con.execute(f"SELECT getvariable('{_LIMIT_VARIABLE}')").fetchone()[0]
    except duckdb.Error:
        value = None
    return _size_bytes(value or memory_limit_setting())


@contextlib.contextmanager
def python_memory_headroom(con: duckdb.DuckDBPyConnection, headroom: int = PUBLISH_HEADROOM_BYTES):
    """Lower DuckDB's memory limit by `headroom` (not below 1 GiB, never above the limit itself) while Python
    holds large buffers.

    Publishing streams Arrow batches into parquet row groups on top of DuckDB's buffer pool; without this the
    run's peak memory was the full pool plus those buffers (docs/BENCHMARKS.md). Afterwards the connection's
    configured limit (what connect_writer opened it with) is set again: DuckDB reports the current limit rounded
    to 0.1 GiB, so it cannot be restored from what it reports."""
    current = con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchall()[0][0]
    limit = _size_bytes(current)
    if limit is None:  # no limit, or a form we do not read: leave it alone
        yield
        return
    con.execute(f"SET memory_limit = '{min(limit, max(limit - headroom, 2**30))}B'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{_configured_limit(con) or limit}B'")


def memory_note(con: duckdb.DuckDBPyConnection) -> str:
    """DuckDB's memory and spill right now, for a debug line after each step (`market-monitor -v run`): what a
    step leaves behind in the buffer pool or the temp directory is what the next step cannot use."""
    used, temp, biggest = con.execute(
        "SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes), "
        "arg_max(tag, memory_usage_bytes) FROM duckdb_memory()").fetchone()
    spill = spill_bytes(Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]))
    return (f"buffer pool {(used or 0) / 2**20:,.0f} MiB (most: {biggest}), temporary storage "
            f"{(temp or 0) / 2**20:,.0f} MiB, spill files {spill / 2**20:,.0f} MiB")


def clean_spill_directory(temp_dir: Path) -> int:
    """Remove DuckDB spill files left in `temp_dir` (a run killed mid-query leaves them); returns bytes freed.
    Only the writer calls this, holding the warehouse's lock, so no other run of this home is spilling there."""
    freed = 0
    if not temp_dir.is_dir():
        return 0
    for entry in temp_dir.iterdir():
        if entry.is_file() and _SPILL_FILE_RE.match(entry.name):
            freed += entry.stat().st_size
            entry.unlink(missing_ok=True)
    return freed


def spill_bytes(temp_dir: Path) -> int:
    """Bytes of DuckDB spill files in `temp_dir` now (what the benchmark samples; 0 when there is none)."""
    try:
        return sum(e.stat().st_size for e in temp_dir.iterdir() if e.is_file() and _SPILL_FILE_RE.match(e.name))
    except OSError:
        return 0


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
    settings = duckdb_settings(db_path.parent)
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        try:
            con = duckdb.connect(str(db_path), config=settings.connect_config())
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise _translate_lock_error(db_path, exc) from None
            time.sleep(0.5)
    # the lock is ours now: no other run of this home spills into temp_directory, so leftovers can go
    settings.temp_directory.mkdir(parents=True, exist_ok=True)
    clean_spill_directory(settings.temp_directory)
    con.execute("SET temp_directory = $d", {"d": str(settings.temp_directory)})
    con.execute(f"SET VARIABLE {_LIMIT_VARIABLE} = $l", {"l": settings.memory_limit})
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
