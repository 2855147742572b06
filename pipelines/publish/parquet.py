"""Publishing mart partitions: write outside the mart, then swap in atomically.

Layout (docs/CONTRACT.md §1, paths from pipelines.core.home.Home): marts/<mart>/dt=<D>/part-0.parquet, the
manifest in marts/_manifests/<mart>.json (pipelines/publish/manifest.py). The new file is written to
marts/.staging/<mart>/ (the same filesystem as the marts), flushed, then os.replace()d over part-0.parquet:
a reader opens either the old file or the new one, never a mix. Nothing but parquet is ever inside a mart
folder, so every reader's glob of it (`<mart>/*/*`, `<mart>/**`, a Polars scan of the folder) sees data
only, even after a crash between write and swap: that leaves a file in .staging, which the next publish
of the mart removes.

Naive timestamps are local Asia/Shanghai time (docs/CONTRACT.md §3 "Values"); the writer stores every
naive timestamp column as `timestamp[us, tz=Asia/Shanghai]`, so no reader has to guess the zone (Spark in
an Asia/Shanghai session would otherwise shift them by 8 hours).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.core.dates import LOCAL_TZ
from pipelines.core.faults import fault_point
from pipelines.core.home import PART_NAME, Home
from pipelines.core.sql import sha256_file
from pipelines.publish.manifest import check_schema, record_partition

LOCAL_TIME_ZONE = LOCAL_TZ.key  # "Asia/Shanghai"


def published_type(kind: pa.DataType) -> pa.DataType:
    """The type a column is written with: a naive timestamp gets the local zone, anything else is kept."""
    if pa.types.is_timestamp(kind) and kind.tz is None:
        return pa.timestamp(kind.unit, tz=LOCAL_TIME_ZONE)
    return kind


def published_schema(schema: pa.Schema) -> pa.Schema:
    """The schema of the written file: `dt` left out (it is the folder), naive timestamps zoned."""
    return pa.schema([pa.field(f.name, published_type(f.type), f.nullable, f.metadata)
                      for f in schema if f.name != "dt"], metadata=schema.metadata)


def published_duckdb_type(duckdb_type: str) -> str:
    """The DuckDB type of a column read back from its parquet file (a naive TIMESTAMP comes back zoned)."""
    return "TIMESTAMP WITH TIME ZONE" if duckdb_type.upper() == "TIMESTAMP" else duckdb_type


def _zone_local_times(column: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(column.type) and column.type.tz is None:
        return pc.assume_timezone(column, timezone=LOCAL_TIME_ZONE, ambiguous="raise", nonexistent="raise")
    return column


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# rows per parquet row group: DuckDB's own row-group size order (122,880) rather than pyarrow's 1M default, because a
# row group is built in memory before it is written: 1M rows of price_anomalies with their evidence text put the
# publish step at the top of the run's memory (docs/BENCHMARKS.md)
ROW_GROUP_ROWS = 262_144


def write_parquet(path: Path, data: pa.Table | pa.RecordBatchReader) -> tuple[int, pa.Schema]:
    """Write `data` (a whole table or a stream of batches; a `dt` column is left out, naive timestamps are
    zoned as local time, see published_schema) to `path` with zstd and statistics; return (rows, schema). A stream is written as it comes, so a mart of millions of rows
    never sits in memory whole. Row groups are cut at exactly ROW_GROUP_ROWS rows whatever the sizes of
    the incoming batches, so the same rows in the same order always give the same bytes."""
    batches = data.to_reader() if isinstance(data, pa.Table) else data
    keep = [i for i, f in enumerate(batches.schema) if f.name != "dt"]
    schema = published_schema(batches.schema)
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
            pending.append(pa.record_batch([_zone_local_times(batch.column(i)) for i in keep], schema=schema))
            pending_rows += batch.num_rows
            rows += batch.num_rows
            while pending_rows >= ROW_GROUP_ROWS:
                flush(ROW_GROUP_ROWS)
        if pending_rows or rows == 0:  # the last group; an empty partition still carries the columns
            flush(pending_rows)
    return rows, schema


def clean_staging(home: Home, mart: str) -> None:
    """Remove what a crashed earlier publish of `mart` left: its staging folder's files, and hidden temp files
    inside partition folders (where versions before 0.2.0 wrote them). Publishing runs as the warehouse's
    one writer, so nothing else is writing there now."""
    staging = home.mart_staging_dir(mart)
    if staging.exists():
        shutil.rmtree(staging)
    for leftover in home.mart_dir(mart).glob("dt=*/.*.tmp-*"):
        leftover.unlink(missing_ok=True)


@dataclass(frozen=True)
class StagedPartition:
    """A partition written to marts/.staging/<mart>/, not yet swapped in."""
    home: Home
    mart: str
    run_date: date
    path: Path
    rows: int
    digest: str
    schema: pa.Schema  # as written (published_schema)


def stage_partition(home: Home, mart: str, run_date: date,
                    table: pa.Table | pa.RecordBatchReader) -> StagedPartition:
    """Write `table` (dt column excluded, naive timestamps zoned) to marts/.staging/<mart>/ and fsync it."""
    staging = home.mart_staging_dir(mart)
    staging.mkdir(parents=True, exist_ok=True)
    tmp = staging / f"{run_date.isoformat()}.{PART_NAME}.tmp-{uuid.uuid4().hex}"
    try:
        rows, schema = write_parquet(tmp, table)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        return StagedPartition(home, mart, run_date, tmp, rows, sha256_file(tmp), schema)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def swap_in(staged: StagedPartition) -> None:
    """Rename the staged file over marts/<mart>/dt=<D>/part-0.parquet (atomic: same filesystem)."""
    partition = staged.home.partition_dir(staged.mart, staged.run_date)
    try:
        fault_point("publish.temp_written")
        partition.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, partition / PART_NAME)
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    _fsync_dir(partition)
    fault_point("publish.swapped")


def discard(staged: StagedPartition) -> None:
    staged.path.unlink(missing_ok=True)


def publish_partition(mart_dir: Path, run_date: date, table: pa.Table | pa.RecordBatchReader,
                      schema_change: bool = False) -> tuple[int, str]:
    """Atomically replace marts/<mart>/dt=<run_date>/part-0.parquet with `table`; return (rows, sha256).
    `mart_dir` is Home.mart_dir(mart). Refused (RunError, nothing written) when the partition's columns
    differ from the mart's other published partitions, unless `schema_change` (a republish of the history,
    pipelines/run/republish.py)."""
    home, mart = Home.of_mart_dir(mart_dir)
    clean_staging(home, mart)
    if not schema_change:
        try:
            check_schema(home, mart, run_date, published_schema(table.schema))
        except BaseException:
            if isinstance(table, pa.RecordBatchReader):
                table.close()  # release the warehouse connection the stream holds
            raise
    staged = stage_partition(home, mart, run_date, table)
    swap_in(staged)
    return staged.rows, staged.digest


def update_manifest(mart_dir: Path, mart: str, schema_version: int, pipeline_version: str,
                    schema: pa.Schema, run_date: date, rows: int, digest: str) -> None:
    """Record the partition just published in the mart's manifest (marts/_manifests/<mart>.json): rows,
    sha256, schema version and columns as written (`schema` may be the candidate's: it is zoned here)."""
    home, _ = Home.of_mart_dir(mart_dir)
    record_partition(home, mart, schema_version, pipeline_version, published_schema(schema), run_date, rows, digest)
