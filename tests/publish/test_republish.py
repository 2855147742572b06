"""`market-monitor republish`: a home whose marketplace_integrity history was published by an older version
(times without a zone, one column fewer, the manifest inside the mart folder) refuses the new schema at the
daily publish, refuses a republish that would leave two schemas, and after a republish of the whole history
every partition has the current schema and every reader sees every column."""

from __future__ import annotations

import hashlib
import json

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from indicators.compute import mart_catalogue
from pipelines.core.home import Home
from pipelines.publish.manifest import columns_of
from tests.reliability.helpers import D1, D2, cli, copy_home

pytestmark = pytest.mark.slow
MART = "marketplace_integrity"


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _publish_as_old_version(home: Home, dropped: str) -> None:
    """Rewrite the mart's partitions as version 0.1.0 wrote them, with a 0.1.0 manifest."""
    partitions = {}
    for day in (D1, D2):
        table = pq.read_table(home.partition_file(MART, day))
        table = table.drop_columns([dropped])
        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type) and field.type.tz:
                table = table.set_column(i, field.name, pc.local_timestamp(table.column(i)))
        pq.write_table(table, home.partition_file(MART, day))
        partitions[day.isoformat()] = {"rows": table.num_rows, "sha256": _sha(home.partition_file(MART, day)),
                                       "file": "part-0.parquet"}
    home.legacy_manifest_path(MART).write_text(json.dumps(
        {"mart": MART, "schema_version": 1, "pipeline_version": "0.1.0", "partition_key": "dt",
         "columns": columns_of(table.schema), "partitions": partitions}), encoding="utf-8")
    home.manifest_path(MART).unlink()


def _files(home: Home) -> dict[str, str]:
    return {day.isoformat(): _sha(home.partition_file(MART, day)) for day in (D1, D2)}


def test_a_schema_change_is_refused_until_the_history_is_republished(template_d1, tmp_path):
    root = copy_home(template_d1, tmp_path / "home")
    home = Home(root)
    done = cli(root, "run", "--date", D2.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    current = pq.read_schema(home.partition_file(MART, D2))
    assert current.field("concentrate_window_first_at").type == pa.timestamp("us", tz="Asia/Shanghai")
    dropped = current.names[-1]
    _publish_as_old_version(home, dropped)
    old = _files(home)

    # the daily publish refuses the new schema, naming the mart, the dates and the columns
    done = cli(root, "run", "--date", D2.isoformat())
    assert done.returncode == 1, done.stderr[-3000:]
    for expected in (f"mart {MART}", f"dt={D1}", f"added {dropped}",
                     "retyped concentrate_window_first_at timestamp[us] -> timestamp[us, tz=Asia/Shanghai]",
                     f"market-monitor republish --mart {MART}"):
        assert expected in done.stderr, (expected, done.stderr[-3000:])
    assert "Traceback" not in done.stderr
    assert _files(home) == old, "a refused partition was written"
    assert not home.legacy_manifest_path(MART).exists() and home.manifest_path(MART).exists()  # moved

    # a republish of D2 alone would leave D1 on the old schema: refused, nothing changed
    done = cli(root, "republish", "--mart", MART, "--start", D2.isoformat(), "--end", D2.isoformat())
    assert done.returncode == 2, done.stderr[-3000:]
    assert "more than one schema" in done.stderr and f"dt={D1}" in done.stderr, done.stderr[-3000:]
    assert _files(home) == old

    # the whole history: every partition rewritten under the current schema
    done = cli(root, "republish", "--mart", MART)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads(home.manifest_path(MART).read_text(encoding="utf-8"))
    version = mart_catalogue()["marts"][MART]["schema_version"]
    for day in (D1, D2):
        assert pq.read_schema(home.partition_file(MART, day)).remove_metadata() == current.remove_metadata()
        entry = manifest["partitions"][day.isoformat()]
        assert entry["schema_version"] == version and entry["columns"] == columns_of(current)
        assert entry["sha256"] == _sha(home.partition_file(MART, day))
    folder = str(home.mart_dir(MART))
    rows = {day: entry["rows"] for day, entry in manifest["partitions"].items()}
    frame = pl.scan_parquet(folder, hive_partitioning=True).collect()
    assert dropped in frame.columns and frame.height == sum(rows.values())
    duck = duckdb.sql(f"SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true)")  # noqa: S608 - test path
    assert dropped in duck.columns and len(duck.fetchall()) == sum(rows.values())
    assert pq.read_table(folder).num_columns == len(current) + 1  # + dt

    # and the daily run publishes again
    done = cli(root, "run", "--date", D2.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]


def test_republish_refuses_what_the_warehouse_cannot_rebuild(template_d1, tmp_path):
    root = copy_home(template_d1, tmp_path / "home")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        con.execute("DELETE FROM meta.published_partitions WHERE mart = $m", {"m": MART})
    finally:
        con.close()
    before = _sha(Home(root).partition_file(MART, D1))
    done = cli(root, "republish", "--mart", MART)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"dt={D1}: this warehouse did not publish it" in done.stderr, done.stderr[-3000:]
    assert _sha(Home(root).partition_file(MART, D1)) == before
    done = cli(root, "republish", "--mart", "no_such_mart")
    assert done.returncode == 2 and "no mart 'no_such_mart'" in done.stderr, done.stderr[-3000:]
