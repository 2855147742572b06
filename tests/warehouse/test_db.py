"""Migrations apply once and in order; a second writer gets a readable message naming the holder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from pipelines.core.errors import WarehouseBusy
from warehouse.db import connect_reader, connect_writer
from warehouse.migrate import apply_migrations, current_version, migration_files


def test_migrations_are_numbered_and_idempotent(tmp_path):
    files = migration_files()
    assert [v for v, _, _ in files] == sorted({v for v, _, _ in files})
    con = connect_writer(tmp_path / "w.duckdb")
    version = current_version(con)
    assert version == files[-1][0]
    assert apply_migrations(con) == version  # second time: nothing to do
    rows = con.execute("SELECT count(*) FROM meta.schema_migrations").fetchall()[0][0]
    assert rows == len(files)
    con.close()


def test_ledger_arithmetic_is_enforced_by_the_schema(tmp_path):
    import duckdb

    con = connect_writer(tmp_path / "w.duckdb")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO meta.ingestion_ledger VALUES ('s', DATE '2026-01-01', 'f.csv', 'x', 1, "
                    "10, 5, 4, 'loaded', NULL, 'utf-8', now()::TIMESTAMP)")
    con.close()


def test_second_writer_gets_a_message_naming_the_holder(tmp_path):
    db = tmp_path / "w.duckdb"
    connect_writer(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(db)!r})
            print("locked", flush=True)
            time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(WarehouseBusy) as err:
            connect_writer(db, wait_seconds=1.0)
        assert time.monotonic() - started >= 1.0  # it waited the bounded time
        assert f"process {holder.pid}" in str(err.value)
        assert "one writer at a time" in str(err.value)
        with pytest.raises(WarehouseBusy):
            connect_reader(db)
    finally:
        holder.kill()
        holder.wait()
    connect_writer(db).close()  # free again
