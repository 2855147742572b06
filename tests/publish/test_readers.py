"""The demo home's marts read in the tools analysts use — pyarrow, pandas, Polars, DuckDB — with the row
counts of the manifests, time columns carrying their zone, and nothing but parquet in a mart folder, even
after a publish killed between writing its file and swapping it in (docs/RELIABILITY.md)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from indicators.compute import mart_catalogue
from pipelines.core.home import PART_NAME, Home
from pipelines.publish.parquet import LOCAL_TIME_ZONE, publish_partition

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ZONED_COLUMNS = {"marketplace_integrity": ["concentrate_window_first_at", "concentrate_window_last_at"]}


def _published(home: Home) -> list[str]:
    marts = [m for m in mart_catalogue()["marts"] if home.partition_files(m)]
    assert marts, f"nothing published under {home.marts}"
    return marts


def _manifest_rows(home: Home, mart: str) -> dict[str, int]:
    manifest = json.loads(home.manifest_path(mart).read_text(encoding="utf-8"))
    return {day: entry["rows"] for day, entry in manifest["partitions"].items()}


def _counts(values) -> dict[str, int]:
    return {str(k): n for k, n in sorted(Counter(str(v) for v in values).items())}


def _only_parquet(home: Home, mart: str) -> None:
    files = sorted(p.relative_to(home.mart_dir(mart)).as_posix() for p in home.mart_dir(mart).rglob("*") if p.is_file())
    assert files and all(f.startswith("dt=") and f.endswith("/" + PART_NAME) and f.count("/") == 1 for f in files), \
        f"{mart}: a mart folder must hold only dt=<D>/{PART_NAME}: {files}"


def _read_everywhere(home: Home, mart: str) -> dict[str, dict[str, int]]:
    """{reader: {dt: rows}} for every reader; also checks each reader's type of dt and of the time columns."""
    folder = str(home.mart_dir(mart))
    out = {}
    # pyarrow, plain hive partitioning: dt is inferred as a string
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    assert table.schema.field("dt").type == pa.string()
    out["pyarrow"] = _counts(table.column("dt").to_pylist())
    # pyarrow with the partition schema given: dt is a date
    typed = ds.dataset(folder, format="parquet",
                       partitioning=ds.partitioning(pa.schema([("dt", pa.date32())]), flavor="hive")).to_table()
    assert typed.schema.field("dt").type == pa.date32()
    out["pyarrow typed"] = _counts(typed.column("dt").to_pylist())
    # pandas: dt is a category (of strings)
    frame = pd.read_parquet(folder)
    assert isinstance(frame["dt"].dtype, pd.CategoricalDtype)
    out["pandas"] = _counts(frame["dt"])
    # Polars on the mart folder: dt is a date
    lazy = pl.scan_parquet(folder, hive_partitioning=True)
    assert lazy.collect_schema()["dt"] == pl.Date
    polars = lazy.collect()
    out["polars"] = _counts(polars["dt"].to_list())
    for glob in ("**/*.parquet", "*/*"):
        con = duckdb.connect()
        try:
            rel = con.sql(f"SELECT * FROM read_parquet('{folder}/{glob}', hive_partitioning = true)")  # noqa: S608 - test paths
            assert dict(zip(rel.columns, [str(t) for t in rel.types], strict=True))["dt"] == "DATE"
            rows = con.sql(f"SELECT dt::VARCHAR, count(*) FROM read_parquet('{folder}/{glob}', hive_partitioning = true) "  # noqa: S608 - test paths
                           "GROUP BY ALL ORDER BY 1").fetchall()
            duck_types = dict(zip(rel.columns, [str(t) for t in rel.types], strict=True))
        finally:
            con.close()
        out[f"duckdb {glob}"] = {day: n for day, n in rows}
    # the same columns in every reader, and time columns with their zone everywhere
    assert set(table.column_names) == set(frame.columns) == set(polars.columns) == set(duck_types)
    for name in table.column_names:
        kind = table.schema.field(name).type
        assert not (pa.types.is_timestamp(kind) and kind.tz is None), f"{mart}.{name} is a timestamp without a zone"
    for name in ZONED_COLUMNS.get(mart, []):
        assert table.schema.field(name).type == pa.timestamp("us", tz=LOCAL_TIME_ZONE)
        assert str(frame[name].dtype) == f"datetime64[us, {LOCAL_TIME_ZONE}]"
        assert polars.schema[name] == pl.Datetime("us", LOCAL_TIME_ZONE)
        assert duck_types[name] == "TIMESTAMP WITH TIME ZONE"
    return out


def test_every_mart_reads_alike_in_pyarrow_pandas_polars_and_duckdb(demo_home):
    root, days = demo_home
    home = Home(root)
    assert not list(home.marts.glob("*/_manifest.json")), "a manifest left inside a mart folder"
    for mart in _published(home):
        _only_parquet(home, mart)
        expected = {day: n for day, n in _manifest_rows(home, mart).items() if n}
        assert sorted(_manifest_rows(home, mart)) == [d.isoformat() for d in days], mart
        for reader, counts in _read_everywhere(home, mart).items():
            assert counts == expected, f"{mart} read by {reader}: {counts} != manifest {expected}"


def test_the_time_columns_keep_their_local_wall_clock(demo_home):
    """Zoned, not shifted: the local purchase time of the window's first order reads back unchanged in
    Asia/Shanghai, and as the same instant 8 hours earlier in UTC."""
    home = Home(demo_home[0])
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        glob = home.partition_glob("marketplace_integrity")
        local = con.execute(f"SELECT concentrate_window_first_at::TIMESTAMP, "  # noqa: S608 - test path
                            f"timezone('UTC', concentrate_window_first_at) FROM read_parquet('{glob}') "
                            "WHERE concentrate_window_first_at IS NOT NULL ORDER BY 1 LIMIT 1").fetchall()
    finally:
        con.close()
    assert local, "the demo has no concentrate window: the test would prove nothing"
    (wall, utc), = local
    assert (wall - utc).total_seconds() == 8 * 3600


CRASHING_PUBLISH = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
from datetime import date
from pipelines.core.home import Home
from pipelines.publish.parquet import publish_partition
from pathlib import Path
home, mart, day = Home(Path(sys.argv[1])), sys.argv[2], date.fromisoformat(sys.argv[3])
old = pq.read_table(home.partition_file(mart, day))
publish_partition(home.mart_dir(mart), day, pa.concat_tables([old, old]))  # killed before the swap
"""


def test_a_publish_killed_before_its_swap_leaves_nothing_a_reader_sees(demo_home, tmp_path):
    root, days = demo_home
    home = Home(tmp_path / "home")
    shutil.copytree(Home(root).marts, home.marts)
    mart, day = "indicator_flags", days[-1]
    before = {m: _read_everywhere(home, m) for m in _published(home)}
    env = dict(os.environ, PYTHONPATH=str(REPO), MARKET_MONITOR_FAULT="publish.temp_written")
    done = subprocess.run([sys.executable, "-c", CRASHING_PUBLISH, str(home.root), mart, day.isoformat()],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    leftovers = [p for p in home.staging_dir.rglob("*") if p.is_file()]
    assert leftovers, "the kill should have left the written file in marts/.staging (else this proves nothing)"
    for m in _published(home):
        _only_parquet(home, m)
        assert _read_everywhere(home, m) == before[m], m
        assert all(counts == {d: n for d, n in _manifest_rows(home, m).items() if n} for counts in before[m].values())
    # the next publish of the mart removes the leftover
    table = ds.dataset(home.partition_dir(mart, day), format="parquet").to_table()
    publish_partition(home.mart_dir(mart), day, table)
    assert not [p for p in home.staging_dir.rglob("*") if p.is_file()]
    _only_parquet(home, mart)
