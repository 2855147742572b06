"""benchmarks.incremental_window on a small warehouse of given rows: the state holds the past days only, and the rule
with its past days read from the state gives the same table as the rule as it is (the prototype's claim)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from benchmarks.incremental_window import STATE_TABLE, incremental_sql, measure, state_sql, table
from tests.indicators.given import observation
from warehouse.migrate import apply_migrations

DAY = date(2026, 11, 20)


@pytest.fixture
def warehouse(tmp_path):
    """12 days; 2 SKUs x 2 regions, 16 sellers a cell with prices that move day to day; seller S0 the cheapest on
    most days; one listing seen twice a day (its day price is a median); some sellers absent on some days."""
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    apply_migrations(con)
    for back in range(12):
        d = (DAY - timedelta(days=back)).isoformat()
        for sku in ("K1", "K2"):
            for region in ("210100", "210200"):
                for k in range(16):
                    if (k * 7 + back) % 5 == 4:
                        continue  # absent that day
                    price = 100.0 + 3 * k + (back * k) % 7 - (8 if k == 0 and back % 3 else 0)
                    observation(con, d, f"S{k}{region[-3]}", sku, price, price_type="list", region_code=region)
                    if k == 5:
                        observation(con, d, f"S{k}{region[-3]}", sku, price + 2, price_type="list",
                                    region_code=region, at="16:00:00")
    con.close()
    return db


def test_incremental_equals_the_rule(warehouse, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    result = measure(warehouse, DAY, 1, "1GB", work)
    assert "error" not in result["state"], result["state"]
    assert result["difference"] == {"rule_not_incremental": 0, "incremental_not_rule": 0}
    [rule], [inc] = result["rule"], result["incremental"]
    assert rule["rows"] == inc["rows"] > 0
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        past, below = con.execute(f"SELECT max(d) < DATE '{DAY}', (SELECT max(days_below) FROM "  # noqa: S608 - test constants
                                  f"main.bench_out_incremental) FROM {STATE_TABLE}").fetchone()
    finally:
        con.close()
    assert past and below > 1  # the past days came from the state and count in the result
    assert "Identical tables: yes" in table(result)


def test_the_sql_is_derived_from_the_rule():
    from indicators.registry import load_catalogue

    rule = next(i for i in load_catalogue() if i.id == "price.sustained_below_market").sql
    assert "candidate_cells)" not in state_sql(rule).split("ranked_offers AS (")[1].split("),")[0]
    inc = incremental_sql(rule)
    assert "observed_date = $run_date" in inc and "FROM seller_day_all" in inc and STATE_TABLE in inc
    with pytest.raises(ValueError, match="no longer has the shape"):
        state_sql("WITH x AS (SELECT 1) SELECT * FROM x")
