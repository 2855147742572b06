"""memory_note: the `--verbose` line after each step reports what DuckDB holds and what it spilled."""

from __future__ import annotations

import re

import duckdb

from warehouse.db import memory_note

NOTE = re.compile(r"buffer pool ([\d,]+) MiB \(most: (\w+)\), temporary storage ([\d,]+) MiB, spill files ([\d,]+) MiB")


def _mib(text: str) -> int:
    return int(text.replace(",", ""))


def test_memory_note_reports_the_buffer_pool_and_the_spill(tmp_path):
    con = duckdb.connect(config={"memory_limit": "200MB", "threads": 1, "temp_directory": str(tmp_path)})
    empty = NOTE.fullmatch(memory_note(con))
    assert empty and _mib(empty[1]) == 0 and _mib(empty[4]) == 0
    # a temporary table larger than the limit lives in the buffer pool and spills to the temp directory
    con.execute("CREATE TEMP TABLE t AS SELECT range AS i, md5(range::VARCHAR) AS h FROM range(6000000)")
    full = NOTE.fullmatch(memory_note(con))
    assert full, memory_note(con)
    assert _mib(full[1]) > 50  # held in memory, of the 200 MB limit
    assert _mib(full[3]) + _mib(full[4]) > 100  # the rest is temporary storage on disk
    con.execute("DROP TABLE t")
    assert _mib(NOTE.fullmatch(memory_note(con))[1]) < _mib(full[1])
