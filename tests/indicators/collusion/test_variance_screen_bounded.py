"""collusion.variance_screen keeps no list of a cell's sellers in a CTE that DuckDB materialises (issue 23, "every
indicator's plan is bounded"): a CTE read twice is materialised, and its cells' sorted price lists and offer lists were
carried through it for every cell of every history week. The cell's statistics are now reduced from its sorted prices
in the step that sorts them, and the evidence lists are built for the final rows only: on the 100 M-observation day
the screen takes 292 s instead of 410 s (docs/BENCHMARKS.md, "Session 31").

collusion.cover_distance still keeps its lists (prices, and the cover weeks' offers) in materialised CTEs, on
measurement: the row-based version of it spilled 43.8 GB instead of 16.5 GB on the 100 M day and was slower, so the
list version stays (lists of doubles are the compact form of a cell's prices). It is not checked here.

The plan, not the memory, is checked: the materialised CTEs are read off EXPLAIN, their column types off DESCRIBE."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from indicators.compute import create_macros
from pipelines.core.sql import bind
from tests.indicators.given import observation
from tests.indicators.plans import materialised_ctes
from tests.indicators.price._run import indicator

RUN = date(2026, 10, 29)
FINAL_SELECT = "\nSELECT\n    'market_cell'"


def _list_columns(con, sql: str, values: dict, cte: str) -> list[str]:
    body = sql[: sql.index(FINAL_SELECT)] + f"\nSELECT * FROM {cte}"
    described = con.execute("DESCRIBE " + body, bind(body, values)).fetchall()
    return [f"{name} {kind}" for name, kind, *_ in described if "[]" in kind or kind.startswith(("MAP", "STRUCT"))]


@pytest.mark.parametrize("indicator_id", ["collusion.variance_screen"])
def test_no_materialised_cte_carries_a_list_of_sellers(mem_warehouse, indicator_id):
    con = mem_warehouse
    create_macros(con)
    # a feed that is not empty (an empty table is planned away): five sellers of one cell on three days
    for d in range(3):
        for i, p in enumerate([100.0, 118.0, 119.0, 120.0, 121.0]):
            observation(con, (RUN - timedelta(days=d)).isoformat(), f"X{i}", "K1", p, price_type="list")
    ind = indicator(indicator_id)
    values = ind.parameters({}) | {"run_date": RUN}
    materialised = set(materialised_ctes(con, ind.sql, values)) - {""}
    assert "daily_all" in materialised, f"the plan was not read: {materialised}"
    carrying = {c: cols for c in sorted(materialised) if not c.startswith("__")
                if (cols := _list_columns(con, ind.sql, values, c))}
    assert not carrying, f"materialised CTEs carry lists that grow with the cells' sellers: {carrying}"
