"""collusion.parallelism scores only the pairs with enough co-move days (issue 23: a cell's pairs grow with the square
of its sellers). Its parallel pairs, their events, PAR and r, the controls and every flag must be those of the SQL
that enumerated every pair (reference_parallelism_before.sql, the file as it was), on adversarial and random cells."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest

from indicators.compute import create_macros
from pipelines.core.sql import bind
from tests.indicators.given import observation
from tests.indicators.price._run import days, indicator

RUN = date(2026, 11, 12)
START = date(2026, 10, 15)     # 29 observed days: the run date's 28-day window of steps and the day before it
N_DAYS = 29
BEFORE = (Path(__file__).parent / "reference_parallelism_before.sql").read_text(encoding="utf-8")
FINAL_SELECT = "\nSELECT\n    'market_cell'"
PAIR_KEY = ("sku_id", "region_a", "shop_a", "shop_b")
PAIR_STATS = ("events", "matched_events", "r", "par", "corr_ok", "candidate", "control_pairs", "control_par_q",
              "parallel")
# parameter sets: the defaults; PAR alone deciding (r_threshold -1); a floor of 1 co-move day (every pair that moved
# together once is scored); a non-integer min_events; a PAR threshold no pair can pass
OVERRIDES = [
    {},
    {"r_threshold": -1.0},
    {"r_threshold": -1.0, "par_threshold": 0.3, "min_events": 2},
    {"r_threshold": -1.0, "par_threshold": 0.6, "min_events": 4.5},
    {"par_threshold": 1.0},
]


def _run(con, sql: str, overrides: dict, what: str = "cells") -> list[dict]:
    """The indicator's rows (`cells`), or its scored cell pairs (`pairs`: the cell_pairs CTE, which both the
    reference and the bounded SQL end with before the cell aggregate)."""
    ind = indicator("collusion.parallelism")
    create_macros(con)
    values = ind.parameters({ind.id: overrides}) | {"run_date": RUN}
    if what == "pairs":
        sql = sql[: sql.index(FINAL_SELECT)] + "\nSELECT * FROM cell_pairs"
    cur = con.execute(sql, bind(sql, values))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _stats(pair: dict) -> dict:
    """The pair's statistics, NaN (r of a flat series) made comparable."""
    return {k: "NaN" if isinstance(pair[k], float) and math.isnan(pair[k]) else pair[k] for k in PAIR_STATS}


def _listed_today(con, sku: str, region: str) -> int:
    return con.execute("SELECT count(DISTINCT shop_id) FROM staging.price_observations WHERE sku_id = ? AND "
                       "region_code = ? AND observed_date = ?", [sku, region, RUN]).fetchall()[0][0]


def _assert_same_screen(con, overrides: dict) -> tuple[int, int]:
    """Old and new agree on every pair the old SQL could call parallel and on every cell flag; returns (pairs the
    old SQL scored, pairs the new one scored)."""
    new_sql = indicator("collusion.parallelism").sql
    old_pairs = {tuple(p[k] for k in PAIR_KEY): p for p in _run(con, BEFORE, overrides, "pairs")}
    new_pairs = {tuple(p[k] for k in PAIR_KEY): p for p in _run(con, new_sql, overrides, "pairs")}
    # every pair the bounded SQL scores has the old events, PAR, r and flags ...
    assert set(new_pairs) <= set(old_pairs)
    for key, pair in new_pairs.items():
        assert _stats(pair) == _stats(old_pairs[key]), key
    # ... and none it leaves out could have been a candidate (so none parallel)
    assert {k for k, p in old_pairs.items() if p["candidate"]} <= set(new_pairs)
    assert {k for k, p in old_pairs.items() if p["parallel"]} == {k for k, p in new_pairs.items() if p["parallel"]}

    old_cells = {c["entity_id"]: c for c in _run(con, BEFORE, overrides)}
    new_cells = {c["entity_id"]: c for c in _run(con, new_sql, overrides)}
    assert set(old_cells) <= set(new_cells)       # every screened cell still has its row
    flagged = {e for e, c in old_cells.items() if c["flagged"]}
    assert flagged == {e for e, c in new_cells.items() if c["flagged"]}
    for e in flagged:
        old, new = old_cells[e], new_cells[e]
        for col in ("severity", "parallel_pairs", "control_pairs", "control_par_quantile", "threshold",
                    "window_start", "window_end", "violates"):
            assert old[col] == new[col], (e, col)
        old_ev, new_ev = json.loads(old["evidence"]), json.loads(new["evidence"])
        assert set(old_ev) == set(new_ev)         # the evidence keys are kept
        assert old_ev["parallel_pair_list"] == new_ev["parallel_pair_list"], e
        # max_par / max_r of a flagged cell: over its screened pairs now, which hold every parallel pair
        assert new["max_par"] >= max(p["par"] for p in json.loads(new["evidence"])["parallel_pair_list"]) - 5e-4
    return len(old_pairs), len(new_pairs)


def _path(con, sku: str, shop: str, moves: dict[int, int], region: str = "210100", missing: tuple[int, ...] = ()):
    """A seller observed every day from START (but `missing`), its price stepping 2 % up (+1) or down (-1) on the
    given day indexes."""
    level = 0
    for k, d in enumerate(days(START, N_DAYS)):
        level += moves.get(k, 0)
        if k not in missing:
            observation(con, d.isoformat(), shop, sku, round(100 * 1.02 ** level, 2), price_type="list",
                        region_code=region)


def _adversarial_market(con):
    """Hand-made pairs at the edges of the matching rule, each its own SKU with two quiet control sellers in other
    regions, in a category of 40 quiet sellers (so that a pair's moves never make a common-move day)."""
    up = {3: 1, 8: 1, 13: -1, 18: 1, 23: -1}
    # matched only through dir_prev / dir_next: B follows A one day later (each co-move matches on two days)
    _path(con, "L1", "A", up)
    _path(con, "L1", "B", {k + 1: v for k, v in up.items()})
    # the same, plus same-day moves: PAR 1, r high but below 1
    _path(con, "L2", "A", up | {25: 1})
    _path(con, "L2", "B", {k + (k in (8, 18)): v for k, v in up.items()} | {25: 1})
    # gaps: B not observed on the day before some co-moves, so B has no step on those days
    _path(con, "G1", "A", up)
    _path(con, "G1", "B", up, missing=(2, 7, 17))
    _path(con, "G1", "C", {k + 1: v for k, v in up.items()}, missing=(8, 19))
    # a common-move day (day 12: every seller of the category cuts) on which the pair also moves
    for s in range(40):
        _path(con, "Q", f"Q{s:02d}", {12: -1}, region="210400")
    _path(con, "M1", "A", {12: -1, 5: 1, 9: 1, 20: -1})
    _path(con, "M1", "B", {12: -1, 5: 1, 9: 1, 20: -1})
    # boundary: 3 co-moves and nothing else (events 3 < 4); 4 co-moves (PAR 4/4); 4 matched of 5 events (0.8);
    # 3 matched of 4 (0.75, not above 0.75)
    _path(con, "B3", "A", {4: 1, 10: -1, 16: 1})
    _path(con, "B3", "B", {4: 1, 10: -1, 16: 1})
    _path(con, "B4", "A", {4: 1, 10: -1, 16: 1, 22: 1})
    _path(con, "B4", "B", {4: 1, 10: -1, 16: 1, 22: 1})
    _path(con, "B5", "A", {4: 1, 10: -1, 16: 1, 22: 1, 26: -1})
    _path(con, "B5", "B", {4: 1, 10: -1, 16: 1, 22: 1})
    _path(con, "B6", "A", {4: 1, 10: -1, 16: 1, 26: -1})
    _path(con, "B6", "B", {4: 1, 10: -1, 16: 1})
    for sku in ("L1", "L2", "G1", "M1", "B3", "B4", "B5", "B6"):
        _path(con, sku, "Z1", {6: 1}, region="210200")
        _path(con, sku, "Z2", {}, region="210300")
    con.execute("UPDATE staging.price_observations SET category = '粮油副食'")


def _random_market(con, seed: int, cell_sellers: int = 40, reverse: bool = False):
    """One SKU with `cell_sellers` sellers in 210100 and 10 in each of 210200 and 210300, 29 days: each seller
    changes price on 8 % of days (up or down), sellers 0..4 also follow a shared path (0..2 the same day, 3..4 a day
    later, each skipping a tenth of it), day 12 is a category-wide cut (a common-move day), 5 % of seller-days are
    not observed. Seeded hashes: the same rows on every run; `reverse` inserts them in the opposite order."""
    con.execute(
        """
        INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id, sku_id,
            region_code, price_type, price, currency, condition, category, _business_date, _file_name, _sha256, _row)
        WITH grid AS (
            SELECT s, k, $start::DATE + k::INTEGER AS d,
                   CASE WHEN s < $n THEN '210100' WHEN s < $n + 10 THEN '210200' ELSE '210300' END AS region,
                   hash($seed, 'own', s, k) % 1000 AS u,
                   hash($seed, 'shared', k - CASE WHEN s BETWEEN 3 AND 4 THEN 1 ELSE 0 END) % 1000 AS shared,
                   hash($seed, 'skip', s, k) % 10 = 0 AS skip,
                   hash($seed, 'gap', s, k) % 100 < 5 AS gap
            FROM range($n + 20) AS a(s), range($days) AS b(k)
        ),
        stepped AS (
            SELECT *, CASE WHEN k = 12 THEN -1
                           WHEN s < 5 AND shared < 200 AND NOT skip THEN CASE WHEN shared < 100 THEN 1 ELSE -1 END
                           WHEN u < 40 THEN 1 WHEN u < 80 THEN -1 ELSE 0 END AS step
            FROM grid
        ),
        priced AS (
            SELECT *, round(100 * (1 + 0.002 * s) * pow(1.02, sum(step) OVER (PARTITION BY s ORDER BY k)), 2) AS price
            FROM stepped
        )
        SELECT 'r' || s || '_' || k, d::TIMESTAMP + INTERVAL 10 HOUR, d, 'tmall', 'S' || lpad(s::VARCHAR, 3, '0'),
               'R1', region, 'list', price, 'CNY', 'new', '粮油副食', d, 'given.csv', 'sha', s * 100 + k
        FROM priced WHERE NOT gap
        ORDER BY CASE WHEN $reverse THEN -(s * 100 + k) ELSE s * 100 + k END
        """,
        {"start": START, "n": cell_sellers, "days": N_DAYS, "seed": seed, "reverse": reverse},
    )


@pytest.mark.parametrize("overrides", OVERRIDES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_adversarial_pairs_screen_exactly_as_with_every_pair(mem_warehouse, overrides):
    _adversarial_market(mem_warehouse)
    _assert_same_screen(mem_warehouse, overrides)


def test_adversarial_pairs_expected_flags(mem_warehouse):
    """The hand-made cases decide as designed (defaults): B4 (4 of 4) and B5 (4 of 5) flagged; B3 (3 events),
    B6 (PAR 3 / 4 = 0.75), the lagged pairs L1 / L2 (r too low) and M1 (its common-move day left out: 3 events) not."""
    con = mem_warehouse
    _adversarial_market(con)
    sql = indicator("collusion.parallelism").sql
    cells = {c["sku_id"]: c for c in _run(con, sql, {}) if c["region_code"] == "210100"}
    assert {s for s, c in cells.items() if c["flagged"]} == {"B4", "B5"}
    assert cells["B3"]["pairs"] == 1 and cells["B3"]["max_par"] == 0 and cells["B3"]["max_r"] is None  # not scored
    assert cells["G1"]["pairs"] == 3
    pairs = {(p["sku_id"], p["shop_a"], p["shop_b"]): p for p in _run(con, sql, {}, "pairs")}
    assert pairs[("L1", "A", "B")]["matched_events"] == pairs[("L1", "A", "B")]["events"] == 10  # 5 moves x 2 days
    assert pairs[("B5", "A", "B")]["par"] == 0.8
    assert ("B3", "A", "B") not in pairs and ("B6", "A", "B") not in pairs and ("M1", "A", "B") not in pairs
    assert pairs[("G1", "A", "C")]["events"] == 7                       # C's gaps: A's 5 moves and C's 2 of 5


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("overrides", OVERRIDES[:3], ids=["defaults", "r-1", "floor1"])
def test_random_sparse_cells_screen_exactly_as_with_every_pair(mem_warehouse, seed, overrides):
    _random_market(mem_warehouse, seed)
    old_scored, new_scored = _assert_same_screen(mem_warehouse, overrides)
    n = _listed_today(mem_warehouse, "R1", "210100")
    assert old_scored >= n * (n - 1) // 2 * 0.9         # the reference scored (nearly) every pair of the cells
    if overrides.get("min_events") != 2:
        assert new_scored < old_scored / 10           # the bounded SQL a few


def test_random_cell_has_parallel_pairs_and_all_pairs_counted(mem_warehouse):
    _random_market(mem_warehouse, 1)
    cell = {c["entity_id"]: c for c in _run(mem_warehouse, indicator("collusion.parallelism").sql, {})}
    r1 = cell["R1:210100:2026-W46"]
    n = _listed_today(mem_warehouse, "R1", "210100")
    assert r1["flagged"] and r1["pairs"] == n * (n - 1) // 2 and r1["control_pairs"] > 0


def test_control_sellers_are_a_fixed_sample_per_region_independent_of_row_order(mem_warehouse):
    con = mem_warehouse
    _random_market(con, 1)
    ind = indicator("collusion.parallelism")
    capped = {"max_control_sellers_per_region": 3}
    first = {c["entity_id"]: c for c in _run(con, ind.sql, capped)}["R1:210100:2026-W46"]
    assert first["control_pairs"] == 3 * 3 * 3          # 3 sellers in each of 3 regions: 27 cross-region pairs
    con.execute("DELETE FROM staging.price_observations")
    _random_market(con, 1, reverse=True)
    again = {c["entity_id"]: c for c in _run(con, ind.sql, capped)}["R1:210100:2026-W46"]
    assert again == first


def test_control_pool_stops_once_its_cross_region_pairs_reach_control_pair_pool(mem_warehouse):
    con = mem_warehouse
    _random_market(con, 2)
    ind = indicator("collusion.parallelism")
    out = {c["entity_id"]: c for c in _run(con, ind.sql, {"r_threshold": -1.0, "control_pair_pool": 100})}
    pool = out["R1:210100:2026-W46"]["control_pairs"]
    # the first sellers in md5 order until their cross-region pairs reach 100; the last one adds fewer than 60
    assert 100 <= pool < 160
    full = {c["entity_id"]: c for c in _run(con, ind.sql, {"r_threshold": -1.0})}["R1:210100:2026-W46"]
    n = [_listed_today(con, "R1", r) for r in ("210100", "210200", "210300")]
    assert full["control_pairs"] == n[0] * n[1] + n[0] * n[2] + n[1] * n[2]   # below the pool: every cross pair
