"""Publishing mart partitions: write beside, then swap in atomically.

Layout (docs/CONTRACT.md §1, paths from pipelines.core.home.Home): marts/<mart>/dt=<D>/part-0.parquet and marts/<mart>/_manifest.json.
The new file is written as a hidden temp file inside dt=<D>/ (pyarrow and DuckDB skip names
starting with '.' or '_'), flushed, then os.replace()d over part-0.parquet: a reader opens either
the old file or the new one, never a mix, and a crash leaves at most a hidden temp file, which the
next publish removes.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.faults import fault_point
from pipelines.core.home import MANIFEST_NAME, PART_NAME, PARTITION_PREFIX
from pipelines.core.sql import sha256_file


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


# rows per parquet row group: DuckDB's own row-group size order (122,880) rather than pyarrow's 1M default, because a
# row group is built in memory before it is written: 1M rows of price_anomalies with their evidence text put the
# publish step at the top of the run's memory (docs/BENCHMARKS.md)
ROW_GROUP_ROWS = 262_144


def write_parquet(path: Path, data: pa.Table | pa.RecordBatchReader) -> tuple[int, pa.Schema]:
    """Write `data` (a whole table or a stream of batches; a `dt` column is left out) to `path` with zstd
    and statistics; return (rows, schema). A stream is written as it comes, so a mart of millions of rows
    never sits in memory whole. Row groups are cut at exactly ROW_GROUP_ROWS rows whatever the sizes of
    the incoming batches, so the same rows in the same order always give the same bytes."""
    batches = data.to_reader() if isinstance(data, pa.Table) else data
    keep = [i for i, f in enumerate(batches.schema) if f.name != "dt"]
    schema = pa.schema([batches.schema.field(i) for i in keep], metadata=batches.schema.metadata)
    rows = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd", write_statistics=True) as out:

        def flush(n: int) -> None:
            nonlocal pending, pending_rows
            table = pa.Table.from_batches(pending, schema=schema)
            out.write_table(table.slice(0, n), row_group_size=ROW_GROUP_ROWS)
            rest = table.slice(n)
            pending, pending_rows = rest.to_batches(), rest.num_rows

        for batch in batches:
            if batch.num_rows == 0:
                continue
            pending.append(pa.record_batch([batch.column(i) for i in keep], schema=schema))
            pending_rows += batch.num_rows
            rows += batch.num_rows
            while pending_rows >= ROW_GROUP_ROWS:
                flush(ROW_GROUP_ROWS)
        if pending_rows or rows == 0:  # the last group; an empty partition still carries the columns
            flush(pending_rows)
    return rows, schema


def publish_partition(mart_dir: Path, run_date: date, table: pa.Table | pa.RecordBatchReader) -> tuple[int, str]:
    """Atomically replace marts/<mart>/dt=<run_date>/part-0.parquet with `table` (dt column excluded).
    `mart_dir` is Home.mart_dir(mart); the partition folder and file names are Home's layout."""
    partition = mart_dir / f"{PARTITION_PREFIX}{run_date.isoformat()}"
    partition.mkdir(parents=True, exist_ok=True)
    for leftover in partition.glob(".*.tmp-*"):  # a crashed earlier publish
        leftover.unlink(missing_ok=True)
    tmp = partition / f".{PART_NAME}.tmp-{uuid.uuid4().hex}"
    try:
        rows, _schema = write_parquet(tmp, table)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        digest = sha256_file(tmp)
        fault_point("publish.temp_written")
        os.replace(tmp, partition / PART_NAME)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(partition)
    fault_point("publish.swapped")
    return rows, digest


def update_manifest(mart_dir: Path, mart: str, schema_version: int, pipeline_version: str,
                    schema: pa.Schema, run_date: date, rows: int, digest: str) -> None:
    """Record the mart's columns and each partition's rows and sha256 (no wall-clock times: reruns
    of the same content leave the manifest byte-identical)."""
    path = mart_dir / MANIFEST_NAME
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
