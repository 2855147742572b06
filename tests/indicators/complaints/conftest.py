from __future__ import annotations

import duckdb
import pytest

from indicators.compute import run_indicator
from indicators.registry import load_catalogue
from warehouse.migrate import apply_migrations


@pytest.fixture
def run():
    """run(con, indicator_id, run_date, overrides) -> list of row dicts of the indicator's work table."""
    catalogue = {i.id: i for i in load_catalogue()}

    def _run(con, indicator_id, run_date, overrides=None):
        ind = catalogue[indicator_id]
        run_indicator(con, ind, run_date, {indicator_id: overrides} if overrides else {})
        cur = con.execute(f'SELECT * FROM work."{ind.work_table}" ORDER BY source, entity_id')
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    return _run


def by_id(rows):
    return {r["entity_id"]: r for r in rows}


def on_another_warehouse(build):
    """build(con) on a second in-memory warehouse with every migration applied, closed after (a test that compares
    two loads of the same rows, e.g. in two orders)."""
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    try:
        return build(con)
    finally:
        con.close()
