"""The manifest of a mart: HOME/marts/_manifests/<mart>.json (docs/CONTRACT.md §1).

    {"mart", "schema_version", "pipeline_version", "partition_key": "dt",
     "columns": [{name, type}],                       # the schema of the latest publish
     "partitions": {"<D>": {"rows", "sha256", "file", "schema_version", "columns": [{name, type}]}}}

Each partition keeps the schema it was written with, so a reader (and the next publish) knows whether
the mart's partitions agree. They must: pyarrow, pandas and Spark silently drop the columns of a
partition that others lack, Polars fails, Spark fails on a widened type. A publish whose columns
(names, types, order) differ from the mart's other partitions is refused (`check_schema`) unless the
history is rewritten with it (`market-monitor republish`, pipelines/run/republish.py).

Homes published before 0.2.0 keep the manifest inside the mart folder (marts/<mart>/_manifest.json),
where globs and Polars read it as data; `migrate_legacy_manifest` moves it, content unchanged, at the
next publish. Its partitions carry no columns of their own: they count as having the mart's columns.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa

from pipelines.core.errors import RunError
from pipelines.core.home import PART_NAME, PARTITION_PREFIX, Home

log = logging.getLogger(__name__)


def columns_of(schema: pa.Schema) -> list[dict]:
    """[{name, type}] of a written partition's schema (pyarrow type names; `dt` is the folder, not a column)."""
    return [{"name": f.name, "type": str(f.type)} for f in schema if f.name != "dt"]


def write_json_atomically(path: Path, payload: dict) -> None:
    """Write beside (a hidden name in the same folder), fsync, rename over: readers see old or new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as fh:
            fh.write((json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def migrate_legacy_manifest(home: Home, mart: str) -> None:
    """Move marts/<mart>/_manifest.json (before 0.2.0) to marts/_manifests/<mart>.json, content unchanged.
    When both exist the new one was written later and wins; the old one is removed either way."""
    legacy = home.legacy_manifest_path(mart)
    if not legacy.exists():
        return
    target = home.manifest_path(mart)
    if target.exists():
        legacy.unlink()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(legacy, target)  # same filesystem: one rename, the content is not rewritten
    log.info("manifest of %s moved from %s to %s", mart, legacy, target)


def read_manifest(home: Home, mart: str) -> dict:
    """The mart's manifest ({} when nothing was published yet), after moving a legacy one into place."""
    migrate_legacy_manifest(home, mart)
    path = home.manifest_path(mart)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunError(f"mart {mart}: its manifest {path} is not valid JSON ({exc}); restore it from a backup "
                       f"or delete it and run `market-monitor republish --mart {mart}`") from exc


def partition_schemas(manifest: dict) -> dict[str, tuple[int | None, list[dict]]]:
    """{date: (schema_version, columns)} of every partition; a legacy entry has the mart-level ones."""
    mart_version, mart_columns = manifest.get("schema_version"), manifest.get("columns", [])
    return {day: (entry.get("schema_version", mart_version), entry.get("columns", mart_columns))
            for day, entry in manifest.get("partitions", {}).items()}


def describe_difference(old: list[dict], new: list[dict]) -> str:
    """`added x (int64); removed y; retyped z a -> b; reordered` between two column lists."""
    o = {c["name"]: c["type"] for c in old}
    n = {c["name"]: c["type"] for c in new}
    parts = []
    if added := [f"{c} ({n[c]})" for c in n if c not in o]:
        parts.append("added " + ", ".join(added))
    if removed := [f"{c} ({o[c]})" for c in o if c not in n]:
        parts.append("removed " + ", ".join(removed))
    if retyped := [f"{c} {o[c]} -> {n[c]}" for c in n if c in o and o[c] != n[c]]:
        parts.append("retyped " + ", ".join(retyped))
    if not parts and [c["name"] for c in old] != [c["name"] for c in new]:
        parts.append("columns reordered")
    return "; ".join(parts)


def _dates_text(days: list[str]) -> str:
    days = sorted(days)
    if len(days) <= 6:
        return ", ".join(f"{PARTITION_PREFIX}{d}" for d in days)
    return f"{PARTITION_PREFIX}{days[0]} … {PARTITION_PREFIX}{days[-1]} ({len(days)} partitions)"


def schema_conflicts(manifest: dict, columns: list[dict], skip: set[str]) -> dict[str, list[str]]:
    """{difference text: [dates]} of the partitions (other than `skip`) whose columns differ from `columns`."""
    out: dict[str, list[str]] = {}
    for day, (_version, theirs) in sorted(partition_schemas(manifest).items()):
        if day in skip or theirs == columns:
            continue
        out.setdefault(describe_difference(theirs, columns), []).append(day)
    return out


class SchemaChangeRefused(RunError):
    """A partition whose columns differ from the mart's published ones (fix: `market-monitor republish`)."""


def check_schema(home: Home, mart: str, run_date: date, schema: pa.Schema) -> None:
    """Refuse (RunError) a partition of `mart` for `run_date` whose columns differ from the mart's other
    published partitions: a column's type never changes in place, and a mart never mixes schemas."""
    columns = columns_of(schema)
    conflicts = schema_conflicts(read_manifest(home, mart), columns, skip={run_date.isoformat()})
    if not conflicts:
        return
    lines = [f"  published {_dates_text(days)} -> this partition: {difference}" for difference, days in conflicts.items()]
    raise SchemaChangeRefused(
        f"publish of mart {mart} for {PARTITION_PREFIX}{run_date} refused: its schema differs from the published "
        f"partitions\n" + "\n".join(lines) + "\n"
        "A mart never mixes schemas and a column's type never changes in place. Rewrite the history under the "
        f"current schema with `market-monitor republish --mart {mart}`, then rerun {run_date}.")


def record_partition(home: Home, mart: str, schema_version: int, pipeline_version: str,
                     schema: pa.Schema, run_date: date, rows: int, digest: str) -> None:
    """Record one published partition of `mart`: its rows, sha256, schema version and columns (`schema` as
    written, see parquet.published_schema), and make them the mart's current ones. No wall-clock times:
    reruns of the same content leave the manifest byte-identical."""
    manifest = read_manifest(home, mart)
    columns = columns_of(schema)
    partitions = {day: {"rows": entry["rows"], "sha256": entry["sha256"], "file": entry.get("file", PART_NAME),
                        "schema_version": version, "columns": cols}
                  for (day, entry), (version, cols)
                  in zip(manifest.get("partitions", {}).items(), partition_schemas(manifest).values(), strict=True)}
    partitions[run_date.isoformat()] = {"rows": rows, "sha256": digest, "file": PART_NAME,
                                        "schema_version": schema_version, "columns": columns}
    write_json_atomically(home.manifest_path(mart), {
        "mart": mart,
        "schema_version": schema_version,
        "pipeline_version": pipeline_version,
        "partition_key": "dt",
        "columns": columns,
        "partitions": dict(sorted(partitions.items())),
    })


def drop_partitions(home: Home, mart: str, days: list[date]) -> None:
    """Remove the entries of deleted partitions (retention)."""
    manifest = read_manifest(home, mart)
    if not manifest:
        return
    parts = manifest.get("partitions", {})
    for day in days:
        parts.pop(day.isoformat(), None)
    manifest["partitions"] = dict(sorted(parts.items()))
    write_json_atomically(home.manifest_path(mart), manifest)
