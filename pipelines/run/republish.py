"""`market-monitor republish --mart M [--start D1 --end D2]`: rewrite a mart's history under its current schema.

A mart never mixes schemas (pipelines/publish/manifest.py): when a new version changes a mart's columns,
the daily publish of that mart is refused until its published history is rewritten. For each published
date D of the mart (within --start/--end) this runs the daily stages for D from the warehouse — compute,
gate, and a publish restricted to the mart, which must pass the same blocking checks as the daily one —
and writes the new partition to marts/.staging/. Only when every date has passed are the partitions
swapped in (each atomically) and the manifest and meta.published_partitions updated; a date that fails
leaves every published partition as it was. Refused, before anything is computed, when the warehouse
cannot rebuild a date (it did not publish it, or holds no loaded data up to it), and, before anything is
swapped, when the partitions outside the chosen range would keep another schema.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from expectations.gate import guarding_suites
from indicators import candidates
from indicators.compute import day_lineage, mart_catalogue, pipeline_version
from pipelines.core.errors import QualityGateFailed, UserError
from pipelines.core.home import PARTITION_PREFIX, Home
from pipelines.publish.dictionary import after_publish
from pipelines.publish.manifest import (
    columns_of,
    describe_difference,
    partition_schemas,
    read_manifest,
    record_partition,
)
from pipelines.publish.parquet import StagedPartition, clean_staging, discard, stage_partition, swap_in

# the daily run's own stage functions and publish rules, so a republished partition is built and gated
# exactly as the daily run builds and gates it
from pipelines.run.daily import (
    UnauditedWrite,
    compute,
    gate,
    new_run_id,
    publish_mart,
    stage_record,
    writer,
)
from warehouse.db import python_memory_headroom

log = logging.getLogger(__name__)


@dataclass
class RepublishResult:
    mart: str
    schema_version: int
    rows: dict[date, tuple[int | None, int]] = field(default_factory=dict)  # date -> (rows before, rows now)


def published_dates(home: Home, mart: str, start: date | None = None, end: date | None = None) -> list[date]:
    """The dates of the mart's partition files, oldest first, within [start, end]."""
    days = [date.fromisoformat(f.parent.name[len(PARTITION_PREFIX):]) for f in home.partition_files(mart)]
    return [d for d in days if (start is None or d >= start) and (end is None or d <= end)]


def _refuse_unbuildable(con, mart: str, days: list[date]) -> None:
    """The warehouse rebuilds D only if it published D (meta.published_partitions) and holds loaded data
    of D or earlier (the ingestion ledger)."""
    problems = con.execute(
        "SELECT d, NOT EXISTS (SELECT 1 FROM meta.published_partitions p WHERE p.mart = $m AND p.dt = d), "
        "NOT EXISTS (SELECT 1 FROM meta.ingestion_ledger l WHERE l.business_date <= d AND l.rows_loaded > 0) "
        "FROM unnest($days::DATE[]) AS t(d) ORDER BY d",
        {"m": mart, "days": days},
    ).fetchall()
    lines = []
    for day, unpublished, no_data in problems:
        if unpublished:
            lines.append(f"  {PARTITION_PREFIX}{day}: this warehouse did not publish it (no row in "
                         "meta.published_partitions; run `market-monitor run --date "
                         f"{day}` first, or restore the warehouse that published it)")
        elif no_data:
            lines.append(f"  {PARTITION_PREFIX}{day}: the ingestion ledger holds no loaded file dated on or "
                         "before it (its source data is not in this warehouse)")
    if lines:
        raise UserError(f"republish {mart}: the warehouse cannot rebuild these partitions; nothing was "
                        "changed:\n" + "\n".join(lines) + "\nNarrow --start/--end to the dates it can rebuild.")


def _refuse_mixed(home: Home, mart: str, staged: list[StagedPartition]) -> None:
    """Every republished partition has one schema, and so do the partitions left out of the range."""
    columns = columns_of(staged[0].schema)
    chosen = {s.run_date.isoformat() for s in staged}
    others: dict[str, list[str]] = {}
    for s in staged[1:]:
        if columns_of(s.schema) != columns:
            others.setdefault(describe_difference(columns, columns_of(s.schema)), []).append(s.run_date.isoformat())
    for day, (_version, theirs) in sorted(partition_schemas(read_manifest(home, mart)).items()):
        if day not in chosen and theirs != columns:
            others.setdefault(describe_difference(theirs, columns), []).append(day)
    if others:
        lines = [f"  {', '.join(PARTITION_PREFIX + d for d in days)}: {diff}" for diff, days in others.items()]
        raise UserError(f"republish {mart}: the mart would be left with more than one schema; nothing was "
                        "changed. Partitions outside the chosen dates differ from the new schema:\n"
                        + "\n".join(lines) + "\nWiden --start/--end to include them (or omit both).")


def _stage_gated(c, home: Home, mart: str, day: date, run_id: str, suites: list[str]) -> StagedPartition:
    """The daily publish's rule for one mart (pipelines.run.daily.publish_mart): its guarding suites passed,
    its own suite ran, and what is written is the batch the gate validated; written to staging only."""

    def stage(reader):
        staged = stage_partition(home, mart, day, reader)
        return staged.rows, staged

    try:
        candidates.check(c, run_id, day, "publish")
        try:
            with python_memory_headroom(c):
                outcome = publish_mart(c, mart, day, run_id, stage, suites=suites)
        except UnauditedWrite as exc:
            discard(exc.written)
            raise QualityGateFailed(f"republish {mart}: {PARTITION_PREFIX}{day}: {exc}; nothing was changed") from exc
        if outcome.failed:
            raise QualityGateFailed(f"republish {mart}: {PARTITION_PREFIX}{day} failed its blocking checks; "
                                    "nothing was changed:\n  " + "\n  ".join(outcome.failed))
        return outcome.written
    finally:
        candidates.release(c, run_id)  # the next date's compute claims the work tables


def republish(home: Home, mart: str, start: date | None = None, end: date | None = None, con=None,
              wait_seconds: float = 0.0, triggered_by: str = "republish",
              progress: Callable[[str], None] | None = None) -> RepublishResult:
    """Recompute, gate and rewrite every published partition of `mart` within [start, end]; all or nothing."""
    catalogue = mart_catalogue()["marts"]
    if mart not in catalogue:
        raise UserError(f"republish: no mart {mart!r}; the marts are: {', '.join(catalogue)}")
    if start and end and end < start:
        raise UserError(f"republish: --end {end} is before --start {start}")
    spec = catalogue[mart]
    days = published_dates(home, mart, start, end)
    if not days:
        chosen = f" between {start or 'the first'} and {end or 'the last'} date" if start or end else ""
        raise UserError(f"republish: mart {mart} has no published partition{chosen} under {home.mart_dir(mart)}")
    if not home.db_path.exists():
        raise UserError(f"republish {mart}: no warehouse at {home.db_path} to rebuild the partitions from")
    result = RepublishResult(mart, int(spec["schema_version"]))
    before = {day: entry.get("rows") for day, entry in read_manifest(home, mart).get("partitions", {}).items()}
    suites_of_mart = guarding_suites(mart, day_lineage(marts=catalogue))
    with writer(home, con, wait_seconds=wait_seconds) as c:
        _refuse_unbuildable(c, mart, days)
        clean_staging(home, mart)
        staged: list[StagedPartition] = []
        run_ids: dict[date, str] = {}
        try:
            for day in days:
                run_ids[day] = run_id = new_run_id(day)
                compute(home, day, run_id, con=c, triggered_by=triggered_by)
                gate(home, day, run_id, con=c, triggered_by=triggered_by)
                staged.append(_stage_gated(c, home, mart, day, run_id, suites_of_mart))
                if progress:
                    progress(f"{mart} {PARTITION_PREFIX}{day}: rebuilt and gated ({staged[-1].rows} rows)")
            _refuse_mixed(home, mart, staged)
            for s in staged:
                with stage_record(c, run_ids[s.run_date], s.run_date, "publish", triggered_by):
                    swap_in(s)
                    record_partition(home, mart, result.schema_version, pipeline_version(), s.schema,
                                     s.run_date, s.rows, s.digest)
                    c.execute(
                        "INSERT OR REPLACE INTO meta.published_partitions VALUES ($m, $d, $n, $h, $v, $r, $t)",
                        {"m": mart, "d": s.run_date, "n": s.rows, "h": s.digest, "v": result.schema_version,
                         "r": run_ids[s.run_date], "t": datetime.now().replace(microsecond=0)})
                result.rows[s.run_date] = (before.get(s.run_date.isoformat()), s.rows)
        finally:
            for s in staged:
                discard(s)  # no-op for the ones swapped in
        after_publish(c, home)
    log.info("republished %s: %d partition(s) under schema_version %d", mart, len(result.rows),
             result.schema_version)
    return result
