"""What every listing offers each day: a sticky list price, ordinary promotions, the two shopping
festivals (双11, 618), a common cost shock, and the demand (expected orders) that goes with it.

The planted listings then override this with their scripted behaviour (planted_prices.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .planted_prices import plant_prices
from .world import CATEGORIES, SHOCK_CATEGORY, World

# promotion kinds of a listing
NO_PROMO, PROMO, CAMPAIGN = 0, 1, 2
CAMPAIGN_BOOST = {0: 1.0, 1: 1.4, 2: 3.0}   # demand multiplier of campaign listings per festival phase
PROMO_UPLIFT = 1.3   # demand multiplier of a listing while its promotion is on


@dataclass
class Offer:
    """One day's offer of every listing (arrays indexed by listing)."""
    active: np.ndarray        # the shop is open
    price: np.ndarray         # shown price
    ptype: np.ndarray         # 0 list, 1 promo (with a reference price)
    ref: np.ndarray           # reference ("原价") price of a promotion, nan otherwise
    pstart: np.ndarray        # day the promotion started
    disclosed: np.ndarray     # the basis of the reference price is disclosed
    order_price: np.ndarray   # price paid at checkout
    rate: np.ndarray          # expected orders of the day
    checkout_ok: np.ndarray   # checkout captures may be taken (False for planted price listings)

    def release_shown(self) -> None:
        """Free what only the day's price rows read, before the orders are made (the day's memory peak)."""
        self.ptype = self.ref = self.pstart = self.disclosed = self.checkout_ok = None


def campaign_phase(day: dt.date) -> int:
    """2 on a festival's peak or eve, 1 in the 9 days of warm-up before it, else 0."""
    for m, dd in ((11, 11), (6, 18)):
        peak = dt.date(day.year, m, dd)
        delta = (peak - day).days
        if 0 <= delta <= 1:
            return 2
        if 2 <= delta <= 10:
            return 1
    return 0


class PriceBook:
    """Price state of every listing, carried from day to day."""

    def __init__(self, w: World, start: dt.date, days: int, seed: int, history_days: int):
        self.w = w
        self.start = start
        self.days = days
        self.seed = seed
        self.history_days = history_days
        n = len(w.l_shop)
        self.reg = np.round(w.sku_base[w.l_sku] * w.l_markup, 2)   # sticky list price
        self.pkind = np.zeros(n, np.int8)      # NO_PROMO / PROMO / CAMPAIGN
        self.pstart = np.zeros(n, np.int32)   # day offsets: int32 spares 8 bytes a listing
        self.pend = np.zeros(n, np.int32)
        self.pdisc = np.zeros(n)
        self.pref = np.zeros(n)
        self.pdisclosed = np.zeros(n, bool)
        self.last_trade = np.full(n, np.nan, np.float32)
        # offered prices of the last 30 days; a run of fewer days keeps a slot per day it has (the same minimum:
        # a slot of a day before the run is empty either way), so a one-day scale-850 world spares 6.8 GB
        self.ring = np.full((min(30, history_days + days), n), np.nan, np.float32)
        self.cost = np.ones(len(CATEGORIES))

    def offer(self, t: int, rng: np.random.Generator) -> Offer:
        # memory: a scale-850 day has 59 M listings, so every temporary of this function is 0.5 GB per byte per
        # listing; the arithmetic is done in place, in the same order as written (the same bytes, less memory)
        w = self.w
        n = len(w.l_shop)
        active = w.shop_open[w.l_shop] <= t
        # common cost shock: one category reprices upward at once (a trap for parallelism/run-up)
        if t == min(3, self.days - 1):
            self.cost[SHOCK_CATEGORY] *= 1.08
            m = w.sku_cat[w.l_sku] == SHOCK_CATEGORY
            self.reg[m] = np.round(self.reg[m] * 1.08, 2)
        # sticky list prices: a few listings reprice each day
        ch = rng.random(n) < 0.03
        self.reg[ch] = np.round(w.sku_base[w.l_sku[ch]] * w.l_markup[ch] * self.cost[w.sku_cat[w.l_sku[ch]]]
                                * (1 + rng.normal(0, 0.02, ch.sum())), 2)
        del ch
        self.pkind[(self.pkind > NO_PROMO) & (t > self.pend)] = NO_PROMO
        phase = campaign_phase(self.start + dt.timedelta(days=t))
        self._start_promotions(t, rng, phase)
        on = self.pkind > NO_PROMO
        # price = where(on, round(min(reg, pref) * (1 - depth), 2), reg), depth = (0.5 on a warm-up campaign else 1)
        # x the promotion's discount
        factor = np.where((self.pkind == CAMPAIGN) & (phase == 1), 0.5, 1.0)
        factor *= self.pdisc
        np.subtract(1, factor, out=factor)
        price = np.minimum(self.reg, self.pref)
        price *= factor
        del factor
        np.round(price, 2, out=price)
        np.copyto(price, self.reg, where=~on)
        rate = w.l_rate * active
        rate *= np.where(on, PROMO_UPLIFT, 1.0)
        rate *= np.where(w.l_campaign, CAMPAIGN_BOOST[phase], 1.0)
        if phase:
            rate[np.isin(w.l_shop, w.popular_shops)] *= 2.0
        offer = Offer(active=active, price=price, ptype=on.astype(np.int8), ref=np.where(on, self.pref, np.nan),
                      pstart=self.pstart.copy(), disclosed=self.pdisclosed.copy(), order_price=price.copy(),
                      rate=rate, checkout_ok=np.ones(n, bool))
        # planted price behaviour (overrides the generic dynamics of those listings)
        plant_prices(self, t, offer)
        return offer

    def _start_promotions(self, t: int, rng: np.random.Generator, phase: int) -> None:
        """Festival campaigns (whole campaign range at once) and a few ordinary promotions a day."""
        w = self.w
        if phase > 0:
            idx = np.flatnonzero(w.l_campaign & (self.pkind != CAMPAIGN))
            if len(idx):
                self.pref[idx] = self._honest_ref(idx)
                self.pkind[idx] = CAMPAIGN
                self.pstart[idx] = t
                self.pend[idx] = t + 12
                self.pdisc[idx] = rng.choice([0.10, 0.15, 0.20], len(idx))
                self.pdisclosed[idx] = rng.random(len(idx)) < 0.5
        else:
            self.pkind[self.pkind == CAMPAIGN] = NO_PROMO
        new = np.flatnonzero(w.l_promos & (self.pkind == NO_PROMO) & (rng.random(len(w.l_shop)) < 0.012))
        if len(new):
            self.pref[new] = self._honest_ref(new)
            self.pkind[new] = PROMO
            self.pstart[new] = t
            self.pend[new] = t + rng.integers(2, 7, len(new))
            self.pdisc[new] = np.round(rng.uniform(0.05, 0.2, len(new)), 2)
            self.pdisclosed[new] = rng.random(len(new)) < 0.5

    def _honest_ref(self, idx: np.ndarray) -> np.ndarray:
        """A lawful reference price: the lowest offered in 30 days, last traded, or listed now."""
        m = np.nanmin(np.where(np.isnan(self.ring[:, idx]), np.inf, self.ring[:, idx]), axis=0)
        lt = np.where(np.isnan(self.last_trade[idx]), np.inf, self.last_trade[idx])
        return np.round(np.minimum(np.minimum(m, lt), self.reg[idx]), 2)

    def record_trades(self, listings: np.ndarray, prices: np.ndarray) -> None:
        has = ~np.isnan(prices)
        self.last_trade[listings[has]] = prices[has]

    def remember(self, t: int, offer: Offer) -> None:
        """Keep the day's offered prices (EU 30-day rule) for honest references."""
        self.ring[t % len(self.ring)] = np.where(offer.active, offer.price, np.nan)
