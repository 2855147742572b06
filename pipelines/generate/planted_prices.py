"""Scripted prices of the planted listings: each price anomaly of world.PLANT_KINDS, acted out day by day.

A planted price listing shows no generic promotion and takes no checkout captures (except the paired
probes, whose different prices per account are made in price_rows.py).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .power import phantom_hidden, target
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
    # spikes last: a power spike is priced against its SKU's offers of the day (spike_price), which other plants of
    # the same SKU (a collusion cell, a run-up) have already set; in the default mode the order changes nothing
    for p in sorted(w.plants, key=lambda p: p.kind == "spike"):
        li = np.array(p.params["listings"])
        b = w.sku_base[p.sku] * book.cost[w.sku_cat[p.sku]]
        k, t0 = p.kind, p.t0
        if k in CLEAN_PRICE_KINDS:
            continue
        st = p.params.get("strength")   # power mode (power.STATISTICS): the planted statistic is st x threshold
        offer.checkout_ok[li] = False
        ptype[li] = 0
        ref[li] = np.nan
        disclosed[li] = False
        if k == "cn7":
            pr = round(b, 2)
            price[li] = pr
            order_price[li] = pr
            if t0 - 7 <= t < t0:       # trades only with a checkout coupon at 80 % (power: RPI = target)
                order_price[li] = round(pr * (0.8 if st is None else 1 / target("cn7", st)), 2)
            if t0 <= t <= t0 + 3:      # "原价" = tag price never traded in the 7 days before
                price[li] = order_price[li] = round(pr * 0.9, 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, pr, t0, False
        elif k == "eu30":
            pr = round(b, 2)
            price[li] = order_price[li] = pr
            lo, hi = (t0 - 25, t0 - 16)
            if p.params.get("context") == "new_shop":   # a shop open for 14 days ran its earlier promotion in them
                lo, hi = (t0 - 12, t0 - 8)
            if lo <= t <= hi:   # earlier honest promotion at 80 % (power: overstatement = target)
                price[li] = order_price[li] = round(pr * (0.8 if st is None else 0.85 / (0.85 + target("eu30", st))), 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, pr, lo, True
            if t0 <= t <= t0 + 3:        # new "15 % off" against the pre-promotion price
                price[li] = order_price[li] = round(pr * 0.85, 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, pr, t0, True
        elif k == "runup":
            pr = round(b * 0.92, 2)
            raise_ = 1.25 if st is None else target("runup", st)
            price[li] = order_price[li] = pr
            if t0 - 10 <= t < t0:
                price[li] = order_price[li] = round(pr * raise_, 2)
            if t0 <= t <= t0 + 3:
                price[li] = order_price[li] = round(pr * 0.85, 2)
                ptype[li], ref[li], pstart[li], disclosed[li] = 1, round(pr * raise_, 2), t0, False
        elif k == "phantom":
            pr = book.reg[li]
            price[li] = order_price[li] = pr
            ptype[li], ref[li], pstart[li], disclosed[li] = 1, np.round(pr * 1.6, 2), -PHANTOM_HISTORY_DAYS, True
            if st is not None and phantom_hidden(t, st):   # power: shown on target("phantom") of the days
                ptype[li], ref[li] = 0, np.nan
        elif k == "spike":
            pr = round(b * 1.0, 2)
            price[li] = order_price[li] = pr
            if t0 <= t <= t0 + 2:
                price[li] = round(b * 2.5, 2) if st is None else spike_price(w, offer, p, st)
                rate[li] = 0
        elif k == "below":
            price[li] = order_price[li] = round(b * 0.75, 2)
            # gaining share: orders double every 10 days, reaching 12 a day on the last day, so the share
            # of any 28-day window's recent half is ~2.6x the prior half's (whichever day is judged)
            rate[li] = max(0.3, 12.0 * 2.0 ** ((t - (book.days - 1)) / 10.0))
            if st is not None:   # power: a step up 14 days before the key day, expected share z = target
                r1, r2 = p.params["below_rates"]
                rate[li] = r2 if t >= t0 - 13 else r1
        elif k == "variance":
            jit = np.array([-0.002, -0.001, 0.0, 0.001, 0.002])[: len(li)]
            if st is not None:   # power: cell CV = target x the category's median CV
                jit = _unit_spread(len(li)) * p.params["cv"]
            price[li] = order_price[li] = np.round(b * 1.2 * (1 + jit), 2)
        elif k == "cover":
            lv = np.array([1.00, 1.18, 1.19, 1.20, 1.21])[: len(li)]
            if st is not None:   # power: RD = 0.18 / sd(losers) = target x the background's median RD
                u = np.arange(len(li) - 1, dtype=float)
                lv = np.concatenate([[1.0], 1.18 + u / np.std(u, ddof=1) * 0.18 / p.params["rd"]])
            price[li] = order_price[li] = np.round(b * lv, 2)
        elif k == "parallel":
            lv = np.array([0.94, 0.98, 1.02, 1.06])[: len(li)]
            if st is None:
                walk = shared_walk(book.seed, p.idx, book.history_days, book.days, t)
            else:                # power: exact ±3 % steps, own noise on them, r = target and PAR 1
                walk = exact_walk(book.seed, p.idx, book.history_days, book.days, t)
                lv = lv * seller_noise(book.seed, p.idx, book.history_days, book.days, t, len(li), st)
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


STEP = 0.03          # the power plants' shared step: exactly ±3 % (in log) every second day
NOISE_CLIP = 0.022   # own noise per step below STEP - min_change (0.005, parallelism.yml) - cent rounding: never flips
#                      nor hides a shared step, so every step is a matched move of both sellers (PAR 1)


def exact_walk(seed: int, plant_idx: int, history_days: int, days: int, t: int) -> float:
    """The power plants' common price path: every second day a step of exactly ±STEP in log, up with probability
    0.5 - 5 x (log level) (so the level reverts to 1 and stays within exp(±0.12)). shared_walk's steps were
    multiplied by a reversion factor and clipped at 0.9 / 1.1, so near the bounds a step shrank to 0-1.5 % and the
    sellers' own noise flipped it: realised PAR 0.43-1 and r below target (docs/ACCURACY.md, "The gaps, explained")."""
    r = np.random.default_rng([seed, 4, plant_idx])
    u = r.random(size=history_days + days + 2)
    level, out = 0.0, {}
    for i, tt in enumerate(range(-history_days, days)):
        if tt % 2 == 0:
            level += STEP if u[i] < min(1.0, max(0.0, 0.5 - 5 * level)) else -STEP
        out[tt] = level
    return float(np.exp(out.get(t, 0.0)))


def clipped_sd(sd_target: float, clip: float = NOISE_CLIP) -> float:
    """sigma of a normal noise whose values clipped at ±clip have sd sd_target (clipping shrinks the variance, which
    would raise the pair correlation above its target): E[min(x², c²)] = s²(2Φ(a) − 1 − 2aφ(a)) + 2c²(1 − Φ(a)),
    a = c / s, solved by bisection."""
    if not 0 <= sd_target < clip:
        raise ValueError(f"own noise sd {sd_target} must be below the clip {clip}")

    def var(s):
        a = clip / s
        phi, cdf = math.exp(-a * a / 2) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(a / math.sqrt(2)))
        return s * s * (2 * cdf - 1 - 2 * a * phi) + 2 * clip * clip * (1 - cdf)
    lo, hi = sd_target, 100 * clip
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if var(mid) < sd_target ** 2 else (lo, mid)
    return hi


def _unit_spread(n: int) -> np.ndarray:
    """n evenly spaced offsets centred on 0 with sample sd 1."""
    u = np.arange(n, dtype=float) - (n - 1) / 2
    return u / np.std(u, ddof=1) if n > 1 else u


def spike_price(w, offer, p, st: float) -> float:
    """Power spike: modified z = target("spike", st) against the SKU's offers of the day (the spike itself the highest of them)."""
    li = p.params["listings"][0]
    mask = (w.l_sku == p.sku) & offer.active
    mask[li] = False
    others = offer.price[mask]
    if len(others) == 0:
        return round(float(offer.price[li]) * 2.5, 2)
    guess = np.append(others, np.inf)       # the spike is above every other offer
    med = float(np.median(guess))
    mad = float(np.median(np.abs(guess - med)))
    if not mad > 0:
        mad = float(np.mean(np.abs(others - med))) * 1.253314 * 0.6745
    return round(med + target("spike", st) * mad / 0.6745, 2)


def seller_noise(seed: int, plant_idx: int, history_days: int, days: int, t: int, n: int, st: float) -> np.ndarray:
    """Cumulative own noise of each of n parallel sellers at day t, added on the shared-step days only, with sd
    chosen so that the pair correlation of daily log changes is target("parallel", st): a step day's common variance
    is STEP², so the own variance is STEP² (1/r − 1), realised after clipping at ±NOISE_CLIP (clipped_sd)."""
    r = target("parallel", st)
    sigma = clipped_sd(STEP * (1 / r - 1) ** 0.5)
    g = np.random.default_rng([seed, 7, plant_idx])
    eps = g.normal(0, sigma, size=(history_days + days + 2, n))
    eps = np.clip(eps, -NOISE_CLIP, NOISE_CLIP)   # never flips nor hides a shared step
    tt = np.arange(-history_days, days)
    on = (tt % 2 == 0) & (tt <= t)
    return np.exp(eps[: len(tt)][on].sum(axis=0))
