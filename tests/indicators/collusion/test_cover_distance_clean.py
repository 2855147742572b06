"""Given/expect tests of collusion.cover_distance against the clean false positives of issue 20 item 2.

docs/ACCURACY.md ("False positives on clean markets") lists 20 clean cell-months flagged on generated provinces, all
5-6-seller cells with one low seller. Inspected on the clean province of seed 1 (the prices of the flagged cells day
by day), in 3 of its 4 flagged cells the low seller is NOT on a promotion: it lists a sticky, ordinary list price 8-50
% under four or five sellers whose list prices happen to lie within ~2 % of each other (6906184693530:210400: 23.5
against 28.7, 28.8, 29.0, 29.3; the peak-week cell 6969286223234:210300 is the five list-price sellers left once three
campaign promotions are left out). That cross-section is the planted cover shape itself (1.00 against 1.18-1.21): no
RD threshold separates the two, and leaving ordinary promotions out of the cell (tried) clears only the fourth,
promotion-driven cell but lowers the province's median RD, so it raised the clean flags (4 cells to 5 on seed 1). The
two expectations that the rule does not meet yet are strict xfails: they fail loudly the day the rule meets them, so
the docs and these markers are updated together."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.indicators.given import observation
from tests.indicators.price._run import days, indicator, rows

WEEK = date(2026, 10, 26)          # Monday of ISO week 2026-W44, the week before the 双11 run-in
RUN = date(2026, 10, 29)           # Thursday of that week (the clean flags fell on 10-29 … 11-01)
CELL = "2026-W44"


def _background(con, n_cells=25):
    """Background cells of the province: 5 sellers with ordinary dispersion on list prices, every day of the four
    history weeks and this week (one INSERT ... SELECT)."""
    start = WEEK - timedelta(days=28)
    con.execute(
        "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id, sku_id,"
        " region_code, price_type, price, currency, condition, _business_date, _file_name, _sha256, _row)"
        " SELECT 'h' || c || '_' || i || '_' || k, ($start::DATE + k::INTEGER)::TIMESTAMP + INTERVAL 10 HOUR,"
        " $start::DATE + k::INTEGER, 'tmall', 'B' || c || '_' || i, 'H' || c, '210100', 'list',"
        " round(100 * [0.90, 0.95, 1.00, 1.06, 1.12][i + 1] * (1 + 0.01 * (c % 5)), 2), 'CNY', 'new',"
        " $start::DATE + k::INTEGER, 'given.csv', 'sha', 1"
        " FROM range($n) AS a(c), range(5) AS b(i), range(32) AS t(k)",
        {"start": start, "n": n_cells},
    )


def _list_days(con, shop, sku, price, start, n):
    for d in days(start, n):
        observation(con, d.isoformat(), shop, sku, price, price_type="list")


def _category(con):
    con.execute("UPDATE staging.price_observations SET category = '粮油副食'")


def test_planted_cover_cell_on_regular_prices_is_flagged(mem_warehouse):
    """Given a cover cell on list prices (the low seller 18 % under four sellers at 118-121, every day of the
    history and this week), the week before a campaign. Expect it flagged with the low seller named and its RD
    above rd_ratio x the province median RD (the recall any fix of the clean flags must keep)."""
    con, ind = mem_warehouse, indicator("collusion.cover_distance")
    _background(con)
    for i, p in enumerate([100.0, 118.0, 119.0, 120.0, 121.0]):
        _list_days(con, f"X{i}", "K1", p, WEEK - timedelta(days=14), 18)
    _category(con)
    k1 = next(r for r in rows(con, ind, RUN) if r["entity_id"] == f"K1:210100:{CELL}")
    ev = json.loads(k1["evidence"])
    assert k1["flagged"] and ev["lowest_shop_id"] == "X0" and k1["diffp"] == 0.18 and ev["n_sellers"] == 5
    assert k1["rd"] > k1["threshold"] and abs(k1["threshold"] - 12 * ev["market_rd_median"]) < 0.01


@pytest.mark.xfail(strict=True, reason="known gap (docs/ACCURACY.md, cover_distance): a cheap seller with a sticky "
                   "list price and four competitors within ~2 % of each other is the planted cover shape; one week's "
                   "cross-section of 5 prices cannot separate them")
def test_clean_cheap_seller_with_four_close_competitors_is_not_flagged(mem_warehouse):
    """Given the clean cell 6906184693530:210400 of seed 1 as generated (week 44, list prices only, sticky for
    weeks: 23.5 against 28.7, 28.8, 29.0, 29.3). Expect no flag (a cheap seller is not a cover pattern)."""
    con, ind = mem_warehouse, indicator("collusion.cover_distance")
    _background(con)
    for i, p in enumerate([23.5, 28.7, 28.8, 29.0, 29.3]):
        _list_days(con, f"X{i}", "K1", p, WEEK - timedelta(days=14), 18)
    _category(con)
    k1 = next(r for r in rows(con, ind, RUN) if r["entity_id"] == f"K1:210100:{CELL}")
    assert not k1["flagged"]


@pytest.mark.xfail(strict=True, reason="not adopted: leaving ordinary promotions out of the cell lowers the "
                   "province median RD the rd_ratio is set against (0.69 -> 0.56 on seed 1) and raised the clean flags; "
                   "see docs/ACCURACY.md, cover_distance")
def test_ordinary_one_week_promotion_of_one_seller_is_not_a_cover_pattern(mem_warehouse):
    """Given a clean 5-seller cell: four sellers list at 118-121, the fifth lists at 117 and runs an ordinary 20 %
    promotion Monday to Wednesday (price_type promo, honest reference), back to its list price on Thursday.
    Expect the cell screened on the sellers' regular offers (the promotion price is not in it) and not flagged."""
    con, ind = mem_warehouse, indicator("collusion.cover_distance")
    _background(con)
    for i, p in enumerate([118.0, 119.0, 120.0, 121.0]):
        _list_days(con, f"X{i + 1}", "K1", p, WEEK - timedelta(days=14), 18)
    _list_days(con, "X0", "K1", 117.0, WEEK - timedelta(days=14), 14)
    for d in days(WEEK, 3):
        observation(con, d.isoformat(), "X0", "K1", 93.6, price_type="promo", reference_price=117.0,
                    promo_start=WEEK.isoformat())
    _list_days(con, "X0", "K1", 117.0, RUN, 1)
    _category(con)
    row = next(r for r in rows(con, ind, RUN) if r["entity_id"] == f"K1:210100:{CELL}")
    ev = json.loads(row["evidence"])
    assert ev["n_sellers"] == 5 and 93.6 not in ev["prices"]          # the promotion is not the seller's offer
    assert ev["prices"][0] == 117.0
    assert not row["flagged"]
