"""Scripted prices of the planted listings: each price anomaly of world.PLANT_KINDS, acted out day by day.

A planted price listing shows no generic promotion and takes no checkout captures (except the paired
probes, whose different prices per account are made in price_rows.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .world import PHANTOM_HISTORY_DAYS

if TYPE_CHECKING:   # type hints only: prices.py imports this module
    from .prices import Offer, PriceBook

# plants whose listings keep the generic sticky list price (they misbehave in orders, reviews or complaints)
CLEAN_PRICE_KINDS = ("loyalty", "rate", "untimely", "surge", "brush", "burst", "latency", "buyerconc")


def plant_prices(book: PriceBook, t: int, offer: Offer) -> None:
    """Overwrite `offer` for every planted listing on day t."""
    w = book.w
    price, order_price, rate = offer.price, offer.order_price, offer.rate
    ptype, ref, pstart, disclosed = offer.ptype, offer.ref, offer.pstart, offer.disclosed
    for p in w.plants:
        li = np.array(p.params["listings"])
        b = w.sku_base[p.sku] * book.cost[w.sku_cat[p.sku]]
        k, t0 = p.kind, p.t0
        if k in CLEAN_PRICE_KINDS:
            continue
        offer.checkout_ok[li] = False
        ptype[li] = 0
        ref[li] = np.nan
        disclosed[li] = False
        if k == "cn7":
            pr = round(b, 2)
            price[li] = pr
            order_price[li] = pr
            if t0 - 7 <= t < t0:       # trades only with a checkout coupon at 80 %
                order_price[li] = round(pr * 0.8, 2)
            if t0 <= t <= t0 + 3:      # "原价" = tag price never traded in the 7 days before
                price[li] = order_price[li] = round(pr * 0.9, 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, pr, t0, False
        elif k == "eu30":
            pr = round(b, 2)
            price[li] = order_price[li] = pr
            if t0 - 25 <= t <= t0 - 16:   # earlier honest promotion at 80 %
                price[li] = order_price[li] = round(pr * 0.8, 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, pr, t0 - 25, True
            if t0 <= t <= t0 + 3:        # new "15 % off" against the pre-promotion price
                price[li] = order_price[li] = round(pr * 0.85, 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, pr, t0, True
        elif k == "runup":
            pr = round(b * 0.92, 2)
            price[li] = order_price[li] = pr
            if t0 - 10 <= t < t0:
                price[li] = order_price[li] = round(pr * 1.25, 2)
            if t0 <= t <= t0 + 3:
                price[li] = order_price[li] = round(pr * 0.85, 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, round(pr * 1.25, 2), t0, False
        elif k == "phantom":
            pr = book.reg[li]
            price[li] = order_price[li] = pr
            ptype[li], ref[li], pstart[li], disclosed[li] = 1, np.round(pr * 1.6, 2), -PHANTOM_HISTORY_DAYS, True
        elif k == "spike":
            pr = round(b * 1.0, 2)
            price[li] = order_price[li] = pr
            if t0 <= t <= t0 + 2:
                price[li] = round(b * 2.5, 2)
                rate[li] = 0
        elif k == "below":
            price[li] = order_price[li] = round(b * 0.75, 2)
            # gaining share: orders double every 10 days, reaching 12 a day on the last day, so the share
            # of any 28-day window's recent half is ~2.6x the prior half's (whichever day is judged)
            rate[li] = max(0.3, 12.0 * 2.0 ** ((t - (book.days - 1)) / 10.0))
        elif k == "variance":
            jit = np.array([-0.002, -0.001, 0.0, 0.001, 0.002])[: len(li)]
            price[li] = order_price[li] = np.round(b * 1.2 * (1 + jit), 2)
        elif k == "cover":
            lv = np.array([1.00, 1.18, 1.19, 1.20, 1.21])[: len(li)]
            price[li] = order_price[li] = np.round(b * lv, 2)
        elif k == "parallel":
            walk = shared_walk(book.seed, p.idx, book.history_days, book.days, t)
            lv = np.array([0.94, 0.98, 1.02, 1.06])[: len(li)]
            price[li] = order_price[li] = np.round(b * lv * walk, 2)
        elif k == "probe":
            offer.checkout_ok[li] = True
            price[li] = order_price[li] = book.reg[li]


def shared_walk(seed: int, plant_idx: int, history_days: int, days: int, t: int) -> float:
    """A common price path for the parallel sellers: every second day a ±3 % step together."""
    r = np.random.default_rng([seed, 4, plant_idx])
    steps = r.choice([-0.03, 0.03], size=history_days + days + 2)
    level, out = 1.0, {}
    for i, tt in enumerate(range(-history_days, days)):
        if tt % 2 == 0:
            level = float(np.clip(level * (1 + steps[i]) * (1 - 0.2 * (level - 1)), 0.9, 1.1))
        out[tt] = level
    return out.get(t, 1.0)
