"""The checks .ci/distributed.sh relies on must be able to fail: unit tests on made-up inputs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.distributed.verify import check_tasks, compare_marts, decode_xcom, ingest_timing, marts_digest

T = datetime(2026, 11, 27, 21, 0, 0)


def ti(task_id, start, end, pool="default_pool", state="success", run_id="r1", map_index=-1):
    return {"run_id": run_id, "task_id": task_id, "map_index": map_index, "state": state, "pool": pool,
            "start_date": T + timedelta(seconds=start), "end_date": T + timedelta(seconds=end)}


def good_run():
    tis = [ti("landed_files", -1, -0.5), ti("prepare", 0, 3, map_index=0), ti("prepare", 1, 4, map_index=1),
           ti("prepare", 2, 5, map_index=2), ti("register", 6, 9, pool="duckdb_writer"),
           ti("compute", 9.5, 12, pool="duckdb_writer")]
    xcoms = {("r1", "prepare", 0): {"worker": "w1"}, ("r1", "prepare", 1): {"worker": "w2"},
             ("r1", "prepare", 2): {"worker": "w1"}}
    return tis, xcoms


def test_a_good_run_passes():
    problems, facts = check_tasks(*good_run())
    assert problems == []
    assert facts["workers"] == ["w1", "w2"] and facts["overlapping_cross_worker_pairs"] == 2


def test_one_worker_fails():
    tis, xcoms = good_run()
    xcoms[("r1", "prepare", 1)] = {"worker": "w1"}
    problems, _ = check_tasks(tis, xcoms)
    assert any("expected two Celery workers" in p for p in problems)


def test_no_overlap_fails():
    tis, xcoms = good_run()
    tis[2] = ti("prepare", 5.5, 5.9, map_index=1)  # w2's task after w1's ended
    problems, _ = check_tasks(tis, xcoms)
    assert any("overlapped in time" in p for p in problems)


def test_overlapping_writers_fail():
    tis, xcoms = good_run()
    tis[5] = ti("compute", 8, 12, pool="duckdb_writer")
    problems, _ = check_tasks(tis, xcoms)
    assert any("writer tasks overlapped" in p for p in problems)


def test_failed_task_fails():
    tis, xcoms = good_run()
    tis[4]["state"] = "failed"
    problems, _ = check_tasks(tis, xcoms)
    assert any("register: state failed" in p for p in problems)
    tis[1]["state"] = "failed"
    problems, _ = check_tasks(tis, xcoms)
    assert any("prepare[0]: state failed" in p for p in problems)


def test_overlap_must_be_within_one_day():
    """Two prepare tasks of different runs (days) on different workers do not count as sharing a day."""
    tis = [ti("prepare", 0, 3, map_index=0, run_id="r1"), ti("prepare", 1, 4, map_index=0, run_id="r2")]
    xcoms = {("r1", "prepare", 0): {"worker": "w1"}, ("r2", "prepare", 0): {"worker": "w2"}}
    problems, _ = check_tasks(tis, xcoms)
    assert any("overlapped in time" in p for p in problems)


def test_ingest_timing():
    tis, xcoms = good_run()
    timing = ingest_timing(tis, xcoms)
    assert timing == {"ingest_wall_s": 10.0, "prepare_span_s": 5.0, "prepare_task_s_sum": 9.0, "register_s": 3.0,
                      "prepare_tasks": 3, "workers": ["w1", "w2"]}


def write_part(home: Path, mart: str, day: str, values, metadata=None):
    folder = home / "marts" / mart / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"v": values}).replace_schema_metadata(metadata)
    pq.write_table(table, folder / "part-0.parquet")


def test_compare_marts(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for home in (a, b):
        write_part(home, "indicator_flags", "2026-10-29", [1, 2, 3])
    write_part(b, "price_anomalies", "2026-10-29", [1], metadata={"writer": "x"})
    write_part(a, "price_anomalies", "2026-10-29", [1], metadata={"writer": "y"})
    assert compare_marts(a, b) == []  # same content, different writer metadata
    write_part(b, "indicator_flags", "2026-10-29", [1, 2, 4])
    assert any("indicator_flags/dt=2026-10-29: content differs" in p for p in compare_marts(a, b))
    write_part(b, "indicator_flags", "2026-10-29", [1, 2, 3])
    write_part(b, "indicator_flags", "2026-10-30", [1])
    assert compare_marts(a, b) == [f"indicator_flags/dt=2026-10-30: only in {b}"]
    assert len(marts_digest(b)) == 3
    assert compare_marts(tmp_path / "empty", tmp_path / "empty2")  # nothing published is a failure


def test_decode_xcom():
    assert decode_xcom({"worker": "w1"}) == {"worker": "w1"}
    assert decode_xcom('{"worker": "w1"}') == {"worker": "w1"}
    assert decode_xcom('"{\\"worker\\": \\"w1\\"}"') == {"worker": "w1"}
    assert decode_xcom("2026-10-29") == "2026-10-29"  # a returned date string is not JSON text
    assert decode_xcom('"2026-10-29"') == "2026-10-29"
