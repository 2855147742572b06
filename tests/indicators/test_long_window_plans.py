"""The rules that read a long window of the price feed (90 to 180 days) read it as a stream, never kept whole in a
materialised CTE: kept, the window's every row is buffered once per run, and a day with 180 days of history cost
them 6x the 30-day day's time and 0.5-0.8 GB of buffer at scale 10 (docs/BENCHMARKS.md, "180 days of history").

DuckDB materialises a CTE read twice, and finds reads of the same table with the same filters itself (a
"__common_subplan" CTE); the plan, not the timing, is what is checked here."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from indicators.compute import create_macros
from tests.indicators.given import merchant, staged
from tests.indicators.plans import materialised_ctes
from tests.indicators.price._run import indicator

D = date(2026, 3, 6)
# the CTEs that would hold the whole window, by indicator (DuckDB's own common subplans are checked for all)
WINDOW_CTES = {
    "advertising.absolute_terms": {"observed"},
    "quality.failed_sample_on_sale": set(),
    "price.phantom_reference": {"usable_observations"},
}


def _given(con):
    """A feed that is not empty (an empty table is planned away) and one failed sample with and one without a
    sku_id (both branches of failed_sample_on_sale's match)."""
    merchant(con, "S1", uscc="91210100MA0SAMPL0X")
    for k in range(3):
        day = (D - timedelta(days=k)).isoformat()
        con.execute(
            "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id,"
            " sku_id, region_code, price_type, price, reference_price, product_name, _business_date, _file_name,"
            " _sha256, _row) VALUES (?, ?, ?, 'tmall', 'S1', 'K1', '210100', 'promo', 9, 12, '电热水壶 SH-1520 最佳',"
            " ?, 'given.csv', 'sha', ?)", [f"PO{k}", f"{day} 10:00:00", day, day, k])
    for no, sku in (("A1", "K1"), ("A2", None)):
        staged(con, "quality_sampling", "2026-03-01", sampling_id=no, product_name="电热水壶", sku_id=sku,
               platform_name="天猫", shop_id="S1", sampled_company="沈阳某电器有限公司", uscc="91210100MA0SAMPL0X",
               uscc_valid=True, producer_name="某电器厂", model="SH-1520", batch="2026-01-01", result="不合格",
               failed_items="耐热性", published_date="2026-03-01", authority="辽宁省市场监督管理局")


def _materialised_ctes(con, indicator_id: str) -> list[str]:
    ind = indicator(indicator_id)
    return materialised_ctes(con, ind.sql, ind.parameters({}) | {"run_date": D})


@pytest.mark.parametrize("indicator_id", sorted(WINDOW_CTES))
def test_the_long_window_is_not_materialised(mem_warehouse, indicator_id):
    con = mem_warehouse
    create_macros(con)
    _given(con)
    ctes = _materialised_ctes(con, indicator_id)
    assert ctes, "no CTE at all in the plan: the plan was not read"
    kept = [c for c in ctes if c in WINDOW_CTES[indicator_id] or c.startswith("__common_subplan")]
    assert not kept, f"{indicator_id} materialises its window: {kept} (of {ctes})"
