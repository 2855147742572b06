"""Manifests outside the mart folders, one schema per partition, publish refusing a mixed mart, a pre-0.2.0
manifest moved at the next publish, naive timestamps written as Asia/Shanghai time."""

from __future__ import annotations

import json
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.errors import RunError
from pipelines.core.home import PART_NAME, Home
from pipelines.publish.manifest import read_manifest
from pipelines.publish.parquet import publish_partition, update_manifest

D1, D2, D3 = date(2026, 10, 29), date(2026, 10, 30), date(2026, 10, 31)


def _publish(home: Home, mart: str, day: date, table: pa.Table, **kwargs) -> None:
    rows, digest = publish_partition(home.mart_dir(mart), day, table, **kwargs)
    update_manifest(home.mart_dir(mart), mart, 1, "test", table.schema, day, rows, digest)


def _files(home: Home, mart: str) -> list[str]:
    return sorted(p.relative_to(home.marts).as_posix() for p in home.mart_dir(mart).rglob("*") if p.is_file())


def test_manifest_lives_outside_the_mart_and_records_each_partitions_schema(tmp_path):
    home = Home(tmp_path).ensure()
    _publish(home, "m", D1, pa.table({"x": [1, 2], "s": ["a", "b"]}))
    _publish(home, "m", D2, pa.table({"x": [3], "s": ["c"]}))
    assert _files(home, "m") == [f"m/dt={D1}/{PART_NAME}", f"m/dt={D2}/{PART_NAME}"]
    manifest = json.loads(home.manifest_path("m").read_text(encoding="utf-8"))
    assert home.manifest_path("m") == tmp_path / "marts" / "_manifests" / "m.json"
    columns = [{"name": "x", "type": "int64"}, {"name": "s", "type": "string"}]
    assert manifest["columns"] == columns and manifest["schema_version"] == 1
    assert {d: (p["rows"], p["schema_version"], p["columns"]) for d, p in manifest["partitions"].items()} == {
        D1.isoformat(): (2, 1, columns), D2.isoformat(): (1, 1, columns)}


@pytest.mark.parametrize(("table", "expected"), [
    (pa.table({"x": [1], "s": ["a"], "extra": [1.5]}), "added extra (double)"),
    (pa.table({"x": [1]}), "removed s (string)"),
    (pa.table({"x": pa.array([1], pa.int32()), "s": ["a"]}), "retyped x int64 -> int32"),
    (pa.table({"s": ["a"], "x": [1]}), "columns reordered"),
])
def test_a_partition_with_another_schema_is_refused_and_nothing_changes(tmp_path, table, expected):
    home = Home(tmp_path).ensure()
    _publish(home, "m", D1, pa.table({"x": [1, 2], "s": ["a", "b"]}))
    _publish(home, "m", D2, pa.table({"x": [3], "s": ["c"]}))
    before = (_files(home, "m"), home.manifest_path("m").read_bytes())
    with pytest.raises(RunError) as refused:
        publish_partition(home.mart_dir("m"), D3, table.to_reader())
    message = str(refused.value)
    assert "mart m" in message and f"dt={D3}" in message and f"dt={D1}, dt={D2}" in message
    assert expected in message and "market-monitor republish --mart m" in message
    assert (_files(home, "m"), home.manifest_path("m").read_bytes()) == before
    assert not [p for p in home.staging_dir.rglob("*") if p.is_file()]
    # replacing a partition is judged against the others, and a republish may change the schema
    with pytest.raises(RunError):
        publish_partition(home.mart_dir("m"), D2, table)
    _publish(home, "m", D1, table, schema_change=True)
    assert pq.read_schema(home.partition_file("m", D1)).names == table.column_names


def test_a_legacy_manifest_is_moved_at_the_next_publish_with_its_content(tmp_path):
    home = Home(tmp_path).ensure()
    legacy = {"mart": "m", "schema_version": 1, "pipeline_version": "0.1.0", "partition_key": "dt",
              "columns": [{"name": "x", "type": "int64"}],
              "partitions": {D1.isoformat(): {"rows": 2, "sha256": "abc", "file": PART_NAME}}}
    pq.write_table(pa.table({"x": [1, 2]}), home.partition_dir("m", D1).mkdir(parents=True) or home.partition_file("m", D1))
    home.legacy_manifest_path("m").write_text(json.dumps(legacy), encoding="utf-8")
    (home.partition_dir("m", D1) / f".{PART_NAME}.tmp-0123").write_bytes(b"half")  # left by a 0.1.0 crash
    # a partition with the legacy partitions' columns (the mart-level ones) is accepted
    _publish(home, "m", D2, pa.table({"x": [3]}))
    assert not home.legacy_manifest_path("m").exists()
    assert _files(home, "m") == [f"m/dt={D1}/{PART_NAME}", f"m/dt={D2}/{PART_NAME}"]
    moved = read_manifest(home, "m")
    assert moved["partitions"][D1.isoformat()] == {"rows": 2, "sha256": "abc", "file": PART_NAME,
                                                   "schema_version": 1, "columns": legacy["columns"]}
    assert moved["partitions"][D2.isoformat()]["rows"] == 1
    # and one with other columns is refused against the legacy partition
    with pytest.raises(RunError, match=f"dt={D1}, dt={D2} -> this partition: added y"):
        publish_partition(home.mart_dir("m"), D3, pa.table({"x": [4], "y": [1]}))


def test_naive_timestamps_are_written_as_asia_shanghai_time(tmp_path):
    home = Home(tmp_path).ensure()
    local = datetime(2026, 10, 29, 10, 30)
    _publish(home, "m", D1, pa.table({"at": pa.array([local, None], pa.timestamp("us")),
                                       "utc": pa.array([local, None], pa.timestamp("us", tz="UTC"))}))
    table = pq.read_table(home.partition_file("m", D1))
    assert table.schema.field("at").type == pa.timestamp("us", tz="Asia/Shanghai")
    assert table.schema.field("utc").type == pa.timestamp("us", tz="UTC")  # already zoned: left alone
    first = table.column("at")[0].as_py()
    assert first.replace(tzinfo=None) == local and first.utcoffset().total_seconds() == 8 * 3600
    columns = read_manifest(home, "m")["partitions"][D1.isoformat()]["columns"]
    assert columns[0] == {"name": "at", "type": "timestamp[us, tz=Asia/Shanghai]"}
