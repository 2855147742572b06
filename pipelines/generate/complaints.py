"""The 12315 complaints of each day: a rate per order that varies by shop, the planted complaint anomalies
(high rate, untimely answers, surges, a single-complaint trap) and personal data planted in the free text
(phone numbers, identity numbers, e-mails) that the pipeline must mask.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fmt
from .ids import fullwidth, make_ric
from .power import surge_count, target
from .sinks import Sink
from .world import (
    CITY_CODES,
    PLATFORM_NAMES,
    RATE_PLANT_SHARE,
    RIC_DISTRICTS,
    UNTIMELY_MIN_DAYS,
    World,
)

BASE_COMPLAINT_RATE = 0.01     # complaints per order, platform-wide average
UNTIMELY_LATE_SHARE = 0.7      # share of a planted untimely shop's complaints answered late
COMPLAINT_TYPES = np.array(["价格", "质量", "售后服务", "虚假宣传", "物流配送", "合同"])
COMPLAINT_TEXT = np.array([
    "购买的商品与页面描述不符，商家拒绝退货。", "结算价格高于页面标价，多收费用。", "商品有质量问题，客服不予处理。",
    "页面标注原价虚高，怀疑虚构折扣。", "快递长时间未送达，联系商家无人回复。", "预售商品迟迟不发货，要求退款。",
    "收到的生鲜变质，商家只同意部分退款。", "会员价比新用户价格还高，怀疑大数据杀熟。"])
MEDIATION = np.array(["调解成功", "调解成功", "调解成功", "调解不成功", "终止调解"])
MOBILE_PREFIX = np.array(["138", "139", "135", "186", "158", "177", "199", "150", "131", "188"])
MAIL_DOMAINS = np.array(["163.com", "qq.com", "126.com", "sina.com", "139.com"])
PINYIN = np.array(["wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu"])
PII_LEADS = np.array(["联系电话：", "手机", "电话", "联系方式：", "身份证号", "邮箱"])


class Complaints:
    """Complaint counts per shop and day; `pii` lists every personal value planted, in order."""

    def __init__(self, w: World, start: dt.date):
        self.w = w
        self.start = start
        self.e0 = fmt.epoch_day(start)
        self.untimely = [p.shops[0] for p in w.plants if p.kind == "untimely"]
        # share of a planted untimely shop's complaints answered late (power mode: power.target)
        self.late_share = {p.shops[0]: (UNTIMELY_LATE_SHARE if "strength" not in p.params else
                                        min(1.0, target("untimely", p.params["strength"]))) for p in w.plants if p.kind == "untimely"}
        self.untimely_seen: dict[int, int] = {}   # complaints so far per planted untimely shop
        self.pii: list[str] = []

    def _counts(self, t: int, rng: np.random.Generator, orders_by_shop: np.ndarray) -> np.ndarray:
        """Complaints per shop on day t."""
        w = self.w
        orders = orders_by_shop.astype(float)
        mu = BASE_COMPLAINT_RATE * w.shop_cmult * orders
        plant = w.shop_plant
        lam = np.where(plant == "", mu * rng.gamma(2.0, 0.5, len(mu)), mu)
        for p in w.plants:
            if p.kind == "rate":   # power mode: the share whose expected posterior ratio is the target
                share = p.params.get("rate_share", RATE_PLANT_SHARE)
                lam[p.shops[0]] = share * orders[p.shops[0]]
        cnt = rng.poisson(lam)
        # a planted untimely shop gets enough complaints to be judged at every scale: at least one on two days of
        # every week (>= 8 in any 30-day window, on top of its ordinary ~0.16 a day); its complaint rate stays
        # ~3 % of orders, far from a rate_posterior lead
        if t % 7 in UNTIMELY_MIN_DAYS:
            opened = [s_ for s_ in self.untimely if w.shop_open[s_] <= t]   # (a power new_shop opens late)
            cnt[opened] = np.maximum(cnt[opened], 1)
        for p in w.plants:
            if p.kind == "surge" and p.first <= t <= p.last:
                if "strength" in p.params:   # power mode: exactly ceil(strength x k1) complaints at the
                    # expected orders of the key day (power.surge_count, world.expected_orders)
                    cnt[p.shops[0]] = surge_count(p.params["strength"], p.params["surge_orders"], BASE_COMPLAINT_RATE)
                else:
                    cnt[p.shops[0]] += 10
        ts = w.trap_single_shop
        if t == w.shop_open[ts] + 1:
            cnt[ts] = 1
        cnt[plant == "trap_single"] = cnt[plant == "trap_single"] * (t == w.shop_open[ts] + 1)
        return cnt

    def day(self, t: int, sinks: dict[str, Sink], rng: np.random.Generator, orders_by_shop: np.ndarray) -> None:
        w = self.w
        cnt = self._counts(t, rng, orders_by_shop)
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
        for s_ in self.untimely:
            mine = np.flatnonzero(sh == s_)
            k0 = self.untimely_seen.get(s_, 0)
            k = k0 + np.arange(len(mine))
            share = self.late_share[s_]
            late[mine] = np.floor(share * (k + 1)) > np.floor(share * k)
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

    def _with_pii(self, text: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Append a phone number (four spellings), identity number or e-mail to 30 % of the texts."""
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
        lead = np.choose(kind, PII_LEADS)
        self.pii.extend(val.tolist())
        out = text.astype(object)
        out[has] = np.char.add(np.char.add(text[has], lead), val).astype(object)
        return out.astype(str)


def _slice(a: np.ndarray, i: int, j: int) -> np.ndarray:
    """Characters i..j of each 11-character string."""
    n = len(a)
    chars = np.ascontiguousarray(a.astype("U11")).view("U1").reshape(n, 11)[:, i:j]
    return np.ascontiguousarray(chars).view(f"U{j - i}").reshape(n)


def _fullwidth(a: np.ndarray) -> np.ndarray:
    out = a.astype("U11")
    for d in range(10):
        out = np.char.replace(out, str(d), fullwidth(str(d)))
    return out
