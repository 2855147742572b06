"""Retention and warehouse housekeeping (pipelines.run.maintenance, the market_maintenance DAG)."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pyarrow as pa
import pytest

from pipelines.core.errors import UserError
from pipelines.core.home import Home
from pipelines.run.maintenance import Policy, compact_warehouse, load_policy, prune_landing, prune_marts

RUN = date(2026, 11, 30)


def make_home(tmp_path) -> Home:
    home = Home(tmp_path).ensure()
    for source in ("olist", "registry"):
        for day in ("2026-10-01", "2026-11-01", "2026-11-29"):
            folder = home.landing_dir(source, day)
            folder.mkdir(parents=True)
            (folder / "drop.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (home.landing / "olist" / "README").mkdir()  # not a date: never touched
    home.quarantine_dir("olist", "2026-10-01").mkdir(parents=True)
    for source, day in (("registry", "2026-10-01"), ("registry", "2026-11-29"), ("olist", "2026-10-01")):
        stage = home.root / ".stage" / source / day / "drop.csv--0123456789abcdef"  # a prepared file (two-phase ingest)
        stage.mkdir(parents=True)
        (stage / "manifest.json").write_text("{}", encoding="utf-8")
    for day in ("2026-10-01", "2026-11-29"):
        (home.reports / day).mkdir(parents=True)
        (home.reports / day / "bulletin.html").write_text("<html></html>", encoding="utf-8")
    return home


def test_policy_from_config(tmp_path):
    home = Home(tmp_path)
    assert load_policy(home) == Policy()  # no config: keep everything
    home.config_file.write_text("retention:\n  landing_days: 30\n  marts_days: 45\nmaintenance:\n"
                                "  compact_free_ratio: 0.5\n", encoding="utf-8")
    assert load_policy(home) == Policy(landing_days=30, marts_days=45, compact_free_ratio=0.5)
    home.config_file.write_text("retention:\n  landing_days: -3\n", encoding="utf-8")
    with pytest.raises(UserError, match="landing_days"):
        load_policy(home)


def test_no_policy_deletes_nothing(tmp_path):
    home = make_home(tmp_path)
    before = sorted(p for p in tmp_path.rglob("*"))
    result = prune_landing(home, RUN, Policy())
    assert result["landing"] == result["quarantine"] == result["reports"] == result["stage"] == 0
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_landing_quarantine_and_reports_retention(tmp_path):
    home = make_home(tmp_path)
    policy = Policy(landing_days=30, quarantine_days=30, reports_days=10)
    dry = prune_landing(home, RUN, policy, dry_run=True)
    assert dry["landing"] == 2 and (home.landing / "olist" / "2026-10-01").exists()
    result = prune_landing(home, RUN, policy)
    assert result["landing"] == 2 and result["quarantine"] == 1 and result["reports"] == 1
    assert result["stage"] == 2  # a stage folder follows its landing folder's retention
    assert sorted(str(p.relative_to(home.root)) for p in (home.root / ".stage").glob("*/*")) == [".stage/registry/2026-11-29"]
    assert result["bytes"] > 0
    for source in ("olist", "registry"):
        kept = sorted(p.name for p in (home.landing / source).iterdir())
        # 2026-10-31 is the cutoff: 11-01 is kept, 10-01 goes
        assert "2026-10-01" not in kept and {"2026-11-01", "2026-11-29"} <= set(kept)
    assert (home.landing / "olist" / "README").is_dir()
    assert sorted(p.name for p in home.reports.iterdir()) == ["2026-11-29"]
    assert not list(tmp_path.rglob(".*deleting*"))
    # relative to the business date, not the clock: rerunning the same date deletes nothing more
    assert prune_landing(home, RUN, policy)["landing"] == 0


def _publish(home, mart, day, rows):
    from pipelines.publish.parquet import publish_partition, update_manifest

    table = pa.table({"x": list(range(rows))})
    n, digest = publish_partition(home.mart_dir(mart), day, table)
    update_manifest(home.mart_dir(mart), mart, 1, "test", table.schema, day, n, digest)
    return digest


def test_prune_marts_removes_partition_manifest_entry_and_row(tmp_path):
    from pipelines.run.daily import writer

    home = Home(tmp_path).ensure()
    days = [date(2026, 9, 1), date(2026, 11, 1), date(2026, 11, 29)]
    with writer(home) as con:
        for mart in ("indicator_flags", "price_anomalies"):
            for day in days:
                digest = _publish(home, mart, day, 3)
                con.execute("INSERT INTO meta.published_partitions VALUES ($m, $d, 3, $h, 1, 'r', $t)",
                            {"m": mart, "d": day, "h": digest, "t": datetime(2026, 11, 30)})
    result = prune_marts(home, RUN, Policy(marts_days=60))
    assert result["partitions"] == 2
    assert sorted(result["deleted"]) == ["indicator_flags/dt=2026-09-01", "price_anomalies/dt=2026-09-01"]
    for mart in ("indicator_flags", "price_anomalies"):
        assert sorted(p.name for p in home.mart_dir(mart).glob("dt=*")) == ["dt=2026-11-01", "dt=2026-11-29"]
        manifest = json.loads(home.manifest_path(mart).read_text(encoding="utf-8"))
        assert sorted(manifest["partitions"]) == ["2026-11-01", "2026-11-29"]
    con = duckdb.connect(str(home.db_path), read_only=True)
    left = con.execute("SELECT DISTINCT dt FROM meta.published_partitions ORDER BY dt").fetchall()
    con.close()
    assert [d for (d,) in left] == days[1:]
    # still readable as a hive-partitioned dataset
    import pyarrow.dataset as ds

    assert ds.dataset(home.mart_dir("indicator_flags"), partitioning="hive").to_table().num_rows == 6


def test_compact_warehouse_reclaims_space_and_keeps_every_row(tmp_path):
    from pipelines.run.daily import writer

    home = Home(tmp_path).ensure()
    with writer(home) as con:
        con.execute("CREATE TABLE work.big AS SELECT range AS i, md5(range::VARCHAR) AS h FROM range(400000)")
        con.execute("CREATE TABLE work.keep AS SELECT range AS i FROM range(1000)")
        con.execute("CHECKPOINT")
        con.execute("DROP TABLE work.big")
    light = compact_warehouse(home, Policy(compact_free_ratio=1.0))  # threshold never reached: checkpoint only
    assert light["checkpointed"] and not light["compacted"]
    result = compact_warehouse(home, Policy(compact_free_ratio=0.3))
    assert result["compacted"], result
    assert result["bytes_after"] < result["bytes_before"] / 2
    con = duckdb.connect(str(home.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM work.keep").fetchall() == [(1000,)]
    assert con.execute("SELECT count(*) FROM meta.schema_migrations").fetchall()[0][0] >= 1
    assert con.execute("SELECT count(*) FROM ingestion_ledger").fetchall() == [(0,)]  # views survive
    con.close()
    assert not list(tmp_path.glob(".warehouse.duckdb.compact-*"))
