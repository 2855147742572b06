"""Publishing lowers DuckDB's memory limit while Python holds Arrow batches and parquet row groups, and puts the
configured limit back afterwards, also when the publish fails."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.db import _size_bytes, memory_limit_setting, python_memory_headroom


def _limit(con) -> int:
    return _size_bytes(con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchall()[0][0])


def test_headroom_lowers_then_restores(monkeypatch):
    monkeypatch.setenv("MARKET_MONITOR_MEMORY_LIMIT", "3GB")
    con = duckdb.connect(config={"memory_limit": memory_limit_setting()})
    before = _limit(con)
    with python_memory_headroom(con):
        inside = _limit(con)
    assert before - inside >= 2**30 - 2**24  # 1 GiB given to Python (DuckDB shows the limit rounded)
    assert abs(_limit(con) - before) < 2**24
    with pytest.raises(RuntimeError), python_memory_headroom(con):
        raise RuntimeError("publish failed")
    assert abs(_limit(con) - before) < 2**24


def test_headroom_never_below_one_gib(monkeypatch):
    monkeypatch.setenv("MARKET_MONITOR_MEMORY_LIMIT", "1.5GB")
    con = duckdb.connect(config={"memory_limit": "1.5GB"})
    with python_memory_headroom(con):
        assert _limit(con) >= 2**30 - 2**24


def test_size_parsing():
    assert _size_bytes("3.5GB") == 3_500_000_000
    assert _size_bytes("3.2 GiB") == int(3.2 * 2**30)
    assert _size_bytes("512MiB") == 512 * 2**20
    assert _size_bytes("unlimited") is None
