"""Two-phase ingest for many workers: *prepare* one landed file into parquet (any worker, in parallel, no
warehouse), then *register* the day's prepared files into the warehouse (the one writer).

    prepare  landing/<source>/<D>/<entry>  ->  HOME/.stage/<source>/<D>/<entry>--<sha256[:16]>/
             the per-file load of pipelines.ingest.orchestrate (`ingest_path`), run unchanged against a
             scratch DuckDB built by the warehouse's own migrations; every table that load wrote (staging.*,
             raw.*, meta.quarantine_rows, meta.ingestion_ledger, whatever the load writes) is exported as
             <schema>.<table>.parquet beside a manifest.json (row counts, sizes, sha256 of each parquet,
             the landed file's sha256, size and mtime, the schema version, the ledger entries).
             Written into a temp folder and renamed: a stage folder is complete or absent; a rerun
             replaces it.
    register for each landing entry of the day, in the direct path's order (source, file name, zip member):
             `INSERT … SELECT FROM read_parquet` per table plus the ledger row, one transaction per landed
             entry (the direct path's unit too), then the quarantine CSVs; the stage's parquet files are
             then removed (the manifest stays, marked registered).

**Same result as the direct path.** The per-file load reads three things from the warehouse, and a
scratch database is empty: (1) the ledger row of the same file name (a same-sha reload is skipped, a
changed file replaces its earlier rows and is recorded `replaced`); (2) a file of the same source and
date with the same sha256 already loaded (the file is a `duplicate`); (3) staging rows of other files of
the same source and date whose key a row of this file repeats (cross-file duplicates, keyed tables
without history). Register re-checks all three in SQL against the warehouse at register time, in the
direct path's order, and uses the stage only when none applies — the stage is then exactly what the
direct load would write. When one applies (a rerun, a changed file, a repeated export, overlapping keys),
register loads that entry with the direct path itself, in the writer: correct by construction, at the
direct path's cost. Check (3) is exact for a file without quarantined rows (its keys are its staged
rows'); a quarantined row's typed key is not in the stage, so a file with quarantined rows whose table
already holds rows of another file for D is loaded directly (conservative). Entries that are not data
files (subfolders, other endings) are recorded directly: nothing to read.

The CLI keeps the direct path (docs/DEPLOYMENT.md, "Two-phase ingest"): on one machine the stage is an
extra write and read of every row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import duckdb

from pipelines.core.errors import IngestFailed, RunError, UserError
from pipelines.core.faults import fault_point
from pipelines.core.home import Home
from pipelines.core.sql import quote_ident, sha256_file
from pipelines.ingest import sqlfuncs
from pipelines.ingest.catalogue import SOURCE_IDS, load_source
from pipelines.ingest.files import day_entries, not_read_because
from pipelines.ingest.ledger import (
    IngestReport,
    LedgerEntry,
    content_loaded_as,
    export_quarantine,
    previous_load,
)
from pipelines.ingest.orchestrate import ingest_path
from warehouse.db import duckdb_settings
from warehouse.migrate import apply_migrations, current_version

log = logging.getLogger(__name__)

STAGE_DIR = ".stage"
MANIFEST = "manifest.json"
LEDGER_TABLE = "meta.ingestion_ledger"
QUARANTINE_TABLE = "meta.quarantine_rows"
NOT_STAGED = {"meta.schema_migrations"}  # written by the migrations, not by a file's load


class StageError(RunError):
    """A stage folder is missing, incomplete or does not match what it claims (exit 1, names the file)."""


def stage_root(home: Home) -> Path:
    return home.root / STAGE_DIR


def stage_day_dir(home: Home, source: str, d: dt.date) -> Path:
    return stage_root(home) / source / str(d)


def _safe(name: str) -> str:
    return name.replace("/", "__").replace("\\", "__")


def stage_folder(home: Home, source: str, d: dt.date, entry: str, sha256: str) -> Path:
    """HOME/.stage/<source>/<D>/<entry>--<sha256[:16]>: named by source, date and the file's content."""
    return stage_day_dir(home, source, d) / f"{_safe(entry)}--{sha256[:16]}"


# --------------------------------------------------------------------------- which files

def landed_files(home: Home, d: dt.date, sources: list[str] | None = None) -> list[dict]:
    """The day's landed data files to prepare, in the direct path's order: [{"source", "entry"}].
    Entries that are not data files (a subfolder, a hidden file, another ending) are left to register,
    which records them as the direct path does."""
    out = []
    for source in sources or SOURCE_IDS:
        for path in day_entries(home.landing_dir(source, d)):
            if not_read_because(path) is None:
                out.append({"source": source, "entry": path.name})
    return out


# --------------------------------------------------------------------------- prepare

def _scratch_connection(folder: Path, home: Home) -> duckdb.DuckDBPyConnection:
    """A throwaway DuckDB on local disk with the warehouse's schema (the same migrations and checks), with
    the home's DuckDB settings (memory_limit, threads, max_temp_directory_size: HOME/config.yml `duckdb:`,
    each overridden by its environment variable, as the writer has them). It spills into its own scratch
    folder, not the home's temp_directory: the writer clears that folder's spill files when it opens the
    warehouse, and a prepare task runs beside the writer."""
    con = duckdb.connect(str(folder / "scratch.duckdb"), config=duckdb_settings(home.root).connect_config())
    con.execute("SET enable_progress_bar = false")
    con.execute("SET temp_directory = $d", {"d": str(folder / "spill")})
    apply_migrations(con)
    sqlfuncs.register(con)
    return con


def _table_counts(con) -> dict[str, int]:
    tables = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT temporary ORDER BY 1").fetchall()
    counts = {}
    for (name,) in tables:
        schema, table = name.split(".", 1)
        counts[name] = con.execute(
            f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table)}").fetchall()[0][0]  # noqa: S608 - catalogue names, quoted
    return counts


def _entry_json(e: LedgerEntry) -> dict:
    out = asdict(e)
    out["business_date"] = e.business_date.isoformat()
    out["loaded_at"] = e.loaded_at.isoformat()
    out["samples"] = [list(s) for s in e.samples]
    return out


def _entry_from_json(data: dict, loaded_at: dt.datetime | None = None) -> LedgerEntry:
    data = dict(data)
    data["business_date"] = dt.date.fromisoformat(data["business_date"])
    data["loaded_at"] = loaded_at or dt.datetime.fromisoformat(data["loaded_at"])
    data["samples"] = [tuple(s) for s in data.get("samples") or []]
    return LedgerEntry(**data)


def prepare_file(home: Home, source: str, d: dt.date, entry: str) -> dict:
    """Prepare landing/<source>/<d>/<entry> (a data file or a zip archive) into its stage folder without
    opening the warehouse. Returns a summary (stage folder relative to HOME, entries, rows, seconds).
    Bad content is recorded in the stage as the direct path records it (rejected, quarantined rows);
    out of memory, a full disk or a bug raise IngestFailed naming the file."""
    if isinstance(d, str):
        d = dt.date.fromisoformat(d)
    t0 = time.perf_counter()
    path = home.landing_dir(source, d) / entry
    where = f"landing/{source}/{d}/{entry}"
    if not path.is_file():
        raise UserError(f"prepare {where}: no such file")
    reason = not_read_because(path)
    if reason:
        raise UserError(f"prepare {where}: not a data file ({reason})")
    st = path.stat()
    sha = sha256_file(path)
    final = stage_folder(home, source, d, entry, sha)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{_safe(entry)}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    scratch = Path(tempfile.mkdtemp(prefix="mm_prepare_"))
    try:
        con = _scratch_connection(scratch, home)
        try:
            before = _table_counts(con)
            entries = ingest_path(con, Home(scratch / "home"), source, d, path)
            after = _table_counts(con)
            tables = {}
            for name, n in after.items():
                if name in NOT_STAGED or n == before.get(name, 0):
                    continue
                if before.get(name, 0):
                    raise RunError(f"prepare {where}: table {name} held rows before the load; cannot stage it")
                target = tmp / f"{name}.parquet"
                schema, table = name.split(".", 1)
                con.execute(f"COPY (SELECT * FROM {quote_ident(schema)}.{quote_ident(table)}) TO "  # noqa: S608 - catalogue names, quoted; path bound
                            "$p (FORMAT parquet, COMPRESSION zstd)", {"p": str(target)})
                tables[name] = {"file": target.name, "rows": n, "bytes": target.stat().st_size,
                                "sha256": sha256_file(target)}
            version = current_version(con)
        finally:
            con.close()
    except (IngestFailed, UserError):
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise IngestFailed(f"prepare {where} failed: {type(exc).__name__}: {exc}; nothing was staged",
                           file=where) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    manifest = {
        "source": source, "business_date": d.isoformat(), "entry": entry, "sha256": sha,
        "size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "schema_version": version,
        "tables": tables, "entries": [_entry_json(e) for e in entries], "registered": False,
        "prepared_at": dt.datetime.now().astimezone().isoformat(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    fault_point("prepare.before_swap")
    _swap_in(tmp, final)
    return {"source": source, "entry": entry, "business_date": d.isoformat(), "sha256": sha,
            "stage": str(final.relative_to(home.root)), "files": len(entries),
            "rows_read": sum(e.rows_read for e in entries), "seconds": manifest["seconds"]}


def _swap_in(tmp: Path, final: Path) -> None:
    """Put a complete stage folder in place: rename over nothing, or move the old one aside first."""
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


# --------------------------------------------------------------------------- register

def read_manifest(folder: Path, where: str) -> dict:
    """The stage's manifest, and every parquet it names present with its size (StageError otherwise)."""
    mpath = folder / MANIFEST
    if not folder.is_dir():
        raise StageError(f"register {where}: its stage {folder} is missing (prepared on another machine "
                         "without the shared home folder, or removed); rerun prepare for it")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StageError(f"register {where}: stage manifest {mpath} is unreadable ({exc}); rerun prepare") from None
    if not manifest.get("registered"):
        for name, info in manifest["tables"].items():
            p = folder / info["file"]
            if not p.is_file():
                raise StageError(f"register {where}: stage file {p} ({name}) is missing; rerun prepare")
            if p.stat().st_size != info["bytes"] or sha256_file(p) != info["sha256"]:
                raise StageError(f"register {where}: stage file {p} ({name}) is corrupt (size or sha256 differ "
                                 "from its manifest); rerun prepare")
    return manifest


def _direct(con, home, source, d, path, why: str) -> list[LedgerEntry]:
    log.info("register %s/%s/%s: loaded directly (%s)", source, d, path.name, why)
    return ingest_path(con, home, source, d, path)


def _needs_direct(con, folder: Path, manifest: dict, source: str, d: dt.date) -> str | None:
    """Why the stage would not equal the direct path's result against the warehouse as it is now, or None."""
    tables = {t.table: t for t in load_source(source).tables}
    for e in manifest["entries"]:
        name = e["file_name"]
        if previous_load(con, source, d, name) is not None:
            return f"{name} is already in the ledger (rerun or changed file)"
        if e["sha256"] and e["outcome"] != "ignored" and content_loaded_as(con, source, d, e["sha256"], name):
            return f"{name}: the same content is already loaded under another name"
        table = tables.get(e.get("table") or "")
        if e["outcome"] != "loaded" or table is None or not table.key or table.history:
            continue
        qt = f"staging.{quote_ident(table.table)}"
        others = con.execute(f"SELECT EXISTS (SELECT 1 FROM {qt} WHERE _business_date = $d)",  # noqa: S608 - identifier from the source yml, quoted
                             {"d": d}).fetchall()[0][0]
        if not others:
            continue
        if e["rows_quarantined"]:
            return f"{name}: quarantined rows may repeat keys of another file of {d}"
        staged = manifest["tables"].get(f"staging.{table.table}")
        if staged is None:
            continue
        on = " AND ".join(f"w.{quote_ident(k)} = s.{quote_ident(k)}" for k in table.key)
        overlap = con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {qt} w SEMI JOIN read_parquet($p) s ON {on} "  # noqa: S608 - identifiers from the source yml, quoted; values bound
            "WHERE w._business_date = $d AND s._file_name = $f)",
            {"p": str(folder / staged["file"]), "d": d, "f": name}).fetchall()[0][0]
        if overlap:
            return f"{name}: repeats keys already loaded from another file of {d}"
    return None


def _insert_stage(con, folder: Path, manifest: dict, where: str) -> list[LedgerEntry]:
    """Insert every staged table and the ledger rows in one transaction; returns the ledger entries."""
    loaded_at = dt.datetime.now().replace(microsecond=0)
    entries = [_entry_from_json(e, loaded_at) for e in manifest["entries"]]
    con.execute("SET preserve_insertion_order = true")
    con.execute("BEGIN TRANSACTION")
    try:
        for name, info in manifest["tables"].items():
            schema, table = name.split(".", 1)
            target = f"{quote_ident(schema)}.{quote_ident(table)}"
            select = "SELECT * REPLACE (CAST($t AS TIMESTAMP) AS loaded_at)" if name == LEDGER_TABLE else "SELECT *"
            params = {"p": str(folder / info["file"])}
            if name == LEDGER_TABLE:
                params["t"] = loaded_at
            try:
                n = con.execute(f"INSERT INTO {target} BY NAME {select} FROM read_parquet($p)",  # noqa: S608 - catalogue names, quoted; values bound
                                params).fetchall()[0][0]
            except duckdb.Error as exc:
                raise StageError(f"register {where}: stage file {folder / info['file']} ({name}) could not be "
                                 f"loaded: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}; rerun prepare") from exc
            if n != info["rows"]:
                raise StageError(f"register {where}: stage file {folder / info['file']} gave {n} rows for {name}, "
                                 f"its manifest says {info['rows']}; rerun prepare")
        fault_point("register.before_commit")
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise
    finally:
        with contextlib.suppress(Exception):
            con.execute("SET preserve_insertion_order = false")
    return entries


def _mark_registered(folder: Path, manifest: dict) -> None:
    """Free the stage's disk once its rows are in the warehouse; the manifest stays (registered: true)."""
    done = dict(manifest, registered=True, registered_at=dt.datetime.now().astimezone().isoformat())
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(done, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    for info in manifest["tables"].values():
        (folder / info["file"]).unlink(missing_ok=True)


def register_entry(con, home: Home, source: str, d: dt.date, path: Path, stage: Path) -> list[LedgerEntry]:
    """Register one prepared landing entry (see the module docstring for when the direct path is used)."""
    where = f"landing/{source}/{d}/{path.name}"
    manifest = read_manifest(stage, where)
    st = path.stat()
    if manifest["registered"]:
        return _direct(con, home, source, d, path, "stage already registered")
    if (st.st_size, st.st_mtime_ns) != (manifest["size_bytes"], manifest["mtime_ns"]):
        return _direct(con, home, source, d, path, "the landed file changed after prepare")
    version = current_version(con)
    if manifest["schema_version"] != version:
        raise StageError(f"register {where}: prepared with warehouse schema version {manifest['schema_version']}, "
                         f"the warehouse is at {version}; install the same version on every worker and rerun prepare")
    why = _needs_direct(con, stage, manifest, source, d)
    if why:
        entries = _direct(con, home, source, d, path, why)
    else:
        try:
            entries = _insert_stage(con, stage, manifest, where)
        except StageError:
            raise
        except Exception as exc:
            raise IngestFailed(f"register {where} failed: {type(exc).__name__}: {exc}; nothing of it was recorded",
                               file=where) from exc
        for e in entries:  # the quarantine CSVs, as the direct path writes them after its commit
            if e.outcome == "rejected":
                export_quarantine(con, home, source, d, e.file_name, 1)
            elif e.outcome == "loaded":
                export_quarantine(con, home, source, d, e.file_name, e.rows_quarantined)
    _mark_registered(stage, manifest)
    return entries


def register_day(con, home: Home, d: dt.date, prepared: list[dict] | None = None,
                 sources: list[str] | None = None) -> IngestReport:
    """Register the day's prepared files into the warehouse (the writer's connection `con`), in the direct
    path's order. `prepared`: what prepare_file returned for each file (the DAG passes the mapped tasks'
    results); None looks each landed file's stage up by its sha256. A data file nobody prepared (landed
    after the list was taken) is loaded directly, with a warning; a prepared file whose stage is missing or
    corrupt is a StageError naming it."""
    if isinstance(d, str):
        d = dt.date.fromisoformat(d)
    sqlfuncs.register(con)
    given = None if prepared is None else {(p["source"], p["entry"]): p for p in prepared}
    report = IngestReport(d)
    for source in sources or SOURCE_IDS:
        for path in day_entries(home.landing_dir(source, d)):
            if not_read_because(path) is not None:
                report.entries.extend(ingest_path(con, home, source, d, path))
                continue
            if given is None:
                stage = stage_folder(home, source, d, path.name, sha256_file(path))
            elif (source, path.name) in given:
                stage = home.root / given[(source, path.name)]["stage"]
            else:
                log.warning("register: landing/%s/%s/%s was not prepared (landed after the list was taken); "
                            "loading it directly", source, d, path.name)
                report.entries.extend(ingest_path(con, home, source, d, path))
                continue
            report.entries.extend(register_entry(con, home, source, d, path, stage))
    return report


def stage_and_register(con, home: Home, d: dt.date, sources: list[str] | None = None) -> IngestReport:
    """prepare_file for every landed file of the day, then register_day: the two phases in one process
    (tests, and a measure of what the stage costs against the direct path)."""
    if isinstance(d, str):
        d = dt.date.fromisoformat(d)
    prepared = [prepare_file(home, f["source"], d, f["entry"]) for f in landed_files(home, d, sources)]
    return register_day(con, home, d, prepared, sources)


def main(argv: list[str] | None = None) -> int:
    """`python -m pipelines.ingest.stage --home H --date D [--direct]`: ingest one day of a home (its warehouse
    must not hold the day yet) by prepare + register in this process, or by the direct path; prints the wall and
    CPU seconds of each phase (docs/DEPLOYMENT.md, "Two-phase ingest")."""
    import argparse
    import resource

    from warehouse.db import connect_writer

    parser = argparse.ArgumentParser(prog="python -m pipelines.ingest.stage", description=main.__doc__)
    parser.add_argument("--home", required=True)
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--direct", action="store_true", help="the direct path (ingest_day) instead")
    args = parser.parse_args(argv)
    home = Home.resolve(args.home)

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    phases = {}
    if args.direct:
        from pipelines.ingest.orchestrate import ingest_day

        w, c = time.perf_counter(), cpu()
        con = connect_writer(home.db_path)
        try:
            report = ingest_day(con, home, args.date)
        finally:
            con.close()
        phases["direct"] = (time.perf_counter() - w, cpu() - c)
    else:
        w, c = time.perf_counter(), cpu()
        prepared = [prepare_file(home, f["source"], args.date, f["entry"]) for f in landed_files(home, args.date)]
        phases["prepare"] = (time.perf_counter() - w, cpu() - c)
        w, c = time.perf_counter(), cpu()
        con = connect_writer(home.db_path)
        try:
            report = register_day(con, home, args.date, prepared)
        finally:
            con.close()
        phases["register"] = (time.perf_counter() - w, cpu() - c)
    print(f"{args.date}: {len(report.entries)} file(s), {report.rows_loaded} rows loaded, "
          f"{report.rows_quarantined} quarantined; " + "; ".join(
              f"{k} {wall:.2f} s wall, {cpu_s:.2f} s CPU" for k, (wall, cpu_s) in phases.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
