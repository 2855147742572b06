"""Given/expect tests of the collusion screens (variance, cover distance, parallelism): small n, campaign days,
the category's own history, control pairs. The outputs are screens: evidence fields, never a finding."""

from __future__ import annotations

import json
from datetime import date

from tests.indicators.given import observation
from tests.indicators.price._run import days, indicator, rows

RUN = date(2026, 11, 12)          # Thursday of ISO week 2026-W46 (Monday 2026-11-09)
HISTORY = date(2026, 10, 12)      # four full weeks before


def _history(con, n_cells=25, sku_prefix="H", region="210100"):
    """Background cells of the category: 5 sellers with ordinary dispersion (CV ~ 0.08), every day of 4+ weeks
    (one INSERT ... SELECT: thousands of given rows)."""
    con.execute(
        "INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id, sku_id,"
        " region_code, price_type, price, currency, condition, _business_date, _file_name, _sha256, _row)"
        " SELECT 'h' || c || '_' || i || '_' || k, ($start::DATE + k::INTEGER)::TIMESTAMP + INTERVAL 10 HOUR,"
        " $start::DATE + k::INTEGER, 'tmall', 'B' || c || '_' || i, $prefix || c, $region, 'list',"
        " round(100 * [0.90, 0.95, 1.00, 1.06, 1.12][i + 1] * (1 + 0.01 * (c % 5)), 2), 'CNY', 'new',"
        " $start::DATE + k::INTEGER, 'given.csv', 'sha', 1"
        " FROM range($n) AS a(c), range(5) AS b(i), range(32) AS t(k)",
        {"start": HISTORY, "prefix": sku_prefix, "region": region, "n": n_cells},
    )


def _cell(con, sku, prices, region="210100", start=date(2026, 11, 9), n=4, prefix="X"):
    for d in days(start, n):
        for i, p in enumerate(prices):
            observation(con, d.isoformat(), f"{prefix}{i}", sku, p, price_type="list", region_code=region)


def _obs_category(con):
    con.execute("UPDATE staging.price_observations SET category = '粮油副食'")


def test_variance_screen_low_cv_at_high_price_against_category_history(mem_warehouse):
    con, ind = mem_warehouse, indicator("collusion.variance_screen")
    _history(con)
    _cell(con, "K1", [120.0, 120.1, 120.2, 120.3, 120.4])      # pocket: CV 0.001
    _cell(con, "K1", [100, 101, 99, 100], region="210200", prefix="Y")  # the SKU's market elsewhere
    _cell(con, "K2", [80.0, 80.1, 80.2, 80.1], prefix="Z")      # low CV but below the SKU's median level
    _cell(con, "K2", [100, 101, 99, 100], region="210200", prefix="W")
    _cell(con, "K3", [120.0, 120.1, 120.2], prefix="V")         # 3 sellers: not screened
    _obs_category(con)
    out = {r["entity_id"]: r for r in rows(con, ind, RUN)}
    k1 = out["K1:210100:2026-W46"]
    assert k1["flagged"] and k1["severity"] in ("low", "medium")
    ev = json.loads(k1["evidence"])
    assert ev["screen"] == "variance" and ev["n_sellers"] == 5 and ev["category_history_cells"] >= 20
    assert "collusion" not in json.dumps(ev).lower()
    assert not out["K2:210100:2026-W46"]["flagged"]          # high level is required
    assert "K3:210100:2026-W46" not in out
    assert not any(r["flagged"] for e, r in out.items() if e.startswith("H"))


def test_variance_screen_needs_category_history(mem_warehouse):
    con, ind = mem_warehouse, indicator("collusion.variance_screen")
    _cell(con, "K1", [120.0, 120.1, 120.2, 120.3, 120.4])
    _obs_category(con)
    [row] = rows(con, ind, RUN)
    assert row["category_cv_median"] is None and not row["flagged"]


def test_campaign_promotions_are_left_out_of_the_cell(mem_warehouse):
    """双11 run-in: most of the category's sellers on promotion at once is a platform-wide move."""
    con, ind = mem_warehouse, indicator("collusion.cover_distance")
    _history(con)
    for d in days(date(2026, 11, 9), 4):
        for i, p in enumerate([100, 104, 108, 112, 116, 120]):   # 6 sellers: 5 left once the campaign price goes
            promo = i == 0  # the cheapest seller joins the campaign: 20 % off
            observation(con, d.isoformat(), f"X{i}", "K1", round(p * 0.8, 2) if promo else p,
                        price_type="promo" if promo else "list", reference_price=p if promo else None,
                        promo_start="2026-11-09" if promo else None)
    # the whole category is on campaign those days
    con.execute("UPDATE staging.price_observations SET price_type = 'promo', reference_price = price,"
                " price = round(price * 0.85, 2), promo_start = DATE '2026-11-09'"
                " WHERE sku_id LIKE 'H%' AND observed_date >= DATE '2026-11-09'")
    for d in days(date(2026, 11, 1), 8):
        observation(con, d.isoformat(), "X0", "K1", 100, price_type="list")
    _obs_category(con)
    row = next(r for r in rows(con, ind, RUN) if r["entity_id"] == "K1:210100:2026-W46")
    assert not row["flagged"]
    assert json.loads(row["evidence"])["prices"][0] != 80.0   # the campaign price is not in the cell


def test_cover_distance_gap_between_two_lowest(mem_warehouse):
    con, ind = mem_warehouse, indicator("collusion.cover_distance")
    _history(con)
    # three rounds (weeks 44-46): the cover screen needs the pattern repeated for cover_weeks weeks
    _cell(con, "K1", [100.0, 118.0, 119.0, 120.0, 121.0], start=date(2026, 10, 26), n=18)
    _cell(con, "K2", [100.0, 104.0, 109.0, 113.0, 118.0], prefix="Z", start=date(2026, 10, 26), n=18)   # evenly spread
    _obs_category(con)
    out = {r["entity_id"]: r for r in rows(con, ind, RUN)}
    k1 = out["K1:210100:2026-W46"]
    assert k1["diffp"] == 0.18 and k1["rd"] > 10 and k1["flagged"]
    assert json.loads(k1["evidence"])["lowest_shop_id"] == "X0"
    assert k1["skewness"] < 0
    assert not out["K2:210100:2026-W46"]["flagged"]


def test_cover_distance_benchmark_is_the_province_median_not_dragged_by_pockets(mem_warehouse):
    """The RD benchmark is rd_ratio x the median RD of all other cells of the province: a few pockets of the category
    with a huge RD (planted cells, a promotion-priced lowest seller) do not raise it, and 4-seller cells (RD over the sd
    of only 3 losing prices) are not screened."""
    con, ind = mem_warehouse, indicator("collusion.cover_distance")
    _history(con)
    # two earlier pockets of the category with an extreme RD: a 99th percentile of the category would sit at ~RD 200
    for j in range(2):
        _cell(con, f"P{j}", [100.0, 130.0, 130.1, 130.2, 130.3], start=date(2026, 11, 2), n=7, prefix=f"P{j}_")
    _cell(con, "K1", [100.0, 118.0, 119.0, 120.0, 121.0], start=date(2026, 10, 26), n=18)  # RD ~ 14, 3 rounds
    _cell(con, "K4", [100.0, 118.0, 119.0, 120.0], prefix="Q")             # same gap, 4 sellers: not screened
    _obs_category(con)
    out = {r["entity_id"]: r for r in rows(con, ind, RUN)}
    k1 = out["K1:210100:2026-W46"]
    ev = json.loads(k1["evidence"])
    assert ev["market_history_cells"] >= 20 and ev["category_rd_high_quantile"] > k1["rd"]   # the old rule would miss it
    assert k1["flagged"] and abs(k1["threshold"] - 12 * ev["market_rd_median"]) < 0.01 and k1["threshold"] < k1["rd"]
    assert "K4:210100:2026-W46" not in out


def _parallel_market(con):
    """K1: three sellers in 210100 moving together, C0 among them and C1..C3 of K1 in three other regions with
    independent sticky prices; K9: a category-wide campaign move only."""
    walk = [1.0, 1.03, 1.03, 1.0, 1.0, 1.03, 1.03, 1.06, 1.06, 1.03, 1.03, 1.0, 1.0, 0.97, 0.97, 1.0, 1.0, 1.03,
            1.03, 1.0, 1.0, 1.03, 1.03, 1.06, 1.06, 1.03, 1.03, 1.0, 1.0]
    for k, d in enumerate(days(date(2026, 10, 15), 29)):
        for i, lv in enumerate([0.95, 1.0, 1.05]):
            observation(con, d.isoformat(), f"X{i}", "K1", round(100 * lv * walk[k], 2), price_type="list")
        for j in range(4):   # control sellers of the SKU elsewhere: independent sticky prices
            step = 1.02 if (k + 3 * j) % 9 == 0 else 1.0
            observation(con, d.isoformat(), f"C{j}", "K1", round(100 * (1 + 0.01 * j) * step, 2),
                        price_type="list", region_code=f"21{j + 1:02d}00")
        # a category-wide campaign move on two days: everybody cuts at once, then restores
        for c in range(10):
            campaign = d in (date(2026, 11, 1), date(2026, 11, 2))
            observation(con, d.isoformat(), f"Q{c}", "K9", 80 if campaign else 100, price_type="list",
                        region_code="210300")
    _obs_category(con)


def test_parallelism_against_control_pairs_and_common_move_days(mem_warehouse):
    con, ind = mem_warehouse, indicator("collusion.parallelism")
    _parallel_market(con)
    out = {r["entity_id"]: r for r in rows(con, ind, RUN)}
    k1 = out["K1:210100:2026-W46"]
    assert k1["flagged"] and k1["parallel_pairs"] == 3
    ev = json.loads(k1["evidence"])
    assert ev["control_pairs"] > 0 and ev["max_par"] == 1.0
    assert not out["K9:210300:2026-W46"]["flagged"]     # moving together only on common-move (campaign) days


def test_parallelism_control_pairs_are_a_fixed_sample_of_at_most_max_control_pairs(mem_warehouse):
    con, ind = mem_warehouse, indicator("collusion.parallelism")
    _parallel_market(con)
    # K1's sellers in different regions: C0 sits in 210100 with X0..X2, C1..C3 in three other regions, so the
    # 4 sellers of 210100 x 3 + the 3 pairs among C1..C3
    full = {r["entity_id"]: r for r in rows(con, ind, RUN)}["K1:210100:2026-W46"]
    assert full["control_pairs"] == 15
    sampled = [{r["entity_id"]: r for r in rows(con, ind, RUN, {ind.id: {"max_control_pairs": 5}})}
               ["K1:210100:2026-W46"] for _ in range(2)]
    assert sampled[0]["control_pairs"] == 5
    assert sampled[0] == sampled[1]                      # the same pairs on a rerun
    assert sampled[0]["parallel_pairs"] == full["parallel_pairs"] == 3   # the cell's own pairs are all kept


def test_a_cell_whose_sellers_disagree_on_the_category_gets_the_same_one_every_run(mem_warehouse):
    """Sellers (and one seller's own observations) that file the SKU under different categories: the cell's category
    is the smallest (min, not any_value, which depends on thread timing), in both screens that read it."""
    con = mem_warehouse
    _history(con)
    _cell(con, "K1", [120.0, 120.1, 120.2, 120.3, 120.4])
    _obs_category(con)
    con.execute("UPDATE staging.price_observations SET category = '副食' WHERE shop_id IN ('X3', 'X4')")
    # one seller's observations disagree with each other too: a second observation of X0 a day, filed as 副食
    for d in days(date(2026, 11, 9), 4):
        observation(con, d.isoformat(), "X0", "K1", 120.0, price_type="list", region_code="210100",
                    observation_id=f"x0-second-{d}")
    con.execute("UPDATE staging.price_observations SET category = '副食' WHERE observation_id LIKE 'x0-second-%'")
    for rule in ("collusion.variance_screen", "collusion.cover_distance"):
        out = {r["entity_id"]: r for r in rows(con, indicator(rule), RUN)}
        assert json.loads(out["K1:210100:2026-W46"]["evidence"])["category"] == "副食", rule
