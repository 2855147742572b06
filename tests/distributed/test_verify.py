"""The checks .ci/distributed.sh relies on must be able to fail: unit tests on made-up inputs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.distributed.verify import check_tasks, compare_marts, decode_xcom, marts_digest

T = datetime(2026, 11, 27, 21, 0, 0)


def ti(task_id, start, end, pool="default_pool", state="success", run_id="r1"):
    return {"run_id": run_id, "task_id": task_id, "state": state, "pool": pool,
            "start_date": T + timedelta(seconds=start), "end_date": T + timedelta(seconds=end)}


def good_run():
    tis = [ti("preflight_a", 0, 3), ti("preflight_b", 1, 4), ti("preflight_c", 2, 5),
           ti("ingest", 6, 9, pool="duckdb_writer"), ti("compute", 9.5, 12, pool="duckdb_writer")]
    xcoms = {("r1", "preflight_a"): {"worker": "w1"}, ("r1", "preflight_b"): {"worker": "w2"},
             ("r1", "preflight_c"): {"worker": "w1"}}
    return tis, xcoms


def test_a_good_run_passes():
    problems, facts = check_tasks(*good_run())
    assert problems == []
    assert facts["workers"] == ["w1", "w2"] and facts["overlapping_cross_worker_pairs"] == 2


def test_one_worker_fails():
    tis, xcoms = good_run()
    xcoms[("r1", "preflight_b")] = {"worker": "w1"}
    problems, _ = check_tasks(tis, xcoms)
    assert any("expected two Celery workers" in p for p in problems)


def test_no_overlap_fails():
    tis, xcoms = good_run()
    tis[1] = ti("preflight_b", 5.5, 5.9)  # w2's task after w1's ended
    problems, _ = check_tasks(tis, xcoms)
    assert any("overlapped in time" in p for p in problems)


def test_overlapping_writers_fail():
    tis, xcoms = good_run()
    tis[4] = ti("compute", 8, 12, pool="duckdb_writer")
    problems, _ = check_tasks(tis, xcoms)
    assert any("writer tasks overlapped" in p for p in problems)


def test_failed_task_fails():
    tis, xcoms = good_run()
    tis[3]["state"] = "failed"
    problems, _ = check_tasks(tis, xcoms)
    assert any("ingest: state failed" in p for p in problems)


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
