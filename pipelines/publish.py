"""Publishing mart partitions: write beside, then swap in atomically.

Layout (CONTRACT §1): marts/<mart>/dt=<D>/part-0.parquet and marts/<mart>/_manifest.json.
The new file is written as a hidden temp file inside dt=<D>/ (pyarrow and DuckDB skip names
starting with '.' or '_'), flushed, then os.replace()d over part-0.parquet: a reader opens either
the old file or the new one, never a mix, and a crash leaves at most a hidden temp file, which the
next publish removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.faults import fault_point

PART_NAME = "part-0.parquet"
MANIFEST = "_manifest.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def publish_partition(mart_dir: Path, run_date: date, table: pa.Table) -> tuple[int, str]:
    """Atomically replace marts/<mart>/dt=<run_date>/part-0.parquet with `table` (dt column excluded)."""
    if "dt" in table.column_names:
        table = table.drop(["dt"])
    partition = mart_dir / f"dt={run_date.isoformat()}"
    partition.mkdir(parents=True, exist_ok=True)
    for leftover in partition.glob(".*.tmp-*"):  # a crashed earlier publish
        leftover.unlink(missing_ok=True)
    tmp = partition / f".{PART_NAME}.tmp-{uuid.uuid4().hex}"
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        digest = sha256_of(tmp)
        fault_point("publish.temp_written")
        os.replace(tmp, partition / PART_NAME)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(partition)
    fault_point("publish.swapped")
    return table.num_rows, digest


def update_manifest(mart_dir: Path, mart: str, schema_version: int, pipeline_version: str,
                    schema: pa.Schema, run_date: date, rows: int, digest: str) -> None:
    """Record the mart's columns and each partition's rows and sha256 (no wall-clock times: reruns
    of the same content leave the manifest byte-identical)."""
    path = mart_dir / MANIFEST
    manifest = {}
    if path.exists():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            manifest = {}
    partitions = manifest.get("partitions", {})
    partitions[run_date.isoformat()] = {"rows": rows, "sha256": digest, "file": PART_NAME}
    manifest = {
        "mart": mart,
        "schema_version": schema_version,
        "pipeline_version": pipeline_version,
        "partition_key": "dt",
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema if f.name != "dt"],
        "partitions": dict(sorted(partitions.items())),
    }
    _atomic_write_bytes(path, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
