"""Housekeeping of a home folder: retention of landing drops, quarantine, reports and old mart
partitions per HOME/config.yml, and checkpoint/compaction of the DuckDB file.

    # HOME/config.yml (every key optional; a missing or null value keeps everything forever)
    retention:
      landing_days: 400       # landing/<source>/<D>/ older than run date - N days is deleted
      quarantine_days: 400    # quarantine/<source>/<D>/
      reports_days: 730       # reports/<D>/
      marts_days: 1095        # marts/<mart>/dt=<D>/ (+ its entry in marts/_manifests/<mart>.json and meta.published_partitions)
      raw_text_days: 90       # personal data as it arrived: the landing/<source>/<D>/ (and .stage/<source>/<D>/) folders of the sources with
                              # free text (the raw record since issue 23: the warehouse keeps no text copy),
                              # meta.quarantine_rows.raw_text and the quarantine/ folders (their files hold
                              # the same lines) of business dates older than N days. Default 90 when the key
                              # is absent; null keeps them for ever (docs/QUALITY.md)
    maintenance:
      compact_free_ratio: 0.3 # rewrite warehouse.duckdb when more than this share of its blocks is free

Retention is relative to the business date of the maintenance run (never the wall clock), so a rerun
of an old date deletes the same things. Only folders whose name is a date are touched. Landing drops
are "never modified" while kept (docs/CONTRACT.md §1); deleting old ones is the deployment's explicit choice.
Writing steps (prune_marts, compact_warehouse) open the warehouse as its one writer.

Command line: `market-monitor maintain --date D [--dry-run]`, or python -m pipelines.run.maintenance --home H --date D [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from pipelines.core.errors import UserError
from pipelines.core.home import PARTITION_PREFIX, Home
from pipelines.core.sql import quote_ident
from pipelines.ingest.catalogue import SOURCE_IDS, load_source
from pipelines.ingest.stage import STAGE_DIR
from pipelines.publish.manifest import drop_partitions
from pipelines.run.daily import writer
from warehouse.db import connect_writer


@dataclass(frozen=True)
class Policy:
    landing_days: int | None = None
    quarantine_days: int | None = None
    reports_days: int | None = None
    marts_days: int | None = None
    compact_free_ratio: float = 0.3
    raw_text_days: int | None = 90  # unmasked text as it arrived: expires unless config.yml says otherwise


def _days(section: dict, key: str) -> int | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"config.yml: retention.{key} must be a whole number of days >= 1 (got {value!r})")
    return value


def load_policy(home: Home) -> Policy:
    if not home.config_file.exists():
        return Policy()
    try:
        data = yaml.safe_load(home.config_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{home.config_file}: not valid YAML: {exc}") from None
    retention = data.get("retention") or {}
    maint = data.get("maintenance") or {}
    if not isinstance(retention, dict) or not isinstance(maint, dict):
        raise UserError(f"{home.config_file}: 'retention' and 'maintenance' must be mappings")
    ratio = maint.get("compact_free_ratio", 0.3)
    if not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
        raise UserError(f"config.yml: maintenance.compact_free_ratio must be between 0 and 1 (got {ratio!r})")
    return Policy(landing_days=_days(retention, "landing_days"),
                  quarantine_days=_days(retention, "quarantine_days"),
                  reports_days=_days(retention, "reports_days"),
                  marts_days=_days(retention, "marts_days"),
                  compact_free_ratio=float(ratio),
                  raw_text_days=_days(retention, "raw_text_days") if "raw_text_days" in retention
                  else Policy.raw_text_days)


def _as_date(name: str) -> date | None:
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _remove_tree(path: Path) -> None:
    """Rename to a hidden name first (readers and globbing ignore dot-folders), then delete."""
    hidden = path.with_name(f".{path.name}.deleting-{uuid.uuid4().hex[:8]}")
    os.replace(path, hidden)
    shutil.rmtree(hidden)


def _old_dated_dirs(parent: Path, cutoff: date, prefix: str = "") -> list[tuple[Path, date]]:
    if not parent.is_dir():
        return []
    out = []
    for child in sorted(parent.iterdir()):
        if not child.is_dir() or not child.name.startswith(prefix):
            continue
        day = _as_date(child.name[len(prefix):])
        if day is not None and day < cutoff:
            out.append((child, day))
    return out


def personal_text_sources() -> set[str]:
    """Sources with a free-text column (complaint narratives, review comments, 违法事实): masked in staging,
    unmasked in their landing files, which the warehouse no longer copies (issue 23)."""
    return {s for s in SOURCE_IDS if any(c.type == "free_text" for t in load_source(s).tables for c in t.columns)}


def prune_landing(home: Home, run_date: date, policy: Policy, dry_run: bool = False) -> dict:
    """Delete landing, quarantine, report and stage (HOME/.stage/<source>/<D>/) folders of business dates older
    than their retention (a stage folder: its landing folder's). The landing and stage folders of the sources with personal text (`personal_text_sources`) are the raw record of
    that text: they are kept no longer than raw_text_days either. Touches only files (no warehouse
    access): safe outside the writer pool."""
    result = {"landing": 0, "quarantine": 0, "reports": 0, "stage": 0, "bytes": 0, "dry_run": dry_run, "deleted": []}
    personal = personal_text_sources()
    plans = [("landing", home.landing, policy.landing_days, True),
             ("quarantine", home.quarantine, _shorter(policy.quarantine_days, policy.raw_text_days), True),
             ("reports", home.reports, policy.reports_days, False),
             # HOME/.stage/<source>/<D>/ of the two-phase ingest: a prepared file never registered keeps its rows
             # and its quarantined lines (raw text) there, so the stage follows its landing folder's retention
             ("stage", home.root / STAGE_DIR, policy.landing_days, True)]
    for kind, root, keep_all, per_source in plans:
        if not root.is_dir():
            continue
        parents = [p for p in sorted(root.iterdir()) if p.is_dir()] if per_source else [root]
        for parent in parents:
            keep = keep_all
            if kind in ("landing", "stage") and parent.name in personal:
                keep = _shorter(keep_all, policy.raw_text_days)
            if keep is None:
                continue
            cutoff = run_date - timedelta(days=keep)
            for folder, _day in _old_dated_dirs(parent, cutoff):
                result["bytes"] += _size(folder)
                result[kind] += 1
                result["deleted"].append(str(folder.relative_to(home.root)))
                if not dry_run:
                    _remove_tree(folder)
    return result


def _shorter(a: int | None, b: int | None) -> int | None:
    """The shorter of two retentions (None: for ever). Quarantine files hold raw lines: raw_text_days caps them."""
    return min(d for d in (a, b) if d is not None) if (a, b) != (None, None) else None


def expire_raw_text(home: Home, run_date: date, policy: Policy, dry_run: bool = False, con=None) -> dict:
    """Clear meta.quarantine_rows.raw_text of business dates before run_date - raw_text_days (the quarantine
    rows keep file, row, column and reason). The staging tables (masked) and the ledger are kept; the
    landing folders holding the same text go in `prune_landing`. (Until migration 006 this also deleted the
    raw.* text copies; the landing file is the raw record now.) Writes the warehouse: run it as the one
    writer. With dry_run, only counts."""
    result = {"days": policy.raw_text_days, "cutoff": None, "quarantine_texts": 0, "dry_run": dry_run}
    if policy.raw_text_days is None or (con is None and not home.db_path.exists()):
        return result
    cutoff = run_date - timedelta(days=policy.raw_text_days)
    result["cutoff"] = cutoff
    with writer(home, con) as c:
        result["quarantine_texts"] = c.execute(
            "SELECT count(*) FROM meta.quarantine_rows WHERE business_date < $d AND raw_text IS NOT NULL",
            {"d": cutoff}).fetchall()[0][0]
        if dry_run or not result["quarantine_texts"]:
            return result
        c.execute("BEGIN TRANSACTION")
        try:
            c.execute("UPDATE meta.quarantine_rows SET raw_text = NULL WHERE business_date < $d AND raw_text IS NOT NULL",
                      {"d": cutoff})
            c.execute("COMMIT")
        except Exception:
            c.execute("ROLLBACK")
            raise
    return result


def prune_marts(home: Home, run_date: date, policy: Policy, dry_run: bool = False, con=None) -> dict:
    """Delete mart partitions dt < run_date - marts_days: the folder, its manifest entry and its
    meta.published_partitions row. Writes the warehouse: run it as the one writer."""
    result = {"partitions": 0, "bytes": 0, "dry_run": dry_run, "deleted": []}
    if policy.marts_days is None or not home.marts.is_dir():
        return result
    cutoff = run_date - timedelta(days=policy.marts_days)
    doomed: list[tuple[str, Path, date]] = []
    for mart_dir in sorted(p for p in home.marts.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for folder, day in _old_dated_dirs(mart_dir, cutoff, prefix=PARTITION_PREFIX):
            doomed.append((mart_dir.name, folder, day))
    for mart, folder, day in doomed:
        result["partitions"] += 1
        result["bytes"] += _size(folder)
        result["deleted"].append(f"{mart}/{PARTITION_PREFIX}{day.isoformat()}")
    if dry_run or not doomed:
        return result
    with writer(home, con) as c:
        c.execute("BEGIN TRANSACTION")
        try:
            c.execute("DELETE FROM meta.published_partitions WHERE dt < $cutoff", {"cutoff": cutoff})
            c.execute("COMMIT")
        except Exception:
            c.execute("ROLLBACK")
            raise
    by_mart: dict[str, list[date]] = {}
    for mart, folder, day in doomed:
        # moved out of the mart folder first, into marts/.staging/<mart>/ (the next publish of the mart removes
        # what a crash leaves there): no glob of the mart ever reads a half-deleted partition
        trash = home.mart_staging_dir(mart) / f"{folder.name}.deleting-{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder, trash)
        shutil.rmtree(trash)
        by_mart.setdefault(mart, []).append(day)
    for mart, days in by_mart.items():
        drop_partitions(home, mart, days)  # marts/_manifests/<mart>.json (a pre-0.2.0 manifest is moved there)
    return result


def _database_size(con) -> dict:
    cols = [d[0] for d in con.execute("PRAGMA database_size").description]
    rows = con.execute("PRAGMA database_size").fetchall()
    return dict(zip(cols, rows[0], strict=True)) if rows else {}


def _table_counts(con, catalog: str) -> dict[str, int]:
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = $c ORDER BY ALL",
        {"c": catalog}).fetchall()
    return {f"{s}.{t}": con.execute(
        f"SELECT count(*) FROM {quote_ident(catalog)}.{quote_ident(s)}.{quote_ident(t)}").fetchall()[0][0]  # noqa: S608 - catalog names quoted by quote_ident
        for s, t in tables}


def compact_warehouse(home: Home, policy: Policy, force: bool = False) -> dict:
    """CHECKPOINT the warehouse (folds the WAL into the file); when more than
    policy.compact_free_ratio of its blocks are free (or `force`), rewrite it into a fresh file with
    COPY FROM DATABASE, check every table's row count matches, and swap it in with os.replace."""
    db = home.db_path
    if not db.exists():
        return {"checkpointed": False, "compacted": False, "reason": "no warehouse yet"}
    con = connect_writer(db)
    fresh = db.with_name(f".{db.name}.compact-{uuid.uuid4().hex[:8]}")
    try:
        con.execute("FORCE CHECKPOINT")
        size = _database_size(con)
        total, free = int(size.get("total_blocks") or 0), int(size.get("free_blocks") or 0)
        ratio = free / total if total else 0.0
        result = {"checkpointed": True, "compacted": False, "bytes_before": db.stat().st_size,
                  "free_ratio": round(ratio, 4)}
        if not (force or ratio > policy.compact_free_ratio):
            result["bytes_after"] = result["bytes_before"]
            return result
        catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute("ATTACH $p AS mm_compact", {"p": str(fresh)})
        con.execute(f"COPY FROM DATABASE {catalog} TO mm_compact")
        before, after = _table_counts(con, catalog), _table_counts(con, "mm_compact")
        con.execute("DETACH mm_compact")
        if before != after:
            raise RuntimeError(f"compaction copy differs from the warehouse ({len(before)} vs {len(after)} tables); "
                               "the original is kept")
        con.close()
        con = None
        os.replace(fresh, db)
        result.update(compacted=True, bytes_after=db.stat().st_size, tables=len(after))
        return result
    finally:
        if con is not None:
            con.close()
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)


def run_maintenance(home: Home, run_date: date, dry_run: bool = False) -> dict:
    policy = load_policy(home)
    out = {"landing": prune_landing(home, run_date, policy, dry_run),
           "marts": prune_marts(home, run_date, policy, dry_run),
           "raw_text": expire_raw_text(home, run_date, policy, dry_run)}
    if not dry_run:
        out["warehouse"] = compact_warehouse(home, policy)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.run.maintenance", description=__doc__.splitlines()[0])
    parser.add_argument("--home")
    parser.add_argument("--date", required=True, type=date.fromisoformat)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    try:
        result = run_maintenance(Home.resolve(args.home), args.date, args.dry_run)
    except UserError as exc:
        print(f"market-monitor: {exc}")
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
