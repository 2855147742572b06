"""The Olist-shaped marketplace files: the product catalogue of the first drop, and each day's orders with
their items, payments and customers (reviews: reviews.py). Planted buyer behaviour (loyalty premium,
brushing, rating bursts, fast answers, one dominant buyer) is added to the ordinary orders here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from . import fmt
from .power import burst_count, fast_order_share, target
from .reviews import BURST, CANCELED, FAST, NO_REVIEW, NORMAL, SHIPPED, ReviewQueue
from .sinks import Sink
from .world import CATEGORIES, CITY_CODES, CITY_NAMES, World, zip_prefix

NO_BURST = -10**6   # burst_day of an order that is not part of a rating burst
LOYAL_NEWCOMERS = 34   # new buyers a day of a planted loyalty-premium listing, next to as many regulars
PAYMENT_TYPES = np.array(["alipay", "wechat_pay", "credit_card", "debit_card"])


def write_products(sinks: dict[str, Sink], w: World, seed: int) -> None:
    """The product catalogue and category translation (first drop only)."""
    n_sku = len(w.sku_id)
    rng = np.random.default_rng([seed, 2])
    cat_cn = np.array([c[0] for c in CATEGORIES])
    sinks["olist_products_dataset.csv"].write({
        "product_id": w.sku_id, "product_category_name": cat_cn[w.sku_cat],
        "product_name_lenght": fmt.ints(rng.integers(10, 60, n_sku)),
        "product_description_lenght": fmt.ints(rng.integers(100, 1500, n_sku)),
        "product_photos_qty": fmt.ints(rng.integers(1, 8, n_sku)),
        "product_weight_g": fmt.ints(rng.integers(100, 8000, n_sku)),
        "product_length_cm": fmt.ints(rng.integers(10, 60, n_sku)),
        "product_height_cm": fmt.ints(rng.integers(2, 40, n_sku)),
        "product_width_cm": fmt.ints(rng.integers(10, 50, n_sku))})
    sinks["product_category_name_translation.csv"].write({
        "product_category_name": cat_cn, "product_category_name_english": np.array([c[1] for c in CATEGORIES])})


class OrderBook:
    """Buyers and orders of the province; `today_by_shop` holds the last day's orders per shop."""

    def __init__(self, w: World, start: dt.date, days: int, scale: float):
        self.w = w
        self.start = start
        self.e0 = fmt.epoch_day(start)
        self.sku_id = pa.array(w.sku_id)
        self.shop_id = pa.array(w.shop_id)
        self.n_persons = int(max(5000, 60 * max(150.0, 5000.0 * scale)))
        self.next_person = 10**8   # buyers made for planted behaviour, never drawn from the ordinary pool
        self.loyal_pool: dict[int, list[np.ndarray]] = {}
        self.fake_group: np.ndarray | None = None
        self.today_by_shop = np.zeros(len(w.shop_id), np.int64)
        self.reviews = ReviewQueue(days)

    def _fresh(self, n: int) -> np.ndarray:
        out = np.arange(self.next_person, self.next_person + n)
        self.next_person += n
        return out

    def day(self, t: int, sinks: dict[str, Sink], rng: np.random.Generator, counts: np.ndarray,
            order_price: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Write day t's orders (`counts` per listing, plus the planted ones) and queue their reviews.
        Returns the (listing, price) of every order, or None when there is none."""
        w = self.w
        li = np.repeat(np.arange(len(w.l_shop)), counts)
        n = len(li)
        secs = rng.integers(0, 86400, n)
        person = rng.integers(0, self.n_persons, n)
        prc = order_price[li]
        mode = np.zeros(n, np.int8)
        burst_day = np.full(n, NO_BURST)
        for e in self._planted(t, rng, li, person, mode, order_price):
            li = np.concatenate([li, e[0]])
            secs = np.concatenate([secs, e[1]])
            person = np.concatenate([person, e[2]])
            prc = np.concatenate([prc, e[3]])
            mode = np.concatenate([mode, e[4]])
            burst_day = np.concatenate([burst_day, e[5] if e[5] is not None else np.full(len(e[0]), NO_BURST)])
        n = len(li)
        self.today_by_shop = np.bincount(w.l_shop[li], minlength=len(w.shop_id))
        if n == 0:
            return None
        order = np.lexsort((np.arange(n), secs))   # chronological
        li, secs, person, prc, mode, burst_day = (li[order], secs[order], person[order], prc[order], mode[order],
                                                  burst_day[order])
        self._write(t, sinks, rng, li, secs, person, prc, mode, burst_day)
        return li, prc

    def _planted(self, t, rng, li, person, mode, order_price) -> list[tuple]:
        """Orders of planted buyer behaviour on day t, as (listing, secs, person, price, mode, burst_day)
        arrays; the planted listings' own ordinary orders are adjusted in place (`person`, `mode`)."""
        w = self.w
        extra = []
        for p in w.plants:
            l0 = p.params["listings"][0]
            mine = li == l0
            st = p.params.get("strength")   # power mode (power.STATISTICS)
            if w.shop_open[p.shops[0]] > t:
                continue   # a new_shop plant before it opened
            if p.kind == "loyalty":
                person[mine] = self._fresh(mine.sum())
                pool = self.loyal_pool.setdefault(p.idx, [])
                if p.first <= t <= p.last and pool:
                    allp = np.concatenate(pool)
                    rep = rng.choice(allp, size=min(LOYAL_NEWCOMERS, len(allp)), replace=False)
                    newp = self._fresh(LOYAL_NEWCOMERS)
                    ps = round(float(order_price[l0]), 2)
                    k = len(rep) + LOYAL_NEWCOMERS
                    extra.append((np.full(k, l0), rng.integers(7 * 3600, 23 * 3600, k), np.concatenate([rep, newp]),
                                  np.concatenate([np.full(len(rep), round(ps * (1.12 if st is None else
                                                                                 target("loyalty", st)), 2)),
                                                  np.full(LOYAL_NEWCOMERS, ps)]),
                                  np.zeros(k, np.int8), None))
                    pool.append(newp)
                pool.append(person[mine])
            elif p.kind == "latency":
                r = rng.random(mine.sum())
                mode[mine] = np.where(r < (0.8 if st is None else fast_order_share(st)), FAST, NORMAL)
            elif p.kind == "brush" and t == p.t0:
                # 3 buyers x 4 orders; power mode: 5 buyers, round(5 x target) orders
                buyers = np.repeat(self._fresh(3), 4) if st is None else \
                    self._fresh(5)[np.arange(int(round(5 * target("brush", st)))) % 5]
                k = len(buyers)
                extra.append((np.full(k, l0), 14 * 3600 + np.sort(rng.integers(0, 3000, k)), buyers,
                              np.full(k, order_price[l0]), np.full(k, NO_REVIEW, np.int8), None))
            elif p.kind == "burst" and p.t0 - 6 <= t <= p.t0 - 3:
                if st is None:
                    if self.fake_group is None:
                        self.fake_group = self._fresh(40)
                    grp = self.fake_group[(t - (p.t0 - 6)) * 10:(t - (p.t0 - 6)) * 10 + 10]
                else:   # power mode: an isolated burst, its own fake buyers (no co-reviewers in other shops)
                    if "fake" not in p.params:
                        p.params["fake"] = self._fresh(burst_count(st, p.params["rate"]))
                    grp = np.array_split(p.params["fake"], 4)[t - (p.t0 - 6)]
                k = len(grp)
                extra.append((np.full(k, l0), rng.integers(9 * 3600, 21 * 3600, k), grp,
                              np.full(k, order_price[l0]), np.full(k, BURST, np.int8), np.full(k, p.t0)))
            elif p.kind == "buyerconc":
                if "buyer" not in p.params:
                    p.params["buyer"] = int(self._fresh(1)[0])
                k = 2
                if st is not None:   # power mode: one buyer's share = target, k a day on average
                    share = min(target("buyerconc", st), 0.95)
                    per_day = p.params["rate"] * share / (1 - share)
                    k = int(np.floor(per_day * (t + 1000 + 1)) - np.floor(per_day * (t + 1000)))
                secs_k = (np.array([10 * 3600, 19 * 3600]) if k == 2 else np.linspace(9 * 3600, 21 * 3600, k).astype(int)) \
                    + rng.integers(0, 1200, k)
                extra.append((np.full(k, l0), secs_k, np.full(k, p.params["buyer"]), np.full(k, order_price[l0]),
                              np.zeros(k, np.int8), None))
        ts = w.trap_single_shop
        if t == w.shop_open[ts]:   # the trap shop's single order, on its opening day
            tl = int(np.flatnonzero(w.l_shop == ts)[0])
            extra.append((np.array([tl]), np.array([11 * 3600]), self._fresh(1), np.array([order_price[tl]]),
                          np.zeros(1, np.int8), None))
        return extra

    def _write(self, t, sinks, rng, li, secs, person, prc, mode, burst_day) -> None:
        """Orders, items, payments and customers of day t's (chronological) orders; then their reviews."""
        w = self.w
        n = len(li)
        day = self.e0 + t
        plant_shop = w.shop_plant[w.l_shop[li]] != ""
        r = rng.random(n)
        status = np.where(plant_shop, 0, np.where(r < 0.015, CANCELED, np.where(r < 0.035, SHIPPED, 0)))
        appr = secs + rng.integers(60, 3600, n)
        carrier = appr + rng.integers(43200, 2 * 86400, n)
        deliv = carrier + rng.integers(86400, 4 * 86400, n)
        b = mode == BURST
        carrier[b] = appr[b] + 3 * 3600
        deliv[b] = secs[b] + 86400 - (secs[b] % 86400) + 8 * 3600 + rng.integers(0, 4 * 3600, b.sum())
        est = (secs // 86400 + rng.integers(7, 13, n)) * 86400
        items = np.where(rng.random(n) < 0.1, 2, 1)
        items[plant_shop] = 1
        oid = fmt.join(f"OD{(self.start + dt.timedelta(days=t)).strftime('%Y%m%d')}", fmt.zint(np.arange(n), 7))
        cid = fmt.join("c", oid)
        on_day = np.full(n, day)
        sinks["olist_orders_dataset.csv"].write({
            "order_id": oid, "customer_id": cid,
            "order_status": np.array(["delivered", "shipped", "canceled"])[status],
            "order_purchase_timestamp": fmt.timestamps(on_day, secs),
            "order_approved_at": fmt.timestamps(on_day, appr),
            "order_delivered_carrier_date": fmt.timestamps(on_day, carrier, valid=status != CANCELED),
            "order_delivered_customer_date": fmt.timestamps(on_day, deliv, valid=status == 0),
            "order_estimated_delivery_date": fmt.timestamps(on_day, est)})
        ii = np.repeat(np.arange(n), items)
        item_no = np.arange(len(ii)) - np.repeat(np.cumsum(items) - items, items) + 1
        freight = np.round(8 + 0.03 * prc, 2)
        l_sh, l_sk = pa.array(w.l_shop[li[ii]]), pa.array(w.l_sku[li[ii]])
        sinks["olist_order_items_dataset.csv"].write({
            "order_id": oid.take(pa.array(ii)), "order_item_id": fmt.ints(item_no),
            "product_id": self.sku_id.take(l_sk), "seller_id": self.shop_id.take(l_sh),
            "shipping_limit_date": fmt.timestamps(np.full(len(ii), day), secs[ii] + 2 * 86400),
            "price": fmt.money(prc[ii]), "freight_value": fmt.money(freight[ii])})
        sinks["olist_order_payments_dataset.csv"].write({
            "order_id": oid, "payment_sequential": "1",
            "payment_type": PAYMENT_TYPES[rng.integers(0, 4, n)],
            "payment_installments": "1", "payment_value": fmt.money((prc + freight) * items)})
        home = (person * 7919) % len(CITY_CODES)
        sinks["olist_customers_dataset.csv"].write({
            "customer_id": cid, "customer_unique_id": fmt.join("u", fmt.zint(person, 10)),
            "customer_zip_code_prefix": zip_prefix(home), "customer_city": CITY_NAMES[home],
            "customer_state": "辽宁"})
        self.reviews.schedule(t, rng, oid, status, mode, deliv, est, burst_day, day)
