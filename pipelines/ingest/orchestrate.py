"""ingest_day: every file in landing/<source>/<D>/ into staging.*, the ledger and quarantine.

One file = one transaction. Every row is accounted for: rows_read = rows_loaded + rows_quarantined.
All parsing and validation is one pass of SQL per file (no Python loop over rows). Values and paths
are always bound as parameters; identifiers come only from pipelines/ingest/sources/*.yml.

The steps live in their own modules: files (what the date folder and an archive hold), match (which
table takes a file), reader (encoding, format, header), load + transform (the SQL), ledger (what
was done with each file). The landing file itself, kept with its sha256 in the ledger, is the raw
record: the warehouse keeps no text copy of the rows (pipelines.ingest.landing_lines reads one back).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb

from pipelines.core.errors import IngestFailed
from pipelines.core.faults import fault_point
from pipelines.core.sql import sha256_file
from pipelines.ingest import sqlfuncs
from pipelines.ingest.catalogue import SOURCE_IDS, load_source
from pipelines.ingest.files import day_entries, is_archive, is_regular_file, not_read_because, zip_members
from pipelines.ingest.ledger import (
    IngestReport,
    LedgerEntry,
    content_loaded_as,
    delete_file_rows,
    export_quarantine,
    new_entry,
    previous_load,
    record,
    write_ledger,
)
from pipelines.ingest.load import drop_temp_tables, load_file, read_input
from pipelines.ingest.match import table_for_file
from pipelines.ingest.reader import FileRejected, prepare

log = logging.getLogger(__name__)

# a previous load with one of these outcomes and the same sha256 makes loading the file again a no-op
DONE_OUTCOMES = ("loaded", "replaced", "empty", "ignored")


def ingest_file(con, home, source: str, d: dt.date, path: Path, name: str | None = None) -> LedgerEntry:
    """Load one landed file (already known to be a regular data file) of `source` for date `d`.

    Bad content is the file's fault: FileRejected -> ledger outcome `rejected` (exit 2 at the end of the
    run). Anything else (out of memory, a full disk, a DuckDB internal error, a bug) is not: the file's
    transaction is rolled back, nothing is written to the ledger for it (a rerun reads it again) and
    IngestFailed (exit 1) stops the stage, naming the file."""
    name = name or path.name
    try:
        return _ingest_file(con, home, source, d, path, name)
    except IngestFailed:
        raise
    except Exception as exc:
        raise failure(source, d, name, exc) from exc


def failure(source: str, d: dt.date, name: str, exc: BaseException) -> IngestFailed:
    """IngestFailed naming the stage, the file and what went wrong, in words."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    if isinstance(exc, MemoryError | duckdb.OutOfMemoryException):
        what = "out of memory"
    elif isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        what = "the disk is full"
    elif isinstance(exc, OSError):
        what = "an input/output error"
    elif isinstance(exc, duckdb.InternalException | duckdb.FatalException):
        what = "a DuckDB internal error"
    else:
        what = "an unexpected error (a bug: rerun with MARKET_MONITOR_DEBUG=1 for the traceback and report it)"
    where = f"landing/{source}/{d}/{name}"
    return IngestFailed(
        f"stage ingest failed on {where}: {what} ({type(exc).__name__}: {first}); the file is not marked "
        "rejected and nothing of it was recorded (files loaded before it stay loaded); fix the cause and "
        "rerun the day", file=where)


def _ingest_file(con, home, source: str, d: dt.date, path: Path, name: str) -> LedgerEntry:
    t_file, cpu_file = time.perf_counter(), time.process_time()
    size = path.stat().st_size
    sha = sha256_file(path)
    t_sha, cpu_sha = time.perf_counter() - t_file, time.process_time() - cpu_file
    prev = previous_load(con, source, d, name)
    if prev and prev[0] == sha and prev[1] in DONE_OUTCOMES:
        return new_entry(source, d, name, sha, size, "skipped_same_file",
                         f"same file (sha256 {sha[:12]}…) already loaded; nothing changed")
    had_rows = prev is not None
    if size == 0 or (size < 65536 and not path.read_bytes().replace(b"\xef\xbb\xbf", b"").strip()):
        return record(con, new_entry(source, d, name, sha, size, "empty", "the file is empty"), had_rows, home)
    table = table_for_file(source, name)
    if table is None:
        pats = ", ".join(p for t in load_source(source).tables for p in t.file_patterns)
        return record(con, new_entry(source, d, name, sha, size, "ignored",
                                     f"no table of source {source} takes this file name (expected {pats})"),
                      had_rows, home)
    first = content_loaded_as(con, source, d, sha, name)
    if first is not None:  # the same export dropped twice under two names: its rows are already in
        if prev and prev[0] == sha and prev[1] == "duplicate":
            return new_entry(source, d, name, sha, size, "skipped_same_file",
                             f"same file (sha256 {sha[:12]}…) already recorded as a duplicate of {first}")
        return record(con, new_entry(
            source, d, name, sha, size, "duplicate",
            f"duplicate of {first}: same content (sha256 {sha[:12]}…) already loaded for {source} on {d}; "
            "not loaded again", table=table.table), had_rows, home)
    tmp_dir = Path(tempfile.mkdtemp(prefix="mm_ingest_"))
    prep = None
    try:
        try:
            prep = prepare(path, table.formats, tmp_dir)
            t_read, cpu_read = time.perf_counter(), time.process_time()
            header, n_rej, native = read_input(con, prep, table)  # outside the transaction: see read_input
            phases: dict[str, float] = {"sha256": t_sha, "read": time.perf_counter() - t_read}
            cpu: dict[str, float] = {"sha256": cpu_sha, "read": time.process_time() - cpu_read}
        except FileRejected as exc:
            e = new_entry(source, d, name, sha, size, "rejected", str(exc), prep.encoding if prep else None,
                          table=table.table, samples=[(None, exc.column, str(exc))])
            return record(con, e, had_rows, home)
        con.execute("SET preserve_insertion_order = true")
        con.execute("BEGIN TRANSACTION")
        try:
            if had_rows:
                delete_file_rows(con, source, d, name)
            read, loaded, bad, samples = load_file(con, source, table, d, name, sha, header, n_rej, phases,
                                                   prep.delimiter, native,
                                                   prep.path if prep.fmt == "csv" else None, cpu)
            outcome = "replaced" if prev and prev[1] in ("loaded", "replaced") else "loaded"
            note = "; mixed line endings read as LF" if prep.line_endings_normalised else ""
            e = new_entry(source, d, name, sha, size, outcome,
                          f"{loaded} rows loaded into staging.{table.table}, {bad} quarantined{note}",
                          prep.encoding, read, loaded, bad, table.table, samples)
            write_ledger(con, e)
            drop_temp_tables(con)
            fault_point("ingest.before_commit")
            t_commit, cpu_commit = time.perf_counter(), time.process_time()
            con.execute("COMMIT")
            phases["commit"] = time.perf_counter() - t_commit
            cpu["commit"] = time.process_time() - cpu_commit
            log.debug("ingested %s %s: %d rows in %.3f s (%s)", source, name, read, time.perf_counter() - t_file,
                      ", ".join(f"{k} {v:.3f} s" for k, v in phases.items()))
            log.debug("ingest cpu %s %s: %s", source, name, ", ".join(f"{k} {v:.3f} s" for k, v in cpu.items()))
        except FileRejected as exc:
            con.execute("ROLLBACK")
            e = new_entry(source, d, name, sha, size, "rejected", str(exc), prep.encoding, table=table.table,
                          samples=[(None, exc.column, str(exc))])
            return record(con, e, had_rows, home)
        except BaseException:
            with contextlib.suppress(Exception):  # a fatal DuckDB error may have closed the transaction
                con.execute("ROLLBACK")
            raise
        export_quarantine(con, home, source, d, name, bad)
        return e
    finally:
        with contextlib.suppress(Exception):
            con.execute("SET preserve_insertion_order = false")
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _ingest_zip(con, home, source, d, path: Path) -> list[LedgerEntry]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        prev = previous_load(con, source, d, path.name)
        return [record(con, new_entry(source, d, path.name, sha256_file(path), path.stat().st_size, "rejected",
                                      "not a readable zip archive"), prev is not None, home)]
    out = []
    with archive:
        for member in zip_members(archive, path.name):
            if member.broken is not None:
                prev = previous_load(con, source, d, member.name)
                out.append(record(con, new_entry(source, d, member.name, None, member.size, "rejected",
                                                 member.broken), prev is not None, home))
            elif member.path is None:
                out.append(record(con, new_entry(source, d, member.name, None, member.size, "ignored",
                                                 member.refused), False, home))
            else:
                out.append(ingest_file(con, home, source, d, member.path, name=member.name))
    return out


def ingest_path(con, home, source: str, d: dt.date, path: Path) -> list[LedgerEntry]:
    """One entry of the date folder: a data file, a zip archive (each member), or an ignored entry."""
    try:
        return _ingest_path(con, home, source, d, path)
    except IngestFailed:
        raise
    except Exception as exc:  # e.g. the disk filled while a zip member was extracted
        raise failure(source, d, path.name, exc) from exc


def _ingest_path(con, home, source: str, d: dt.date, path: Path) -> list[LedgerEntry]:
    reason = not_read_because(path)
    if reason:
        prev = previous_load(con, source, d, path.name)
        size = path.stat().st_size if is_regular_file(path) else None
        return [record(con, new_entry(source, d, path.name, None, size, "ignored", reason), prev is not None, home)]
    if is_archive(path):
        return _ingest_zip(con, home, source, d, path)
    return [ingest_file(con, home, source, d, path)]


def ingest_day(con, home, business_date: dt.date, sources: list[str] | None = None) -> IngestReport:
    """Read every file in home.landing/<source>/<D>/ for each source id (docs/CONTRACT.md §3)."""
    if isinstance(business_date, str):
        business_date = dt.date.fromisoformat(business_date)
    sqlfuncs.register(con)
    report = IngestReport(business_date)
    for source in sources or SOURCE_IDS:
        for path in day_entries(home.landing_dir(source, business_date)):
            report.entries.extend(ingest_path(con, home, source, business_date, path))
    return report
