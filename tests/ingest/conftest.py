from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.core.home import Home
from pipelines.ingest.catalogue import load_source
from warehouse.db import connect_writer

REPO_ROOT = Path(__file__).resolve().parents[2]
# Real public data samples (Olist, UCI Online Retail, CFPB, CyBPP, Chinese registers) are not shipped with
# the repository (README.md, "Development"): the tests that use them look for a `shared/data/real` folder
# beside the repository and are skipped without it.
REAL = REPO_ROOT.parent / "shared" / "data" / "real"


def real(*parts: str) -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real data folder {REAL} is absent (real data samples are not part of the repository)")
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data file {path} is absent")
    return path


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def con(home):
    c = connect_writer(home.db_path)
    yield c
    c.close()


def land(home: Home, source: str, d: dt.date, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    folder = home.landing_dir(source, d)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


def accounting(con) -> None:
    """rows read = loaded + quarantined, and the tables agree with the ledger, for every file."""
    bad = con.execute(
        "SELECT count(*) FROM meta.ingestion_ledger WHERE rows_read <> rows_loaded + rows_quarantined"
    ).fetchall()[0][0]
    assert bad == 0
    for source, d, name, loaded, quarantined, outcome in con.execute(
        "SELECT source, business_date, file_name, rows_loaded, rows_quarantined, outcome FROM meta.ingestion_ledger"
    ).fetchall():
        staged = 0
        for t in load_source(source).tables:
            staged += con.execute(
                f'SELECT count(*) FROM staging."{t.table}" WHERE _business_date = $d AND _file_name = $f',
                {"d": d, "f": name},
            ).fetchall()[0][0]
        q = con.execute(
            "SELECT count(*) FROM meta.quarantine_rows WHERE source = $s AND business_date = $d "
            "AND file_name = $f AND row_number IS NOT NULL",
            {"s": source, "d": d, "f": name},
        ).fetchall()[0][0]
        assert staged == loaded, (name, staged, loaded)
        assert q == quarantined, (name, q, quarantined)
        if outcome == "rejected":
            assert loaded == 0


def snapshot(con) -> dict:
    """Everything ingestion writes, except load times."""
    out = {}
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema = 'staging' AND table_type = 'BASE TABLE'"
    ).fetchall()
    for schema, table in tables:
        out[f"{schema}.{table}"] = sorted(
            map(repr, con.execute(f'SELECT * FROM {schema}."{table}"').fetchall())
        )
    out["ledger"] = sorted(
        map(repr, con.execute("SELECT * EXCLUDE (loaded_at) FROM meta.ingestion_ledger").fetchall())
    )
    out["quarantine"] = sorted(map(repr, con.execute("SELECT * FROM meta.quarantine_rows").fetchall()))
    return out
