from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real public datasets not found at {REAL_DATA} (they live in ../shared/data/real)")
    return REAL_DATA


@pytest.fixture
def mem_warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with every migration applied (for SQL unit tests)."""
    from warehouse.migrate import apply_migrations

    con = duckdb.connect(":memory:")
    apply_migrations(con)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory):
    """The bundled sample province run through the CLI exactly as `market-monitor demo` does, once per
    session: the end-to-end tests and the accuracy tests share it (it takes about two minutes)."""
    from pipelines.generate.sample import sample_days
    from pipelines.run.cli import main

    home = tmp_path_factory.mktemp("demo-home")
    assert main(["demo", "--home", str(home), "--quiet"]) == 0
    return home, sample_days()


@pytest.fixture(scope="session")
def template_d1(tmp_path_factory):
    """A home holding the first two sample days' drops, with D1 run once through the CLI (the 'old'
    published state the reliability fault, disk, concurrency and idempotency tests and the security PII
    scan start from; copy it, never change it). Built once per session."""
    from tests.reliability.helpers import D1, cli, lay_days

    home = tmp_path_factory.mktemp("template") / "home"
    lay_days(home)
    done = cli(home, "run", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    return home
