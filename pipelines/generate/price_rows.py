"""The price_observations rows of a day: shown prices, checkout captures, paired probes, and rows that must
never raise a flag (second-hand, refurbished, foreign currency, failed scrape). Also the long strike-through
history of the phantom-reference shops, written into the first drop.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fmt
from .power import phantom_hidden, target
from .prices import Offer, PriceBook
from .sinks import Sink
from .world import CATEGORIES, CITY_CODES, PHANTOM_HISTORY_DAYS, PLANT_KINDS, PLATFORM_IDS, World

PROBE_ROUNDS = (10 * 3600, 15 * 3600, 21 * 3600)
PROBE_COHORTS = ("new", "existing", "vip", "control", "control")
PRICE_TYPES = np.array(["list", "promo", "checkout"])
# devices are drawn and carried as indices (1 byte a row, not 48 of a numpy string) and named chunk by chunk
DEVICES = np.array(["pc", "android", "ios", "mini_program"])
PC, ANDROID = 0, 1
CHECKOUT = 2
CHUNK = 500_000   # bounded memory: strings are built and written half a million rows at a time


class PriceRows:
    def __init__(self, w: World, start: dt.date, seed: int):
        self.w = w
        self.start = start
        self.seed = seed
        self.e0 = fmt.epoch_day(start)
        # string tables per shop / SKU; per-row strings are taken from them chunk by chunk
        self.sku_id = pa.array(w.sku_id)
        self.shop_id = pa.array(w.shop_id)
        self.t_shop_plat = fmt.take(PLATFORM_IDS, w.shop_plat)
        self.t_shop_region = fmt.take(CITY_CODES, w.shop_city)
        self.t_sku_name = pa.array(w.sku_name)
        self.t_sku_cat = fmt.take(np.array([c[0] for c in CATEGORIES]), w.sku_cat)
        self.probe_listings = [x for p in w.plants if p.kind == "probe" for x in p.params["listings"]]
        # cohort premium of each planted probe listing (1.12; power mode: 1 + the target gap)
        self.probe_premium = {x: (1.12 if "strength" not in p.params else 1 + target("probe", p.params["strength"]))
                              for p in w.plants if p.kind == "probe" for x in p.params["listings"]}
        self.premium_listings = np.array(sorted(self.probe_premium), dtype=np.int64)
        self.premium_values = np.array([self.probe_premium[int(x)] for x in self.premium_listings])

    def phantom_prehistory(self, sinks: dict[str, Sink], book: PriceBook) -> None:
        """The phantom-reference shops show their strike-through price for 100 days: the days before
        the common history are written (price rows only) into the first drop."""
        phantoms = [p for p in self.w.plants if p.kind == "phantom"]
        li = np.array([x for p in phantoms for x in p.params["listings"]])
        if len(li) == 0:
            return
        strength = np.array([p.params.get("strength", 0.0) for p in phantoms for _ in p.params["listings"]])
        for t in range(-PHANTOM_HISTORY_DAYS, -book.history_days):
            rng = np.random.default_rng([self.seed, 3, t + 10000])
            price = book.reg[li]
            # power mode: a listing is shown only once its shop is open, and hides its strike-through on 20 %/s of days
            ok = self.w.shop_open[self.w.l_shop[li]] <= t
            shown = np.array([not (s_ and phantom_hidden(t, s_)) for s_ in strength], bool)
            if not ok.all() or not shown.all():
                self._emit(t, sinks, rng, li[ok], dict(price=price[ok], ptype=shown[ok].astype(np.int8),
                                                        ref=np.where(shown[ok], np.round(price[ok] * 1.6, 2), np.nan),
                                                        pstart=np.full(int(ok.sum()), -PHANTOM_HISTORY_DAYS),
                                                        disc=shown[ok]), book.reg, tag="H")
                continue
            self._emit(t, sinks, rng, li, dict(price=price, ptype=np.ones(len(li), np.int8),
                                                ref=np.round(price * 1.6, 2),
                                                pstart=np.full(len(li), -PHANTOM_HISTORY_DAYS),
                                                disc=np.ones(len(li), bool)), book.reg, tag="H")

    def day(self, t: int, sinks: dict[str, Sink], rng: np.random.Generator, offer: Offer,
            book: PriceBook) -> None:
        """Every open listing's observation of day t, plus captures, probes and harmless odd rows."""
        li = np.flatnonzero(offer.active)
        # the offer's arrays stay per listing and are taken for a chunk of rows at a time: copied per row first,
        # they would cost 22 bytes a row of the day (1.3 GB at 59 M listings) for no other use
        self._emit(t, sinks, rng, li, dict(price=offer.price, ptype=offer.ptype, ref=offer.ref,
                                            pstart=offer.pstart, disc=offer.disclosed),
                   book.reg, checkout_ok=offer.checkout_ok[li])

    def _emit(self, t, sinks, rng, li, shown: dict, reg, checkout_ok=None, tag=""):
        """Write the observations of listings `li` showing `shown` (price, ptype, ref, pstart, disc); on an ordinary
        day (`tag` "") `shown` is the offer's, one value per listing, and checkout captures, paired probes and the
        harmless odd rows are added; the phantom prehistory (`tag` "H") gives one value per row."""
        per_listing = tag == ""
        n = len(li)
        secs = rng.integers(8 * 3600, 22 * 3600, n)
        parts = [dict(li=li, **({} if per_listing else shown), secs=secs, cohort=None,
                      device=rng.choice(len(DEVICES), n).astype(np.int8), cond=None, cur=None)]
        if per_listing:   # an ordinary day
            by_listing = shown["price"]
            # checkout (payable) captures for a quarter of the listings
            m = checkout_ok & (rng.random(n) < 0.25)
            ci = li[m]
            parts.append(dict(li=ci, price=by_listing[ci], ptype=np.full(len(ci), CHECKOUT, np.int8),
                              ref=np.full(len(ci), np.nan), pstart=None, disc=None,
                              secs=secs[m] + rng.integers(5, 300, len(ci)), cohort=None,
                              device=parts[0]["device"][m], cond=None, cur=None))
            parts += self._probes(rng, li, by_listing)
            parts += self._odd_rows(rng, li, reg)
        seq0 = 0
        day = self.start + dt.timedelta(days=t)
        prefix = f"PO{day.strftime('%Y%m%d')}{tag}-"
        date_s = day.isoformat() + " "
        for i, whole in enumerate(parts):
            total = len(whole["li"])
            for c0 in range(0, total, CHUNK):
                sl = slice(c0, min(total, c0 + CHUNK))
                part = {k: (v[sl] if isinstance(v, np.ndarray) else v) for k, v in whole.items()}
                if i == 0 and per_listing:
                    part |= {k: v[part["li"]] for k, v in shown.items()}
                seq0 = self._write(sinks, part, prefix, date_s, seq0)

    def _probes(self, rng, li, price) -> list[dict]:
        """Paired probes: 3 rounds x 5 accounts (two controls) at the same minute; `price` per listing."""
        pi = li[self.w.l_probe[li]]
        if not len(pi):
            return []
        pp = price[pi]
        reps = len(PROBE_ROUNDS) * len(PROBE_COHORTS)
        pli = np.repeat(pi, reps)
        cohort = np.tile(np.arange(len(PROBE_COHORTS), dtype=np.int8), len(pi) * len(PROBE_ROUNDS))  # as indices
        rnd = np.tile(np.repeat(np.array(PROBE_ROUNDS), len(PROBE_COHORTS)), len(pi))
        noise = np.where(rng.random(len(pli)) < 0.08, rng.uniform(-0.004, 0.004, len(pli)), 0.0)
        prc = np.repeat(pp, reps) * (1 + noise)
        planted = np.isin(pli, self.probe_listings)
        premium = np.ones(len(pi))   # 1 but for the planted listings (found by a sorted search, not a dict per row)
        if len(self.premium_listings):
            pos = np.minimum(np.searchsorted(self.premium_listings, pi), len(self.premium_listings) - 1)
            hit = self.premium_listings[pos] == pi
            premium[hit] = self.premium_values[pos[hit]]
        prc = np.where(planted & np.isin(cohort, [PROBE_COHORTS.index("existing"), PROBE_COHORTS.index("vip")]),
                       np.repeat(pp * premium, reps), prc)
        return [dict(li=pli, price=np.round(prc, 2), ptype=np.full(len(pli), CHECKOUT, np.int8),
                     ref=np.full(len(pli), np.nan), pstart=None, disc=None,
                     secs=rnd + rng.integers(0, 90, len(pli)), cohort=cohort,
                     device=np.full(len(pli), ANDROID, np.int8), cond=None, cur=None)]

    def _odd_rows(self, rng, li, reg) -> list[dict]:
        """Rows that must never produce flags: second-hand, refurbished, foreign-currency, failed scrape."""
        w = self.w
        n = len(li)
        k = max(4, n // 2000)
        planted_shop = np.isin(w.shop_plant, list(PLANT_KINDS))   # per shop, then per row (not a string per row)
        ji = rng.choice(li[~planted_shop[w.l_shop[li]]], size=k) if n else li[:0]
        if not len(ji):
            return []
        kind = np.arange(k) % 4
        jp = reg[ji] * np.choose(kind, [0.4, 0.7, 1 / 7.1, 1.0])
        jp = np.where(kind == 3, np.nan, jp)
        return [dict(li=ji, price=np.round(jp, 2), ptype=np.zeros(k, np.int8), ref=np.full(k, np.nan),
                     pstart=None, disc=None, secs=rng.integers(8 * 3600, 22 * 3600, k), cohort=None,
                     device=np.full(k, PC, np.int8), cond=np.choose(kind, np.array(["used", "refurbished", "new", "new"])),
                     cur=np.choose(kind, np.array(["CNY", "CNY", "USD", "CNY"])))]

    def _write(self, sinks, part, prefix, date_s, seq0):
        m = len(part["li"])
        if m == 0:
            return seq0
        sh = pa.array(self.w.l_shop[part["li"]])
        sk = pa.array(self.w.l_sku[part["li"]])
        plat, shop, sku = self.t_shop_plat.take(sh), self.shop_id.take(sh), self.sku_id.take(sk)
        is_promo = part["ptype"] == 1
        if part["pstart"] is not None and is_promo.any():
            ps = fmt.dates(self.e0 + part["pstart"], valid=is_promo)
            ds = pa.array(np.where(part["disc"], "true", "false"))
            ds = pc.if_else(pa.array(is_promo), ds, pa.nulls(m, pa.string()))
        else:
            ps = ds = None
        sinks["price"].write({
            "observation_id": fmt.join(prefix, fmt.zint(np.arange(seq0, seq0 + m), 8)),
            "observed_at": fmt.join(date_s, fmt.hms_table().take(pa.array(np.minimum(part["secs"], 86399)))),
            "platform": plat, "shop_id": shop, "sku_id": sku, "variant": "标准装",
            "product_name": self.t_sku_name.take(sk), "category": self.t_sku_cat.take(sk),
            "region_code": self.t_shop_region.take(sh),
            "price_type": pa.array(PRICE_TYPES[part["ptype"]]), "price": fmt.money(part["price"]),
            "currency": part["cur"] if part["cur"] is not None else "CNY",
            "reference_price": fmt.money(part["ref"]), "promo_start": ps, "basis_disclosed": ds,
            "account_cohort": None if part["cohort"] is None else np.array(PROBE_COHORTS)[part["cohort"]],
            "device": DEVICES[part["device"]],
            "condition": part["cond"] if part["cond"] is not None else "new",
            "url": fmt.join("https://", plat, ".example.cn/", shop, "/", sku)})
        return seq0 + m
