"""Single writer, consistent readers during a publish, and reruns that change nothing."""

from __future__ import annotations

import threading
import time
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.home import PART_NAME, Home
from pipelines.core.sql import sha256_file
from pipelines.publish.parquet import publish_partition
from tests.reliability import figures
from tests.reliability.helpers import D1, D2, cli, copy_home, extra_prices, lay_days, partitions


def test_readers_never_see_a_torn_partition(tmp_path):
    """In-process: one thread republishes a partition 200 times, alternating two contents, while readers
    open it with pyarrow; every read is whole and is one of the two."""
    home = Home(tmp_path)
    mart = home.mart_dir("mart")
    a = pa.table({"x": list(range(50_000)), "s": ["a"] * 50_000})
    b = pa.table({"x": list(range(70_000)), "s": ["b"] * 70_000})
    publish_partition(mart, date(2026, 10, 29), a)
    part = mart / "dt=2026-10-29" / PART_NAME
    stop, seen, errors = threading.Event(), set(), []

    def read():
        while not stop.is_set():
            try:
                t = pq.read_table(mart)  # the dataset: a temp file must never be inside the mart folder
                seen.add((t.num_rows, t.column("s")[0].as_py()))
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(exc))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    for i in range(200):
        publish_partition(mart, date(2026, 10, 29), b if i % 2 == 0 else a)
    stop.set()
    for r in readers:
        r.join()
    assert not errors, errors[:3]
    assert seen <= {(50_000, "a"), (70_000, "b")} and seen
    assert sha256_file(part)
    assert [f.name for f in part.parent.iterdir()] == [PART_NAME]
    assert [f.relative_to(mart).as_posix() for f in mart.rglob("*") if f.is_file()] == [f"dt=2026-10-29/{PART_NAME}"]
    assert not [f for f in home.staging_dir.rglob("*") if f.is_file()], "a temp file outlived its swap"


@pytest.mark.slow
def test_two_runs_at_once_one_writer(template_d1, tmp_path):
    home = copy_home(template_d1, tmp_path / "busy")
    extra_prices(home)
    old = partitions(home)
    # the first run holds the writer 20 s longer after compute, so the second one meets it even when a
    # loaded machine makes the second's start-up slower than the whole first run
    # --wait: the probe below opens the warehouse read-only for a moment every 0.2 s; without it, a probe that
    # happens to hold its shared lock at the instant the first run opens the writer makes the first run the refused
    # one (seen once in a fresh clone: the second then ran alone and was "not refused")
    first = cli(home, "run", "--date", D1.isoformat(), "--wait", "120", wait=False, pause="compute.done=20")
    # wait until the first run holds the warehouse, then start the others
    import duckdb

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            duckdb.connect(str(home / "warehouse.duckdb"), read_only=True).close()
            time.sleep(0.2)
        except duckdb.Error:
            break
    assert first.poll() is None, "the first run ended before it was seen holding the warehouse"
    second = cli(home, "run", "--date", D1.isoformat())
    assert second.returncode == 1, second.stderr
    assert f"in use by process {first.pid}" in second.stderr and "Traceback" not in second.stderr
    waiter = cli(home, "run", "--date", D1.isoformat(), "--wait", "600", wait=False)
    # readers while the first run works: query (falls back to the parquet) and pyarrow
    counts = set()
    while first.poll() is None:
        q = cli(home, "query", "SELECT count(*) AS n FROM indicator_flags", "--format", "csv")
        assert q.returncode == 0, q.stderr
        counts.add(q.stdout.strip().splitlines()[-1])
        pq.read_table(home / "marts" / "indicator_flags")
    out, err = first.communicate()
    assert first.returncode == 0, err[-3000:]
    w_out, w_err = waiter.communicate(timeout=600)
    assert waiter.returncode == 0, w_err[-3000:]
    new = partitions(home)
    assert new != old
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        runs = con.execute("SELECT count(DISTINCT run_id), count(*) FILTER (WHERE outcome <> 'success') "
                           "FROM meta.runs WHERE business_date = $d", {"d": D1}).fetchall()[0]
        bad = con.execute("SELECT count(*) FROM meta.ingestion_ledger "
                          "WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()[0][0]
    finally:
        con.close()
    assert runs == (3, 0) and bad == 0  # template + first + waiter; the refused one never started a stage
    assert counts and len(counts) <= 2
    figures.add("faults injected")


@pytest.mark.slow
def test_three_runs_identical_and_backfill_equals_single_runs(template_d1, tmp_path):
    singles = copy_home(template_d1, tmp_path / "singles")
    first = partitions(singles)
    for _ in range(2):
        done = cli(singles, "run", "--date", D1.isoformat())
        assert done.returncode == 0, done.stderr[-3000:]
        assert partitions(singles) == first, "the same date run again changed a parquet file"
    done = cli(singles, "run", "--date", D2.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = tmp_path / "backfill"
    lay_days(fresh)
    done = cli(fresh, "backfill", "--start", D1.isoformat(), "--end", D2.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    assert partitions(fresh) == partitions(singles)
