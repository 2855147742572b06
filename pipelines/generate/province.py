"""The day loop: prices, orders, reviews, complaints and registers of the synthetic province.

One `numpy.random.Generator` per simulated day (`default_rng([seed, 1, day])`), vectorised over all
listings / orders / shops of the day; the only Python loops run per day, per planted anomaly or per
batch of entities. Every day's rows are written as soon as they are made (flat memory in --days).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fmt
from .ids import fullwidth, make_ric, make_uscc
from .sinks import Sink
from .world import (
    CATEGORIES,
    CITY_CODES,
    CITY_NAMES,
    CITY_SHORT,
    HISTORY_DAYS,
    PHANTOM_HISTORY_DAYS,
    PLANT_KINDS,
    PLATFORM_IDS,
    PLATFORM_NAMES,
    RATE_PLANT_SHARE,
    RIC_DISTRICTS,
    UNTIMELY_MIN_DAYS,
    World,
    build_world,
)

PRICE_COLS = ["observation_id", "observed_at", "platform", "shop_id", "sku_id", "variant", "product_name",
              "category", "region_code", "price_type", "price", "currency", "reference_price", "promo_start",
              "basis_disclosed", "account_cohort", "device", "condition", "url"]
OLIST_COLS = {
    "olist_orders_dataset.csv": ["order_id", "customer_id", "order_status", "order_purchase_timestamp",
                                 "order_approved_at", "order_delivered_carrier_date",
                                 "order_delivered_customer_date", "order_estimated_delivery_date"],
    "olist_order_items_dataset.csv": ["order_id", "order_item_id", "product_id", "seller_id",
                                      "shipping_limit_date", "price", "freight_value"],
    "olist_order_reviews_dataset.csv": ["review_id", "order_id", "review_score", "review_comment_title",
                                        "review_comment_message", "review_creation_date",
                                        "review_answer_timestamp"],
    "olist_order_payments_dataset.csv": ["order_id", "payment_sequential", "payment_type",
                                         "payment_installments", "payment_value"],
    "olist_customers_dataset.csv": ["customer_id", "customer_unique_id", "customer_zip_code_prefix",
                                    "customer_city", "customer_state"],
    "olist_sellers_dataset.csv": ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
    "olist_products_dataset.csv": ["product_id", "product_category_name", "product_name_lenght",
                                   "product_description_lenght", "product_photos_qty", "product_weight_g",
                                   "product_length_cm", "product_height_cm", "product_width_cm"],
    "product_category_name_translation.csv": ["product_category_name", "product_category_name_english"],
}
COMPLAINT_COLS = ["投诉编号", "登记日期", "被投诉人名称", "被投诉人统一社会信用代码", "平台名称", "店铺编号",
                  "行政区划代码", "投诉类别", "投诉内容", "处理状态", "办结日期", "是否按时响应", "调解结果",
                  "挽回经济损失(元)"]
PENALTY_V2 = ["行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)", "行政处罚决定书文号",
              "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额(万元)",
              "没收违法所得、没收非法财物的金额(万元)", "处罚决定日期", "处罚有效期", "公示截止期", "处罚机关",
              "处罚机关统一社会信用代码", "数据来源单位"]
PENALTY_V1 = ["行政处罚决定书文号", "处罚名称", "处罚类别1", "处罚类别2", "处罚事由", "处罚依据", "行政相对人名称",
              "统一社会信用代码", "法定代表人姓名", "处罚结果", "处罚决定日期", "处罚机关", "当前状态", "地方编码",
              "数据更新时间戳"]
ABNORMAL_COLS = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "作出决定机关",
                 "移出经营异常名录原因", "移出日期", "移出决定机关"]
SERIOUS_COLS = ["统一社会信用代码", "企业名称", "列入原因", "列入日期", "作出决定机关", "移出日期"]
REGISTRY_COLS = ["platform", "shop_id", "shop_name", "统一社会信用代码", "企业名称", "行政区划代码", "成立日期"]
TRUTH_COLS = ["indicator_id", "platform", "shop_id", "uscc", "sku_id", "region_code", "first_date", "last_date"]

EPOCH = dt.date(1970, 1, 1)
BASE_COMPLAINT_RATE = 0.01     # complaints per order, platform-wide average
UNTIMELY_LATE_SHARE = 0.7      # share of a planted untimely shop's complaints answered late
PROBE_ROUNDS = (10 * 3600, 15 * 3600, 21 * 3600)
PROBE_COHORTS = ("new", "existing", "vip", "control", "control")
SCORE_P = [0.11, 0.03, 0.08, 0.19, 0.59]   # review scores 1..5 (Olist-like)

COMPLAINT_TYPES = np.array(["价格", "质量", "售后服务", "虚假宣传", "物流配送", "合同"])
COMPLAINT_TEXT = np.array([
    "购买的商品与页面描述不符，商家拒绝退货。", "结算价格高于页面标价，多收费用。", "商品有质量问题，客服不予处理。",
    "页面标注原价虚高，怀疑虚构折扣。", "快递长时间未送达，联系商家无人回复。", "预售商品迟迟不发货，要求退款。",
    "收到的生鲜变质，商家只同意部分退款。", "会员价比新用户价格还高，怀疑大数据杀熟。"])
MEDIATION = np.array(["调解成功", "调解成功", "调解成功", "调解不成功", "终止调解"])
ABNORMAL_REASONS = np.array(["未依照规定的期限公示年度报告", "通过登记的住所或者经营场所无法联系",
                             "公示企业信息隐瞒真实情况、弄虚作假", "未在责令的期限内公示有关企业信息"])
VIOLATIONS = np.array(["虚构原价", "虚假宣传", "不明码标价", "销售不合格产品", "虚构交易", "价格欺诈"])
SURNAMES = np.array(["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "孙", "马"])
GIVEN = np.array(["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"])
MOBILE_PREFIX = np.array(["138", "139", "135", "186", "158", "177", "199", "150", "131", "188"])
MAIL_DOMAINS = np.array(["163.com", "qq.com", "126.com", "sina.com", "139.com"])
PINYIN = np.array(["wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu"])


def _epoch(d: dt.date) -> int:
    return (d - EPOCH).days


class Province:
    def __init__(self, out: Path, start: dt.date, days: int, scale: float, seed: int,
                 compress: bool = False, history_days: int = HISTORY_DAYS):
        self.out = Path(out)
        self.start = start
        self.days = days
        self.scale = scale
        self.seed = seed
        self.compress = compress
        self.H = history_days
        self.w: World = build_world(start, days, scale, seed)
        self.e0 = _epoch(start)
        self.counts: dict[str, int] = {}
        self.pii: list[str] = []
        self.truth_rows: list[tuple] = []
        self.next_person = 10**8
        self.pending_reviews: dict[int, list[dict]] = {}
        self.review_seq = 0
        self.loyal_pool: dict[int, list[np.ndarray]] = {}
        self.untimely_seen: dict[int, int] = {}
        w = self.w
        self.L = len(w.l_shop)
        self.n_persons = int(max(5000, 60 * max(150.0, 5000.0 * scale)))
        # constant string tables
        self.sku_id = pa.array(w.sku_id)
        self.shop_id = pa.array(w.shop_id)
        # string tables per shop / SKU; per-row strings are taken from them chunk by chunk
        self.t_shop_plat = fmt.take(PLATFORM_IDS, w.shop_plat)
        self.t_shop_region = fmt.take(CITY_CODES, w.shop_city)
        self.t_sku_name = pa.array(w.sku_name)
        self.t_sku_cat = fmt.take(np.array([c[0] for c in CATEGORIES]), w.sku_cat)
        self.plant_by_kind: dict[str, list] = {}
        for p in w.plants:
            self.plant_by_kind.setdefault(p.kind, []).append(p)
        self.registers = self._registers()

    # ------------------------------------------------------------------ sinks per drop
    def _sinks(self, t: int) -> dict:
        d = (self.start + dt.timedelta(days=t)).isoformat()
        L = self.out / "landing"
        c = self.compress
        s = {"price": Sink(L / "price_observations" / d / "price_observations.csv", PRICE_COLS, compress=c)}
        for name, cols in OLIST_COLS.items():
            s[name] = Sink(L / "olist" / d / name, cols, compress=c)
        gbk = t % 2 == 1
        s["complaints"] = Sink(L / "complaints_12315" / d / "complaints_12315.csv", COMPLAINT_COLS,
                               encoding="gbk" if gbk else "utf-8", bom=not gbk)
        return s

    def _close(self, sinks: dict) -> None:
        for key, s in sinks.items():
            n = s.close()
            if n:
                name = {"price": "price_observations", "complaints": "complaints_12315"}.get(
                    key, key.replace(".csv", ""))
                self.counts[name] = self.counts.get(name, 0) + n

    # ------------------------------------------------------------------ main loop
    def run(self, quiet: bool = True) -> dict:
        w = self.w
        H = self.H
        L = self.L
        base = w.sku_base[w.l_sku]
        self.reg = np.round(base * w.l_markup, 2)
        self.pkind = np.zeros(L, np.int8)      # 0 none, 1 ordinary promotion, 2 platform campaign
        self.pstart = np.zeros(L, np.int64)
        self.pend = np.zeros(L, np.int64)
        self.pdisc = np.zeros(L)
        self.pref = np.zeros(L)
        self.pdisclosed = np.zeros(L, bool)
        self.last_trade = np.full(L, np.nan, np.float32)
        self.ring = np.full((30, L), np.nan, np.float32)
        self.cost = np.ones(len(CATEGORIES))
        sinks = self._sinks(0)
        self._write_static(sinks)
        self._phantom_prehistory(sinks)
        for t in range(-H, self.days):
            if t > 0:
                sinks = self._sinks(t)
            self._day(t, sinks)
            if t >= 0:
                self._close(sinks)
                if not quiet:
                    print(f"  {self.start + dt.timedelta(days=t)}: done", flush=True)
        return self._finish()

    # ------------------------------------------------------------------ static files of the first drop
    def _write_static(self, sinks):
        w = self.w
        n_sku = len(w.sku_id)
        rng = np.random.default_rng([self.seed, 2])
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
        self._registry_and_sellers(0, sinks)

    def _registry_and_sellers(self, t, sinks):
        w = self.w
        sel = np.flatnonzero(w.shop_open <= 0) if t == 0 else np.flatnonzero(w.shop_open == t)
        if len(sel) == 0:
            return
        d = (self.start + dt.timedelta(days=t)).isoformat()
        city = w.shop_city[sel]
        sinks.setdefault("olist_sellers_dataset.csv", Sink(self.out / "landing" / "olist" / d /
                                                         "olist_sellers_dataset.csv",
                                                         OLIST_COLS["olist_sellers_dataset.csv"],
                                                         compress=self.compress))
        sinks["olist_sellers_dataset.csv"].write({
            "seller_id": w.shop_id[sel], "seller_zip_code_prefix": np.char.add("1", np.char.zfill(
                (10 + city * 3).astype(str), 4)),
            "seller_city": CITY_NAMES[city], "seller_state": "辽宁"})
        ent = w.shop_ent[sel]
        reg = Sink(self.out / "landing" / "registry" / d / "registry.csv", REGISTRY_COLS, encoding="gbk")
        reg.write({"platform": PLATFORM_IDS[w.shop_plat[sel]], "shop_id": w.shop_id[sel],
                   "shop_name": w.shop_name[sel], "统一社会信用代码": w.ent_uscc[ent], "企业名称": w.ent_name[ent],
                   "行政区划代码": CITY_CODES[city], "成立日期": w.ent_est[ent].astype(str)})
        self.counts["registry"] = self.counts.get("registry", 0) + reg.close()

    # ------------------------------------------------------------------ phantom strike-through history
    def _phantom_prehistory(self, sinks):
        """The phantom-reference shops show their strike-through price for 100 days: the days before
        the common history are written (price rows only) into the first drop."""
        ps = self.plant_by_kind.get("phantom", [])
        li = np.array([x for p in ps for x in p.params["listings"]])
        if len(li) == 0:
            return
        for t in range(-PHANTOM_HISTORY_DAYS, -self.H):
            rng = np.random.default_rng([self.seed, 3, t + 10000])
            price = self.reg[li]
            self._emit_prices(t, sinks, li, price, np.ones(len(li), np.int8), np.round(price * 1.6, 2),
                              np.full(len(li), -PHANTOM_HISTORY_DAYS), np.ones(len(li), bool), rng, tag="H")

    # ------------------------------------------------------------------ one day
    def _campaign_phase(self, t: int) -> int:
        d = self.start + dt.timedelta(days=t)
        for m, dd in ((11, 11), (6, 18)):
            peak = dt.date(d.year, m, dd)
            delta = (peak - d).days
            if 0 <= delta <= 1:
                return 2
            if 2 <= delta <= 10:
                return 1
        return 0

    def _day(self, t: int, sinks: dict):
        w = self.w
        L = self.L
        rng = np.random.default_rng([self.seed, 1, t + 10000])
        base = w.sku_base[w.l_sku]
        active = w.shop_open[w.l_shop] <= t
        # common cost shock: one category reprices upward at once (a trap for parallelism/run-up)
        if t == min(3, self.days - 1):
            c = 0
            self.cost[c] *= 1.08
            m = w.sku_cat[w.l_sku] == c
            self.reg[m] = np.round(self.reg[m] * 1.08, 2)
        # sticky list prices: a few listings reprice each day
        ch = rng.random(L) < 0.03
        self.reg[ch] = np.round(base[ch] * w.l_markup[ch] * self.cost[w.sku_cat[w.l_sku[ch]]]
                                * (1 + rng.normal(0, 0.02, ch.sum())), 2)
        # end promotions
        ended = (self.pkind > 0) & (t > self.pend)
        self.pkind[ended] = 0
        phase = self._campaign_phase(t)

        def honest_ref(idx):
            m = np.nanmin(np.where(np.isnan(self.ring[:, idx]), np.inf, self.ring[:, idx]), axis=0)
            lt = np.where(np.isnan(self.last_trade[idx]), np.inf, self.last_trade[idx])
            return np.round(np.minimum(np.minimum(m, lt), self.reg[idx]), 2)

        if phase > 0:
            idx = np.flatnonzero(w.l_campaign & (self.pkind != 2))
            if len(idx):
                self.pref[idx] = honest_ref(idx)
                self.pkind[idx] = 2
                self.pstart[idx] = t
                self.pend[idx] = t + 12
                self.pdisc[idx] = rng.choice([0.10, 0.15, 0.20], len(idx))
                self.pdisclosed[idx] = rng.random(len(idx)) < 0.5
        else:
            self.pkind[self.pkind == 2] = 0
        new = np.flatnonzero(w.l_promos & (self.pkind == 0) & (rng.random(L) < 0.012))
        if len(new):
            self.pref[new] = honest_ref(new)
            self.pkind[new] = 1
            self.pstart[new] = t
            self.pend[new] = t + rng.integers(2, 7, len(new))
            self.pdisc[new] = np.round(rng.uniform(0.05, 0.2, len(new)), 2)
            self.pdisclosed[new] = rng.random(len(new)) < 0.5
        depth = np.where((self.pkind == 2) & (phase == 1), 0.5, 1.0) * self.pdisc
        on = self.pkind > 0
        price = np.where(on, np.round(np.minimum(self.reg, self.pref) * (1 - depth), 2), self.reg)
        ptype = on.astype(np.int8)
        ref = np.where(on, self.pref, np.nan)
        pstart = self.pstart.copy()
        disclosed = self.pdisclosed.copy()
        order_price = price.copy()
        rate = w.l_rate * active
        camp_boost = {0: 1.0, 1: 1.4, 2: 3.0}[phase]
        rate = rate * np.where(on, 1.3, 1.0) * np.where(w.l_campaign, camp_boost, 1.0)
        if phase:
            pop = np.isin(w.l_shop, w.popular_shops)
            rate[pop] *= 2.0
        checkout_ok = np.ones(L, bool)
        # planted price behaviour (overrides the generic dynamics of those listings)
        self._plant_prices(t, price, ptype, ref, pstart, disclosed, order_price, rate, checkout_ok)
        # observations
        li = np.flatnonzero(active)
        self._emit_prices(t, sinks, li, price[li], ptype[li], ref[li], pstart[li], disclosed[li], rng,
                          checkout_ok=checkout_ok[li])
        # orders
        counts = rng.poisson(rate)
        self._orders(t, sinks, rng, counts, order_price)
        # remember offered prices (EU 30-day rule) for honest references
        self.ring[t % 30] = np.where(active, price, np.nan)
        # complaints, registers, reviews answered today
        self._complaints(t, sinks, rng)
        self._register_events(t)
        if t > 0:
            self._registry_and_sellers(t, sinks)
        self._flush_reviews(t, sinks)

    # ------------------------------------------------------------------ planted prices
    def _plant_prices(self, t, price, ptype, ref, pstart, disclosed, order_price, rate, checkout_ok):
        w = self.w
        for p in w.plants:
            li = np.array(p.params["listings"])
            b = w.sku_base[p.sku] * self.cost[w.sku_cat[p.sku]]
            k, t0 = p.kind, p.t0
            if k in ("loyalty", "rate", "untimely", "surge", "brush", "burst", "latency", "buyerconc"):
                continue   # clean prices (generic sticky list price, no promotions)
            checkout_ok[li] = False
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
                pr = self.reg[li]
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
                rate[li] = max(0.3, 12.0 * 2.0 ** ((t - (self.days - 1)) / 10.0))
            elif k == "variance":
                jit = np.array([-0.002, -0.001, 0.0, 0.001, 0.002])[: len(li)]
                price[li] = order_price[li] = np.round(b * 1.2 * (1 + jit), 2)
            elif k == "cover":
                lv = np.array([1.00, 1.18, 1.19, 1.20, 1.21])[: len(li)]
                price[li] = order_price[li] = np.round(b * lv, 2)
            elif k == "parallel":
                walk = self._shared_walk(p, t)
                lv = np.array([0.94, 0.98, 1.02, 1.06])[: len(li)]
                price[li] = order_price[li] = np.round(b * lv * walk, 2)
            elif k == "probe":
                checkout_ok[li] = True
                price[li] = order_price[li] = self.reg[li]

    def _shared_walk(self, p, t):
        """A common price path for the parallel sellers: every second day a ±3 % step together."""
        r = np.random.default_rng([self.seed, 4, p.idx])
        steps = r.choice([-0.03, 0.03], size=self.H + self.days + 2)
        level, out = 1.0, {}
        for i, tt in enumerate(range(-self.H, self.days)):
            if tt % 2 == 0:
                level = float(np.clip(level * (1 + steps[i]) * (1 - 0.2 * (level - 1)), 0.9, 1.1))
            out[tt] = level
        return out.get(t, 1.0)

    # ------------------------------------------------------------------ price rows
    def _emit_prices(self, t, sinks, li, price, ptype, ref, pstart, disclosed, rng, checkout_ok=None, tag=""):
        w = self.w
        n = len(li)
        secs = rng.integers(8 * 3600, 22 * 3600, n)
        parts = [dict(li=li, price=price, ptype=ptype, ref=ref, pstart=pstart, disc=disclosed, secs=secs,
                      cohort=None, device=rng.choice(np.array(["pc", "android", "ios", "mini_program"]), n),
                      cond=None, cur=None)]
        if tag == "":
            # checkout (payable) captures for a quarter of the listings
            m = checkout_ok & (rng.random(n) < 0.25)
            ci = li[m]
            parts.append(dict(li=ci, price=price[m], ptype=np.full(len(ci), 2, np.int8), ref=np.full(len(ci), np.nan),
                              pstart=None, disc=None, secs=secs[m] + rng.integers(5, 300, len(ci)), cohort=None,
                              device=parts[0]["device"][m], cond=None, cur=None))
            # paired probes: 3 rounds x 5 accounts (two controls) at the same minute
            pm = w.l_probe[li]
            pi = li[pm]
            if len(pi):
                pp = price[pm]
                reps = len(PROBE_ROUNDS) * len(PROBE_COHORTS)
                pli = np.repeat(pi, reps)
                cohort = np.tile(np.array(PROBE_COHORTS), len(pi) * len(PROBE_ROUNDS))
                rnd = np.tile(np.repeat(np.array(PROBE_ROUNDS), len(PROBE_COHORTS)), len(pi))
                noise = np.where(rng.random(len(pli)) < 0.08, rng.uniform(-0.004, 0.004, len(pli)), 0.0)
                prc = np.repeat(pp, reps) * (1 + noise)
                planted = np.isin(pli, [x for p in self.plant_by_kind.get("probe", []) for x in p.params["listings"]])
                prc = np.where(planted & np.isin(cohort, ["existing", "vip"]), np.repeat(pp, reps) * 1.12, prc)
                parts.append(dict(li=pli, price=np.round(prc, 2), ptype=np.full(len(pli), 2, np.int8),
                                  ref=np.full(len(pli), np.nan), pstart=None, disc=None,
                                  secs=rnd + rng.integers(0, 90, len(pli)), cohort=cohort,
                                  device=np.full(len(pli), "android"), cond=None, cur=None))
            # rows that must never produce flags: second-hand, refurbished, foreign-currency, failed scrape
            k = max(4, n // 2000)
            ji = rng.choice(li[~np.isin(w.shop_plant[w.l_shop[li]], list(PLANT_KINDS))], size=k) if n else li[:0]
            if len(ji):
                kind = np.arange(k) % 4
                jp = self.reg[ji] * np.choose(kind, [0.4, 0.7, 1 / 7.1, 1.0])
                jp = np.where(kind == 3, np.nan, jp)
                parts.append(dict(li=ji, price=np.round(jp, 2), ptype=np.zeros(k, np.int8), ref=np.full(k, np.nan),
                                  pstart=None, disc=None, secs=rng.integers(8 * 3600, 22 * 3600, k), cohort=None,
                                  device=np.full(k, "pc"),
                                  cond=np.choose(kind, np.array(["used", "refurbished", "new", "new"])),
                                  cur=np.choose(kind, np.array(["CNY", "CNY", "USD", "CNY"]))))
        seq0 = 0
        prefix = f"PO{(self.start + dt.timedelta(days=t)).strftime('%Y%m%d')}{tag}-"
        date_s = (self.start + dt.timedelta(days=t)).isoformat() + " "
        chunk = 500_000   # bounded memory: strings are built and written half a million rows at a time
        for whole in parts:
            total = len(whole["li"])
            for c0 in range(0, total, chunk):
                sl = slice(c0, min(total, c0 + chunk))
                part = {k: (v[sl] if isinstance(v, np.ndarray) else v) for k, v in whole.items()}
                seq0 = self._write_price_rows(sinks, part, prefix, date_s, seq0)

    def _write_price_rows(self, sinks, part, prefix, date_s, seq0):
        m = len(part["li"])
        if m == 0:
            return seq0
        sh = pa.array(self.w.l_shop[part["li"]])
        sk = pa.array(self.w.l_sku[part["li"]])
        plat, shop, sku = self.t_shop_plat.take(sh), self.shop_id.take(sh), self.sku_id.take(sk)
        ptype_s = pa.array(np.array(["list", "promo", "checkout"])[part["ptype"]])
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
            "price_type": ptype_s, "price": fmt.money(part["price"]),
            "currency": part["cur"] if part["cur"] is not None else "CNY",
            "reference_price": fmt.money(part["ref"]), "promo_start": ps, "basis_disclosed": ds,
            "account_cohort": part["cohort"], "device": part["device"],
            "condition": part["cond"] if part["cond"] is not None else "new",
            "url": fmt.join("https://", plat, ".example.cn/", shop, "/", sku)})
        return seq0 + m

    # ------------------------------------------------------------------ orders, payments, customers, reviews
    def _fresh(self, n):
        out = np.arange(self.next_person, self.next_person + n)
        self.next_person += n
        return out

    def _orders(self, t, sinks, rng, counts, order_price):
        w = self.w
        li = np.repeat(np.arange(self.L), counts)
        n = len(li)
        secs = rng.integers(0, 86400, n)
        person = rng.integers(0, self.n_persons, n)
        prc = order_price[li]
        mode = np.zeros(n, np.int8)      # 0 normal review, 1 no review, 2 fast/before-delivery, 3 burst
        burst_day = np.full(n, -10**6)
        extra = []   # (listing, secs, person, price, mode, burst_day)
        for p in w.plants:
            l0 = p.params["listings"][0]
            mine = li == l0
            if p.kind == "loyalty":
                person[mine] = self._fresh(mine.sum())
                pool = self.loyal_pool.setdefault(p.idx, [])
                if p.first <= t <= p.last and pool:
                    allp = np.concatenate(pool)
                    rep = rng.choice(allp, size=min(34, len(allp)), replace=False)
                    newp = self._fresh(34)
                    ps = round(float(order_price[l0]), 2)
                    extra.append((np.full(len(rep) + 34, l0), rng.integers(7 * 3600, 23 * 3600, len(rep) + 34),
                                  np.concatenate([rep, newp]),
                                  np.concatenate([np.full(len(rep), round(ps * 1.12, 2)), np.full(34, ps)]),
                                  np.zeros(len(rep) + 34, np.int8), None))
                    pool.append(newp)
                pool.append(person[mine])
            elif p.kind == "latency":
                r = rng.random(mine.sum())
                mode[mine] = np.where(r < 0.8, 2, 0)
            elif p.kind == "brush" and t == p.t0:
                buyers = np.repeat(self._fresh(3), 4)
                extra.append((np.full(12, l0), 14 * 3600 + np.sort(rng.integers(0, 3000, 12)), buyers,
                              np.full(12, order_price[l0]), np.ones(12, np.int8), None))
            elif p.kind == "burst" and p.t0 - 6 <= t <= p.t0 - 3:
                if not hasattr(self, "_fake_group"):
                    self._fake_group = self._fresh(40)
                grp = self._fake_group[(t - (p.t0 - 6)) * 10:(t - (p.t0 - 6)) * 10 + 10]
                extra.append((np.full(10, l0), rng.integers(9 * 3600, 21 * 3600, 10), grp,
                              np.full(10, order_price[l0]), np.full(10, 3, np.int8), np.full(10, p.t0)))
            elif p.kind == "buyerconc":
                if "buyer" not in p.params:
                    p.params["buyer"] = int(self._fresh(1)[0])
                extra.append((np.full(2, l0), np.array([10 * 3600, 19 * 3600]) + rng.integers(0, 1200, 2),
                              np.full(2, p.params["buyer"]), np.full(2, order_price[l0]), np.zeros(2, np.int8), None))
        ts = w.trap_single_shop
        if t == w.shop_open[ts]:
            tl = int(np.flatnonzero(w.l_shop == ts)[0])
            extra.append((np.array([tl]), np.array([11 * 3600]), self._fresh(1), np.array([order_price[tl]]),
                          np.zeros(1, np.int8), None))
        for e in extra:
            li = np.concatenate([li, e[0]])
            secs = np.concatenate([secs, e[1]])
            person = np.concatenate([person, e[2]])
            prc = np.concatenate([prc, e[3]])
            mode = np.concatenate([mode, e[4]])
            burst_day = np.concatenate([burst_day, e[5] if e[5] is not None else np.full(len(e[0]), -10**6)])
        n = len(li)
        self.today_orders_by_shop = np.bincount(w.l_shop[li], minlength=len(w.shop_id))
        if n == 0:
            return
        order = np.lexsort((np.arange(n), secs))   # chronological
        li, secs, person, prc, mode, burst_day = li[order], secs[order], person[order], prc[order], mode[order], burst_day[order]
        has = ~np.isnan(prc)
        self.last_trade[li[has]] = prc[has]
        day = self.e0 + t
        plant_shop = w.shop_plant[w.l_shop[li]] != ""
        r = rng.random(n)
        status = np.where(plant_shop, 0, np.where(r < 0.015, 2, np.where(r < 0.035, 1, 0)))  # 0 deliv 1 shipped 2 canceled
        appr = secs + rng.integers(60, 3600, n)
        carrier = appr + rng.integers(43200, 2 * 86400, n)
        deliv = carrier + rng.integers(86400, 4 * 86400, n)
        b = mode == 3
        carrier[b] = appr[b] + 3 * 3600
        deliv[b] = secs[b] + 86400 - (secs[b] % 86400) + 8 * 3600 + rng.integers(0, 4 * 3600, b.sum())
        est = (secs // 86400 + rng.integers(7, 13, n)) * 86400
        items = np.where(rng.random(n) < 0.1, 2, 1)
        items[plant_shop] = 1
        oid = fmt.join(f"OD{(self.start + dt.timedelta(days=t)).strftime('%Y%m%d')}", fmt.zint(np.arange(n), 7))
        cid = fmt.join("c", oid)
        delivered = status == 0
        sinks["olist_orders_dataset.csv"].write({
            "order_id": oid, "customer_id": cid,
            "order_status": np.array(["delivered", "shipped", "canceled"])[status],
            "order_purchase_timestamp": fmt.timestamps(np.full(n, day), secs),
            "order_approved_at": fmt.timestamps(np.full(n, day), appr),
            "order_delivered_carrier_date": fmt.timestamps(np.full(n, day), carrier, valid=status != 2),
            "order_delivered_customer_date": fmt.timestamps(np.full(n, day), deliv, valid=delivered),
            "order_estimated_delivery_date": fmt.timestamps(np.full(n, day), est)})
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
            "payment_type": np.array(["alipay", "wechat_pay", "credit_card", "debit_card"])[rng.integers(0, 4, n)],
            "payment_installments": "1", "payment_value": fmt.money((prc + freight) * items)})
        home = (person * 7919) % len(CITY_CODES)
        sinks["olist_customers_dataset.csv"].write({
            "customer_id": cid, "customer_unique_id": fmt.join("u", fmt.zint(person, 10)),
            "customer_zip_code_prefix": np.char.add("1", np.char.zfill((10 + home * 3).astype(str), 4)),
            "customer_city": CITY_NAMES[home], "customer_state": "辽宁"})
        # reviews: the survey is sent the day after delivery (or at the estimated date when undelivered)
        rv = np.flatnonzero(((status == 0) & (mode != 1) & (rng.random(n) < 0.85)) | (mode >= 2) |
                            ((status == 1) & (rng.random(n) < 0.5)))
        if len(rv) == 0:
            return
        m = mode[rv]
        create = np.where(status[rv] == 1, est[rv], (deliv[rv] // 86400 + 1) * 86400)
        answer = create + 2 * 3600 + rng.lognormal(np.log(20 * 3600), 0.8, len(rv)).astype(np.int64)
        score = rng.choice(np.arange(1, 6), len(rv), p=SCORE_P)
        fast = m == 2
        quick = rng.random(len(rv)) < 0.75
        answer = np.where(fast & quick, deliv[rv] + rng.integers(120, 2400, len(rv)), answer)
        answer = np.where(fast & ~quick, deliv[rv] - rng.integers(3600, 10 * 3600, len(rv)), answer)
        create = np.where(fast, (answer // 86400) * 86400, create)
        bm = m == 3
        answer = np.where(bm, (burst_day[rv] + t * 0 - t) * 86400 + rng.integers(9 * 3600, 21 * 3600, len(rv)), answer)
        create = np.where(bm, np.minimum(create, (answer // 86400) * 86400), create)
        score = np.where(fast | bm, 5, score)
        ans_day = t + answer // 86400
        for d in np.unique(ans_day):
            s = ans_day == d
            self.pending_reviews.setdefault(int(d), []).append(dict(
                order_id=oid.take(pa.array(rv[s])), score=score[s], create=create[s] + day * 86400 * 0,
                answer=answer[s], base_day=day))

    def _flush_reviews(self, t, sinks):
        lst = self.pending_reviews.pop(t, [])
        if t == self.days - 1:
            self.pending_reviews.clear()
        for r in lst:
            n = len(r["score"])
            rid = fmt.join("rv", fmt.zint(np.arange(self.review_seq, self.review_seq + n), 9))
            self.review_seq += n
            has_msg = (r["score"] <= 2) & (np.arange(n) % 2 == 0)
            msg = np.where(has_msg, "质量一般，和描述不太一样", np.where(r["score"] == 5, "", ""))
            sinks["olist_order_reviews_dataset.csv"].write({
                "review_id": rid, "order_id": r["order_id"], "review_score": fmt.ints(r["score"]),
                "review_comment_title": None,
                "review_comment_message": pc.if_else(pa.array(has_msg), pa.array(msg), pa.nulls(n, pa.string())),
                "review_creation_date": fmt.timestamps(np.full(n, r["base_day"]), r["create"]),
                "review_answer_timestamp": fmt.timestamps(np.full(n, r["base_day"]), r["answer"])})

    # ------------------------------------------------------------------ complaints (12315)
    def _complaints(self, t, sinks, rng):
        w = self.w
        orders = self.today_orders_by_shop.astype(float)
        mu = BASE_COMPLAINT_RATE * w.shop_cmult * orders
        plant = w.shop_plant
        bg = plant == ""
        lam = np.where(bg, mu * rng.gamma(2.0, 0.5, len(mu)), mu)
        for p in self.plant_by_kind.get("rate", []):
            lam[p.shops[0]] = RATE_PLANT_SHARE * orders[p.shops[0]]
        cnt = rng.poisson(lam)
        untimely = [p.shops[0] for p in self.plant_by_kind.get("untimely", [])]
        # a planted untimely shop gets enough complaints to be judged at every scale: at least one on two days of
        # every week (>= 8 in any 30-day window, on top of its ordinary ~0.16 a day); its complaint rate stays
        # ~3 % of orders, far from a rate_posterior lead
        if t % 7 in UNTIMELY_MIN_DAYS:
            cnt[untimely] = np.maximum(cnt[untimely], 1)
        for p in self.plant_by_kind.get("surge", []):
            if p.first <= t <= p.last:
                cnt[p.shops[0]] += 10
        ts = w.trap_single_shop
        if t == w.shop_open[ts] + 1:
            cnt[ts] = 1
        cnt[plant == "trap_single"] = cnt[plant == "trap_single"] * (t == w.shop_open[ts] + 1)
        sh = np.repeat(np.arange(len(cnt)), cnt)
        n = len(sh)
        if n == 0:
            return
        ent = w.shop_ent[sh]
        city = w.shop_city[sh]
        day = self.e0 + t
        late = rng.random(n) < 0.005
        # planted untimely shops: exactly 70 % of their complaints late, realised by a running count per shop
        # (complaint k of the shop is late when floor(0.7 (k+1)) > floor(0.7 k)), not left to chance
        for s_ in untimely:
            mine = np.flatnonzero(sh == s_)
            k0 = self.untimely_seen.get(s_, 0)
            k = k0 + np.arange(len(mine))
            late[mine] = np.floor(UNTIMELY_LATE_SHARE * (k + 1)) > np.floor(UNTIMELY_LATE_SHARE * k)
            self.untimely_seen[s_] = k0 + len(mine)
        done = rng.random(n) < 0.9
        close = day + rng.integers(1, 16, n)
        ctype = rng.integers(0, len(COMPLAINT_TYPES), n)
        text = COMPLAINT_TEXT[rng.integers(0, len(COMPLAINT_TEXT), n)]
        text = self._with_pii(text, rng)
        med = MEDIATION[rng.integers(0, len(MEDIATION), n)]
        relief = np.where(med == "调解成功", np.round(rng.uniform(10, 800, n), 2), 0.0)
        cno = fmt.join("TS", CITY_CODES[city], (self.start + dt.timedelta(days=t)).strftime("%Y%m%d"),
                       fmt.zint(np.arange(n), 5))
        sinks["complaints"].write({
            "投诉编号": cno, "登记日期": fmt.dates(np.full(n, day)), "被投诉人名称": w.ent_name[ent],
            "被投诉人统一社会信用代码": w.ent_uscc[ent], "平台名称": PLATFORM_NAMES[w.shop_plat[sh]],
            "店铺编号": w.shop_id[sh], "行政区划代码": CITY_CODES[city], "投诉类别": COMPLAINT_TYPES[ctype],
            "投诉内容": text, "处理状态": np.where(done, "已办结", "处理中"),
            "办结日期": fmt.dates(close, valid=done), "是否按时响应": np.where(late, "否", "是"),
            "调解结果": pc.if_else(pa.array(done), pa.array(med), pa.nulls(n, pa.string())),
            "挽回经济损失(元)": fmt.money(np.where(done, relief, np.nan))})

    def _with_pii(self, text, rng):
        n = len(text)
        has = rng.random(n) < 0.3
        k = int(has.sum())
        if k == 0:
            return text
        kind = rng.integers(0, 6, k)
        mob = np.char.add(MOBILE_PREFIX[rng.integers(0, len(MOBILE_PREFIX), k)],
                          np.char.zfill(rng.integers(0, 10**8, k).astype(str), 8))
        m3 = np.char.add(np.char.add(mob.astype("U3"), " "),
                         np.char.add(_slice(mob, 3, 7), np.char.add(" ", _slice(mob, 7, 11))))
        mh = np.char.replace(m3, " ", "-")
        mfw = _fullwidth(mob)
        ric = make_ric(rng, k, RIC_DISTRICTS)
        mail = np.char.add(np.char.add(PINYIN[rng.integers(0, len(PINYIN), k)],
                                       rng.integers(10, 9999, k).astype(str)),
                           np.char.add("@", MAIL_DOMAINS[rng.integers(0, len(MAIL_DOMAINS), k)]))
        val = np.choose(kind, [mob, m3, mh, mfw, ric, mail])
        lead = np.choose(kind, np.array(["联系电话：", "手机", "电话", "联系方式：", "身份证号", "邮箱"]))
        self.pii.extend(val.tolist())
        out = text.astype(object)
        out[has] = np.char.add(np.char.add(text[has], lead), val).astype(object)
        return out.astype(str)

    # ------------------------------------------------------------------ registers
    def _registers(self):
        """Penalties and list entries: a table of events with their day offset (history < 0)."""
        w = self.w
        rng = np.random.default_rng([self.seed, 5])
        n_ent = len(w.ent_uscc)
        has_shop = np.zeros(n_ent, bool)
        has_shop[w.shop_ent] = True
        plant_ent = np.zeros(n_ent, bool)
        plant_ent[w.shop_ent[w.shop_plant != ""]] = True
        pool = np.flatnonzero(has_shop & ~plant_ent)
        perm = rng.permutation(pool)
        m = len(pool)
        cut = lambda a, b: perm[int(a * m):int(b * m)]   # noqa: E731
        ev = {}
        last = self.days - 1
        ev["serious"] = cut(0.00, 0.015)
        ev["abn_current"] = cut(0.015, 0.055)
        ev["abn_removed_window"] = cut(0.055, 0.075)
        ev["abn_removed_old"] = cut(0.075, 0.09)
        ev["pen_heavy"] = cut(0.09, 0.105)
        ev["pen_small"] = cut(0.105, 0.17)
        ev["pen_window"] = cut(0.17, 0.17 + min(0.05, 0.003 * max(1, self.days)))
        ev["serious_window"] = perm[int(0.17 * m) - 1:int(0.17 * m)] if m > 20 else perm[:0]
        # dates
        ev["serious_t"] = -rng.integers(40, 700, len(ev["serious"]))
        ev["serious_window_t"] = np.full(len(ev["serious_window"]), min(last, max(0, self.days // 2)))
        ev["abn_current_t"] = -rng.integers(40, 700, len(ev["abn_current"]))
        ev["abn_removed_window_t"] = -rng.integers(40, 400, len(ev["abn_removed_window"]))
        ev["abn_removed_window_rt"] = rng.integers(0, max(1, self.days), len(ev["abn_removed_window"]))
        ev["abn_removed_old_t"] = -rng.integers(300, 700, len(ev["abn_removed_old"]))
        ev["abn_removed_old_rt"] = ev["abn_removed_old_t"] + rng.integers(60, 200, len(ev["abn_removed_old"]))
        ev["pen_heavy_t"] = -rng.integers(40, 700, len(ev["pen_heavy"]))
        ev["pen_heavy_amt"] = np.round(rng.uniform(12, 60, len(ev["pen_heavy"])), 2)
        ev["pen_small_t"] = -rng.integers(40, 700, len(ev["pen_small"]))
        ev["pen_small_amt"] = np.round(rng.uniform(0.2, 3, len(ev["pen_small"])), 2)
        ev["pen_window_t"] = rng.integers(0, max(1, self.days), len(ev["pen_window"]))
        ev["pen_window_amt"] = np.round(rng.uniform(0.2, 3, len(ev["pen_window"])), 2)
        return ev

    def _register_events(self, t):
        """Write register rows dated t (history rows go into the first drop, dated as they happened)."""
        ev = self.registers
        first = t == 0
        # history and today's events are all written on the drop of max(t, 0)
        if t < 0:
            return

        def sel(arr_t):
            return (arr_t <= 0) if first else (arr_t == t)
        d = (self.start + dt.timedelta(days=t)).isoformat()
        L = self.out / "landing"
        w = self.w
        # penalties
        ents, ts, amts = [], [], []
        for key in ("pen_heavy", "pen_small", "pen_window"):
            s = sel(ev[key + "_t"])
            ents.append(ev[key][s])
            ts.append(ev[key + "_t"][s])
            amts.append(ev[key + "_amt"][s])
        ents, ts, amts = np.concatenate(ents), np.concatenate(ts), np.concatenate(amts)
        if len(ents):
            self._penalties(L / "penalties" / d / "penalties.csv", ents, ts, amts, v1=(t % 2 == 1))
        # abnormal operations: the first drop holds every entry listed up to D (removal filled in when it
        # happened before D); a later removal arrives as an update row with the same (uscc, 列入日期)
        es, ls, rs = [], [], []
        for key in ("abn_current", "abn_removed_window", "abn_removed_old"):
            lt_ = ev[key + "_t"]
            rt_ = ev.get(key + "_rt", np.full(len(lt_), 10**6))
            s = (lt_ <= 0) if first else (rt_ == t)
            es.append(ev[key][s])
            ls.append(lt_[s])
            rs.append(np.where(rt_[s] <= t, rt_[s], 10**6))
        e, lt, rt = np.concatenate(es), np.concatenate(ls), np.concatenate(rs)
        if len(e):
            removed = rt < 10**6
            city = w.ent_city[e]
            auth = np.char.add(CITY_NAMES[city], "市场监督管理局")
            sk = Sink(L / "abnormal_operations" / d / "abnormal_operations.csv", ABNORMAL_COLS, encoding="gbk")
            nul = pa.nulls(len(e), pa.string())
            sk.write({"统一社会信用代码": w.ent_uscc[e], "企业名称": w.ent_name[e],
                      "列入经营异常名录原因": ABNORMAL_REASONS[e % len(ABNORMAL_REASONS)],
                      "列入日期": _slash(self.e0 + lt), "作出决定机关": auth,
                      "移出经营异常名录原因": pc.if_else(pa.array(removed), pa.scalar("已依照规定履行公示义务"), nul),
                      "移出日期": pc.if_else(pa.array(removed), _slash(self.e0 + np.where(removed, rt, 0)), nul),
                      "移出决定机关": pc.if_else(pa.array(removed), pa.array(auth), nul)})
            self.counts["abnormal_operations"] = self.counts.get("abnormal_operations", 0) + sk.close()
        # serious violations
        se, st = [], []
        for key in ("serious", "serious_window"):
            s = sel(ev[key + "_t"])
            se.append(ev[key][s])
            st.append(ev[key + "_t"][s])
        se, st = np.concatenate(se), np.concatenate(st)
        if len(se):
            city = w.ent_city[se]
            sk = Sink(L / "serious_violations" / d / "serious_violations.csv", SERIOUS_COLS, bom=True)
            sk.write({"统一社会信用代码": w.ent_uscc[se], "企业名称": w.ent_name[se],
                      "列入原因": np.where(se % 2 == 0, "被列入经营异常名录届满3年仍未履行相关义务", "提供虚假材料或者隐瞒重要事实"),
                      "列入日期": fmt.dates(self.e0 + st), "作出决定机关": np.char.add(CITY_NAMES[city], "市场监督管理局"),
                      "移出日期": None})
            self.counts["serious_violations"] = self.counts.get("serious_violations", 0) + sk.close()

    def _penalties(self, path, ents, ts, amts, v1):
        w = self.w
        n = len(ents)
        city = w.ent_city[ents]
        day = self.e0 + ts
        year = np.asarray(day).astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
        docno = fmt.join(CITY_SHORT[city].astype("U1"), "市监处罚〔", fmt.ints(year), "〕",
                         fmt.ints(1000 + ents), "号")
        auth = np.char.add(CITY_NAMES[city], "市场监督管理局")
        vio = VIOLATIONS[ents % len(VIOLATIONS)]
        if v1:
            sk = Sink(path, PENALTY_V1, encoding="gbk")
            rep = np.char.add(SURNAMES[ents % len(SURNAMES)], GIVEN[(ents // 7) % len(GIVEN)])
            dd = np.asarray(day).astype("datetime64[D]")
            cn_date = fmt.join(fmt.ints(year), "年", fmt.ints(dd.astype("datetime64[M]").astype(int) % 12 + 1), "月",
                               fmt.ints((dd - dd.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1), "日")
            sk.write({"行政处罚决定书文号": docno, "处罚名称": np.char.add(vio, "案"), "处罚类别1": "罚款",
                      "处罚类别2": None, "处罚事由": np.char.add("当事人存在", vio), "处罚依据": "《中华人民共和国价格法》第十四条",
                      "行政相对人名称": w.ent_name[ents], "统一社会信用代码": w.ent_uscc[ents], "法定代表人姓名": rep,
                      "处罚结果": fmt.join("罚款人民币", fmt.dec(amts, 2), "万元"), "处罚决定日期": cn_date,
                      "处罚机关": auth, "当前状态": "正常", "地方编码": CITY_CODES[city],
                      "数据更新时间戳": fmt.timestamps(day, np.full(n, 9 * 3600))})
        else:
            sk = Sink(path, PENALTY_V2)
            auth_uscc = make_uscc(np.random.default_rng([self.seed, 6]), CITY_CODES)
            auth_uscc = np.char.add("11", np.array([u[2:] for u in auth_uscc]))
            auth_uscc = np.array([u[:17] + _uscc_check(u[:17]) for u in auth_uscc])[city]
            sk.write({"行政相对人名称": w.ent_name[ents], "行政相对人类别": "法人及非法人组织",
                      "行政相对人代码_1(统一社会信用代码)": w.ent_uscc[ents], "行政处罚决定书文号": docno,
                      "违法行为类型": vio, "违法事实": np.char.add("经查，当事人在网络销售中存在", vio),
                      "处罚依据": "《明码标价和禁止价格欺诈规定》第十九条", "处罚类别": "罚款",
                      "处罚内容": fmt.join("罚款", fmt.dec(amts, 2), "万元"), "罚款金额(万元)": fmt.dec(amts, 4),
                      "没收违法所得、没收非法财物的金额(万元)": "0", "处罚决定日期": fmt.dates(day),
                      "处罚有效期": fmt.dates(day + 365), "公示截止期": fmt.dates(day + 3 * 365), "处罚机关": auth,
                      "处罚机关统一社会信用代码": auth_uscc, "数据来源单位": auth})
        self.counts["penalties"] = self.counts.get("penalties", 0) + sk.close()

    # ------------------------------------------------------------------ truth, tiers, pii
    def _finish(self) -> dict:
        w = self.w
        rows = []
        for p in w.plants:
            for ind in PLANT_KINDS[p.kind]:
                first = self.start + dt.timedelta(days=max(p.first, -max(self.H, PHANTOM_HISTORY_DAYS)))
                lastd = self.start + dt.timedelta(days=p.last)
                if p.kind == "runup" and ind == "price.eu_prior_30d":
                    first = self.start + dt.timedelta(days=p.t0)
                if p.kind in ("variance", "cover", "parallel"):
                    rows.append((ind, "", "", "", w.sku_id[p.sku], CITY_CODES[p.region], first, lastd))
                    continue
                s = p.shops[0]
                sku = w.sku_id[p.sku] if ind.startswith(("price.", "discrimination.")) else ""
                rows.append((ind, PLATFORM_IDS[w.shop_plat[s]], w.shop_id[s], w.ent_uscc[w.shop_ent[s]], sku,
                             CITY_CODES[w.shop_city[s]], first, lastd))
        rows.sort(key=lambda r: (r[0], r[2], r[4], r[5], r[6]))
        lines = [",".join(TRUTH_COLS)] + [",".join([*map(str, r[:6]), r[6].isoformat(), r[7].isoformat()])
                                          for r in rows]
        (self.out / "ground_truth.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        tiers = self._tiers(rows)
        (self.out / "expected_tiers.csv").write_text(
            "uscc,expected_tier,reason\n" + "".join(f"{u},{t},{r}\n" for u, t, r in tiers), encoding="utf-8")
        seen, pii = set(), []
        for v in self.pii:
            if v not in seen:
                seen.add(v)
                pii.append(v)
        (self.out / "planted_pii.txt").write_text("".join(v + "\n" for v in pii), encoding="utf-8")
        out = dict(sorted(self.counts.items()))
        out["ground_truth_rows"] = len(rows)
        out["enterprises"] = len(tiers)
        out["shops"] = int(len(w.shop_id))
        out["planted_pii"] = len(pii)
        return out

    def _tiers(self, truth_rows):
        """Expected tier per enterprise as of the last generated day (rule in docs/GENERATOR.md)."""
        w = self.w
        ev = self.registers
        last = self.days - 1
        n_ent = len(w.ent_uscc)
        serious = np.zeros(n_ent, bool)
        serious[ev["serious"]] = True
        serious[ev["serious_window"][ev["serious_window_t"] <= last]] = True
        abn_cur = np.zeros(n_ent, bool)
        abn_cur[ev["abn_current"]] = True
        abn_rem = np.zeros(n_ent, bool)
        abn_rem[ev["abn_removed_window"]] = True
        abn_rem[ev["abn_removed_old"]] = True
        fines = np.zeros(n_ent)
        for key in ("pen_heavy", "pen_small", "pen_window"):
            np.add.at(fines, ev[key], np.where(ev[key + "_t"] <= last, ev[key + "_amt"], 0))
        uscc_index = {u: i for i, u in enumerate(w.ent_uscc)}
        n_ids = np.zeros(n_ent, int)
        ids_by_ent: dict[int, set] = {}
        for r in truth_rows:
            if r[3]:
                ids_by_ent.setdefault(uscc_index[r[3]], set()).add(r[0])
        for e, s in ids_by_ent.items():
            n_ids[e] = len(s)
        has_shop = np.zeros(n_ent, bool)
        has_shop[w.shop_ent[w.shop_open <= last]] = True
        out = []
        for e in np.flatnonzero(has_shop):   # one row per enterprise (a few thousand at most)
            if serious[e]:
                t, r = "D", "严重违法失信名单"
            elif abn_cur[e]:
                t, r = "C", "经营异常名录(在列)"
            elif fines[e] >= 10:
                t, r = "C", "重大行政处罚(罚款≥10万元)"
            elif n_ids[e] >= 2:
                t, r = "C", f"planted anomalies: {n_ids[e]} indicators"
            elif fines[e] > 0:
                t, r = "B", "行政处罚"
            elif abn_rem[e]:
                t, r = "B", "经营异常名录(已移出)"
            elif n_ids[e] == 1:
                t, r = "B", "planted anomaly: 1 indicator"
            else:
                t, r = "A", "clean"
            out.append((w.ent_uscc[e], t, r))
        out.sort()
        return out


def _uscc_check(body):
    from .ids import uscc_check_char
    return uscc_check_char(body)


def _slice(a: np.ndarray, i: int, j: int) -> np.ndarray:
    n = len(a)
    chars = np.ascontiguousarray(a.astype("U11")).view("U1").reshape(n, 11)[:, i:j]
    return np.ascontiguousarray(chars).view(f"U{j - i}").reshape(n)


def _fullwidth(a: np.ndarray) -> np.ndarray:
    out = a.astype("U11")
    for d in range(10):
        out = np.char.replace(out, str(d), fullwidth(str(d)))
    return out


def _slash(days) -> pa.Array:
    return pc.replace_substring(fmt.dates(days), "-", "/")


def generate_province(out: Path, start: dt.date, days: int, scale: float, seed: int, quiet: bool = True,
                      compress: bool = False, history_days: int = HISTORY_DAYS) -> dict:
    prov = Province(out, start, days, scale, seed, compress=compress, history_days=history_days)
    return prov.run(quiet=quiet)
