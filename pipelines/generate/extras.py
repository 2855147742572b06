"""Listings beside the main world (issue 22): extra enterprises, shops and listings that the new plants need,
drawn from their own random streams so that the main world's rows keep their bytes.

The main world (world.py) draws every day's prices, orders and complaints vectorised over all its listings and
shops; adding a listing there would shift every later draw of the day. The plants of issue 22 only need rows in
the price feed (and, for new merchants, in the register), so they live here:

- listings of *main* shops (an extra product a background shop offers: a failed quality sample, a title with an
  absolute term) and listings of *extra* shops of *extra* enterprises (the multi-homing merchants of
  exclusive.py), each shown on the days [first, last] except an optional gap [gap_from, gap_to];
- a listing's title is its own (`add_title` makes a catalogue entry with the SKU's id and the listing's title);
- prices are the generic sticky list prices (seller markup ~ N(1, 0.08) over the SKU's base, 3 % of listings
  reprice a day by ~2 %), no promotion, no campaign, no orders: nothing another indicator would read as a signal.
- rows are written by price_rows.PriceRows with observation ids tagged `X` (`PO<date>X-…`), after the day's
  ordinary rows; the days before the common history go into the first drop (like the phantom-reference history).

Random streams: the world of extras `default_rng([seed, 7, 0])`, the day's repricing and row draws
`default_rng([seed, 7, 1, t + 10000])`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .ids import make_uscc
from .price_rows import PriceRows
from .sinks import Sink
from .world import (
    CITY_CODES,
    CITY_NAMES,
    CITY_SHORT,
    MARKUP_SD,
    NAME_PARTS_A,
    NAME_PARTS_B,
    PLATFORMS,
    SHOP_SUFFIX,
    World,
)

EXTRA_HISTORY_DAYS = 112    # the extra listings reach 16 weeks back (multi-homing is judged over the 8 weeks
#                             before an exit, and the exclusive-dealing plants exit up to ~7 weeks before the start)
EXTRA_SHOP_SERIAL = 800001  # extra shops are numbered TM800001, JD800002, ... (never a main shop's number)
EXTRA_ENT_SERIAL = 5001     # and their enterprises' names carry serials from 5001
NEVER = 10**6


@dataclass
class Extras:
    w: World
    start: dt.date
    days: int
    seed: int
    history_days: int
    clean: bool = False
    events: dict = field(default_factory=dict)   # the main world's register events (registers.draw_events)
    # extra enterprises (index = position; combined index = n_main_ent + position)
    ent_city: list = field(default_factory=list)
    # extra shops (combined index = n_main_shop + position)
    shop_ent: list = field(default_factory=list)   # combined enterprise index
    shop_plat: list = field(default_factory=list)
    # extra catalogue entries (combined index = n_main_sku + position)
    cat_sku_id: list = field(default_factory=list)
    cat_name: list = field(default_factory=list)
    cat_cat: list = field(default_factory=list)
    cat_base: list = field(default_factory=list)
    # listings
    l_shop: list = field(default_factory=list)     # combined shop index
    l_sku: list = field(default_factory=list)      # combined catalogue index
    l_first: list = field(default_factory=list)
    l_last: list = field(default_factory=list)
    l_gap: list = field(default_factory=list)      # (gap_from, gap_to) or (NEVER, NEVER)
    truth: list = field(default_factory=list)      # ground truth: ("listing", ind, shop, sku_id, first, last) or
    #                                                a finished row tuple (platform-level rows)

    def __post_init__(self):
        w = self.w
        self.n_ent0, self.n_shop0, self.n_sku0 = len(w.ent_uscc), len(w.shop_id), len(w.sku_id)
        self.rng = np.random.default_rng([self.seed, 7, 0])
        self.first_day = -max(self.history_days, EXTRA_HISTORY_DAYS) if self.history_days > 0 else 0
        self.used_ents: set[int] = set()   # main enterprises that carry an extra plant (one plant each)
        # main enterprises with something on record (a register entry or a planted shop): an extra plant or a
        # spot-check finding goes elsewhere, so the expected tier follows from it alone
        self.on_record: set[int] = {int(e) for k, v in self.events.items()
                                    if not k.endswith(("_t", "_rt", "_amt")) for e in v}
        self.on_record.update(int(e) for e in w.shop_ent[w.shop_plant != ""])
        self._ready = False

    # ---- building -------------------------------------------------------------------------------------------
    def add_enterprise(self, city: int) -> int:
        self.ent_city.append(int(city))
        return self.n_ent0 + len(self.ent_city) - 1

    def add_shop(self, ent: int, plat: int) -> int:
        self.shop_ent.append(int(ent))
        self.shop_plat.append(int(plat))
        return self.n_shop0 + len(self.shop_ent) - 1

    def add_product(self, sku_id: str, name: str, cat: int, base: float) -> int:
        """A catalogue entry: a new product, or a main SKU shown under a listing's own title."""
        self.cat_sku_id.append(sku_id)
        self.cat_name.append(name)
        self.cat_cat.append(int(cat))
        self.cat_base.append(float(base))
        return self.n_sku0 + len(self.cat_sku_id) - 1

    def add_title(self, sku: int, title: str) -> int:
        """Main SKU `sku` offered under its own listing title."""
        w = self.w
        return self.add_product(str(w.sku_id[sku]), title, int(w.sku_cat[sku]), float(w.sku_base[sku]))

    def add_listing(self, shop: int, sku: int, first: int, last: int, gap: tuple[int, int] | None = None) -> int:
        self.l_shop.append(int(shop))
        self.l_sku.append(int(sku))
        self.l_first.append(int(max(first, self.first_day)))
        self.l_last.append(int(last))
        self.l_gap.append(gap or (NEVER, NEVER))
        return len(self.l_shop) - 1

    # ---- lookups over the combined world --------------------------------------------------------------------
    def shop_city(self, s: int) -> int:
        w = self.w
        if s < self.n_shop0:
            return int(w.shop_city[s])
        return self.ent_city[self.shop_ent[s - self.n_shop0] - self.n_ent0]

    def shop_platform(self, s: int) -> int:
        return int(self.w.shop_plat[s]) if s < self.n_shop0 else self.shop_plat[s - self.n_shop0]

    def shop_enterprise(self, s: int) -> int:
        return int(self.w.shop_ent[s]) if s < self.n_shop0 else self.shop_ent[s - self.n_shop0]

    def listed_by(self, s: int) -> set[str]:
        """sku_ids shop `s` already offers (main listings and extra ones)."""
        w = self.w
        out = {str(x) for x in w.sku_id[w.l_sku[w.l_shop == s]]} if s < self.n_shop0 else set()
        for ls, lk in zip(self.l_shop, self.l_sku):
            if ls == s:
                out.add(self.sku_id_of(lk))
        return out

    def pick_shops(self, rng: np.random.Generator, n: int, platforms_not: set | None = None,
                   cities_not: set | None = None) -> list[int]:
        """n background shops of the main world (open since before the history, no planted behaviour), of
        enterprises no other extra plant uses, on distinct platforms and cities (marked as used)."""
        w = self.w
        cand = np.flatnonzero((w.shop_plant == "") & (w.shop_open < -self.history_days - 1))
        cand = cand[rng.permutation(len(cand))]
        plats, cities, out = set(platforms_not or ()), set(cities_not or ()), []
        for s in cand:
            e, p, c = int(w.shop_ent[s]), int(w.shop_plat[s]), int(w.shop_city[s])
            if e in self.used_ents or e in self.on_record or p in plats or c in cities:
                continue
            out.append(int(s))
            self.used_ents.add(e)
            plats.add(p)
            cities.add(c)
            if len(out) == n:
                break
        return out

    def sku_id_of(self, k: int) -> str:
        return str(self.w.sku_id[k]) if k < self.n_sku0 else self.cat_sku_id[k - self.n_sku0]

    def date(self, t: int) -> dt.date:
        return self.start + dt.timedelta(days=int(t))

    # ---- finishing ------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Identifiers and names of the extra enterprises and shops, the shadow world the price rows are written
        from, and the listings' starting prices."""
        w, rng = self.w, self.rng
        ne = len(self.ent_city)
        city = np.array(self.ent_city, int)
        self.ent_uscc = make_uscc(rng, CITY_CODES[city]) if ne else np.array([], "U18")
        taken = set(w.ent_uscc.tolist())
        if taken & set(self.ent_uscc.tolist()):   # astronomically unlikely; never silently reuse a code
            raise RuntimeError("an extra enterprise drew a USCC of the main world")
        a = np.array(NAME_PARTS_A)[rng.integers(0, len(NAME_PARTS_A), ne)]
        b = np.array(NAME_PARTS_B)[rng.integers(0, len(NAME_PARTS_B), ne)]
        serial = np.char.zfill((np.arange(ne) + EXTRA_ENT_SERIAL).astype(str), 4)
        self.ent_name = np.char.add(np.char.add(np.char.add(CITY_NAMES[city], a), np.char.add(b, serial)),
                                    "有限公司") if ne else np.array([], "U1")
        self.ent_est = (np.datetime64("2008-01-01") + rng.integers(0, 5000, ne)).astype("datetime64[D]")
        ns = len(self.shop_ent)
        plat = np.array(self.shop_plat, int)
        prefix = np.array([p[2] for p in PLATFORMS])[plat] if ns else np.array([], "U2")
        self.shop_id = np.char.add(prefix, (np.arange(ns) + EXTRA_SHOP_SERIAL).astype(str)) if ns else \
            np.array([], "U8")
        s_city = city[np.array(self.shop_ent, int) - self.n_ent0] if ns else np.array([], int)
        suffix = np.array(SHOP_SUFFIX)[rng.integers(0, len(SHOP_SUFFIX), ns)]
        s_a = a[np.array(self.shop_ent, int) - self.n_ent0] if ns else np.array([], "U2")
        self.shop_name = np.char.add(np.char.add(np.char.add(CITY_SHORT[s_city], s_a),
                                                 np.char.zfill((np.arange(ns) % 1000).astype(str), 3)), suffix) \
            if ns else np.array([], "U1")
        # the shadow world: main shops + extra shops, main SKUs + extra catalogue entries, extra listings only
        sw = World(start=w.start, days=w.days, scale=w.scale, seed=w.seed)
        sw.shop_id = np.concatenate([w.shop_id, self.shop_id]).astype(str)
        sw.shop_plat = np.concatenate([w.shop_plat, plat]).astype(int)
        sw.shop_city = np.concatenate([w.shop_city, s_city]).astype(int)
        sw.shop_plant = np.concatenate([w.shop_plant, np.full(ns, "extra", dtype=object)])
        sw.sku_id = np.concatenate([w.sku_id, np.array(self.cat_sku_id, dtype=w.sku_id.dtype)]).astype(str)
        sw.sku_name = np.concatenate([w.sku_name.astype(str), np.array(self.cat_name, dtype=str)])
        sw.sku_cat = np.concatenate([w.sku_cat, np.array(self.cat_cat, int)]).astype(int)
        sw.sku_base = np.concatenate([w.sku_base, np.array(self.cat_base, float)])
        sw.l_shop = np.array(self.l_shop, int)
        sw.l_sku = np.array(self.l_sku, int)
        sw.l_probe = np.zeros(len(self.l_shop), bool)
        sw.plants = []
        self.sw = sw
        self.rows = PriceRows(sw, self.start, self.seed)
        n = len(self.l_shop)
        self.markup = np.clip(rng.normal(1.0, MARKUP_SD, n), 0.75, 1.3)
        self.base = sw.sku_base[sw.l_sku] if n else np.zeros(0)
        self.price = np.round(self.base * self.markup, 2)
        self.first = np.array(self.l_first, int)
        self.last = np.array(self.l_last, int)
        gap = np.array(self.l_gap, int).reshape(-1, 2)
        self.gap_from, self.gap_to = gap[:, 0], gap[:, 1]
        self._ready = True

    # ---- day loop -------------------------------------------------------------------------------------------
    def prehistory(self, sinks: dict[str, Sink]) -> None:
        """The extra listings' days before the common history, into the first drop."""
        for t in range(self.first_day, -self.history_days):
            self.day(t, sinks)

    def day(self, t: int, sinks: dict[str, Sink]) -> None:
        """The display row of every extra listing shown on day t (after the day's ordinary rows)."""
        n = len(self.l_shop)
        if not n:
            return
        rng = np.random.default_rng([self.seed, 7, 1, t + 10000])
        ch = rng.random(n) < 0.03
        self.price[ch] = np.round(self.base[ch] * self.markup[ch] * (1 + rng.normal(0, 0.02, ch.sum())), 2)
        on = (self.first <= t) & (t <= self.last) & ~((self.gap_from <= t) & (t <= self.gap_to))
        li = np.flatnonzero(on)
        if not len(li):
            return
        k = len(li)
        self.rows._emit(t, sinks, rng, li, dict(price=self.price[li], ptype=np.zeros(k, np.int8),
                                                ref=np.full(k, np.nan), pstart=np.zeros(k, np.int64),
                                                disc=np.zeros(k, bool)), None, tag="X")

    def registry_cols(self) -> dict | None:
        """Register rows of the extra shops (all in the first drop: a shop that stopped listing stays registered)."""
        ns = len(self.shop_ent)
        if not ns:
            return None
        e = np.array(self.shop_ent, int) - self.n_ent0
        return {"platform": np.array([p[0] for p in PLATFORMS])[np.array(self.shop_plat, int)],
                "shop_id": self.shop_id, "shop_name": self.shop_name, "统一社会信用代码": self.ent_uscc[e],
                "企业名称": self.ent_name[e], "行政区划代码": CITY_CODES[np.array(self.ent_city, int)[e]],
                "成立日期": self.ent_est[e].astype(str)}

    # ---- enterprises of the combined world ------------------------------------------------------------------
    def enterprise(self, e: int) -> tuple[str, str, int]:
        """(uscc, name, city) of combined enterprise index e."""
        w = self.w
        if e < self.n_ent0:
            return str(w.ent_uscc[e]), str(w.ent_name[e]), int(w.ent_city[e])
        j = e - self.n_ent0
        return str(self.ent_uscc[j]), str(self.ent_name[j]), self.ent_city[j]

    def plant_listing(self, ind: str, shop: int, sku_id: str, first: int, last: int) -> None:
        """Record a listing-level ground-truth row (made into a row once the shops have their ids)."""
        self.truth.append(("listing", ind, int(shop), sku_id, int(first), int(last)))

    def truth_rows(self) -> list[tuple]:
        return [self.truth_row(*r[1:]) if r[0] == "listing" else r for r in self.truth]

    def truth_row(self, ind: str, shop: int, sku_id: str, first: int, last: int) -> tuple:
        """A listing-level ground-truth row (platform, shop, uscc and region from the combined world)."""
        uscc = self.enterprise(self.shop_enterprise(shop))[0]
        sid = str(self.w.shop_id[shop]) if shop < self.n_shop0 else str(self.shop_id[shop - self.n_shop0])
        return (ind, PLATFORMS[self.shop_platform(shop)][0], sid, uscc, sku_id,
                str(CITY_CODES[self.shop_city(shop)]), self.date(first), self.date(last))

