"""price.sustained_below_market's peer quantiles, read off the cell's window (issue 23, "Spill, don't die").

A seller's peers on a day are the other offers of its cell (SKU x region x day): the cell without one offer at the
seller's own price. The SQL takes three peer sets per cell-day (the cell without its first offer, without its last,
or without the offer at rank lo + 2) and picks one by where the seller's price falls; these tests hold it to the
definition, computed here from the offers themselves, for every seller of a cell with many ties and days of too few
peers, and to the median over the days of the listing."""

from __future__ import annotations

import math
import random
import statistics
from datetime import date, timedelta

from tests.indicators.given import merchant, observation
from tests.indicators.price._run import days, indicator, rows

RUN = date(2026, 11, 10)
Q, MIN_PEERS = 0.1, 10  # the yml's peer_quantile and min_peers: a day counts with at least 10 peers


def quantile_cont(values, q):
    """Linear interpolation between the closest ranks, (n - 1) * q, as DuckDB's quantile_cont."""
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (pos - lo)


def test_every_sellers_peer_p10_leaves_out_one_own_offer_whatever_its_rank(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.sustained_below_market")
    rnd = random.Random(20261110)
    shops = [f"S{i:02d}" for i in range(14)]
    for s in shops:
        merchant(con, s)
    offers: dict[date, dict[str, float]] = {}
    for d in days(RUN - timedelta(days=9), 10):
        # prices on a coarse grid (many ties, also at the ranks the interpolation reads); a seller is missing on some
        # days, so some days have fewer than 10 peers, and every seller is observed on the run date
        offers[d] = {s: float(rnd.randint(95, 104)) for s in shops if d == RUN or rnd.random() < 0.8}
        for s, p in offers[d].items():
            observation(con, d.isoformat(), s, "K1", p, price_type="list")
    out = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    assert set(out) == set(shops)
    for s in shops:
        p10s, below = [], 0
        for day_offers in offers.values():
            if s not in day_offers:
                continue
            peers = [p for t, p in day_offers.items() if t != s]
            if len(peers) >= MIN_PEERS:
                p10 = quantile_cont(peers, Q)
                p10s.append(p10)
                below += day_offers[s] < p10
        r = out[s]
        assert r["days_with_peers"] == len(p10s) and r["days_below"] == below, (s, r)
        assert math.isclose(r["median_peer_p10"], statistics.median(p10s), rel_tol=0, abs_tol=1e-9), (s, r)
    # the data reach every branch: days with too few peers, and sellers below, at and above the cell's low ranks
    assert any(len(o) - 1 < MIN_PEERS for o in offers.values()) and any(r["days_below"] for r in out.values())
