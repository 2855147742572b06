"""The static world of the synthetic province: cities, platforms, SKUs, enterprises, shops, listings,
and the planted anomalies (which shops/SKUs/cells misbehave, how and when).

Everything here is drawn once from `default_rng([seed, 0])`; the day loop (`province.py` and the
modules it drives) uses one generator per simulated day, so the same seed gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .ids import gtin13, make_uscc
from .power import (
    HIGH_VOLUME,
    NEW_SHOP_DAYS,
    PLANTS_PER_STRENGTH,
    SMALL_CELL,
    SMALL_CELL_PEERS,
    STATISTICS,
    STRENGTHS,
    below_rates,
    key_day,
    median_cv,
    median_rd,
    plant_strength,
    power_cells,
    rate_share,
    target,
)

CITIES = [  # 行政区划代码, name, relative size (shops)
    ("210100", "沈阳市", 9), ("210200", "大连市", 8), ("210300", "鞍山市", 3), ("210400", "抚顺市", 2),
    ("210500", "本溪市", 1.5), ("210600", "丹东市", 2), ("210700", "锦州市", 2.5), ("210800", "营口市", 2.5),
    ("210900", "阜新市", 1.5), ("211000", "辽阳市", 1.5), ("211100", "盘锦市", 1.5), ("211200", "铁岭市", 1.5),
    ("211300", "朝阳市", 1.5), ("211400", "葫芦岛市", 2),
]
CITY_CODES = np.array([c[0] for c in CITIES])
CITY_NAMES = np.array([c[1] for c in CITIES])
CITY_SHORT = np.array([c[1][:2] for c in CITIES])
# districts whose codes python-stdnum accepts for persons born 1988-2003 (for planted RIC numbers)
RIC_DISTRICTS = ["210102", "210202", "210302", "210402", "210502", "210602", "210702", "210802",
                 "210902", "211002", "211102", "211202", "211302"]

PLATFORMS = [("tmall", "天猫", "TM"), ("jd", "京东", "JD"), ("pdd", "拼多多", "PD"),
             ("meituan_youxuan", "美团优选", "MT"), ("douyin", "抖音电商", "DY")]
PLATFORM_IDS = np.array([p[0] for p in PLATFORMS])
PLATFORM_NAMES = np.array([p[1] for p in PLATFORMS])

CATEGORIES = [  # Chinese name, English, price level (CNY), product nouns
    ("粮油副食", "grocery", 40, ["大米", "花生油", "挂面", "酱油", "小米"]),
    ("家用电器", "appliances", 900, ["电饭煲", "空气炸锅", "吸尘器", "电热水壶", "微波炉"]),
    ("母婴用品", "baby", 160, ["纸尿裤", "奶粉", "湿巾", "奶瓶", "婴儿推车"]),
    ("美妆个护", "beauty", 120, ["面霜", "洗发水", "防晒霜", "口红", "牙膏"]),
    ("数码配件", "electronics", 150, ["充电宝", "耳机", "数据线", "鼠标", "键盘"]),
    ("服装鞋帽", "fashion", 220, ["羽绒服", "运动鞋", "保暖内衣", "围巾", "棉帽"]),
    ("生鲜果蔬", "fresh", 35, ["苹果", "大樱桃", "海参", "草莓", "鲜虾"]),
    ("家居日用", "housewares", 60, ["抽纸", "洗衣液", "保温杯", "收纳箱", "拖把"]),
]
BRANDS = ["辽宝", "盛京", "滨海", "北方", "鑫源", "华润", "东港", "金州", "千山", "鸭绿江", "渤海", "北镇"]
NAME_PARTS_A = ["盛达", "恒信", "鑫隆", "华泰", "金鼎", "瑞丰", "宏远", "佳禾", "永顺", "福源", "德润", "兴旺",
                "广汇", "诚信", "天成", "嘉禾", "联众", "顺发", "万家", "百川"]
NAME_PARTS_B = ["商贸", "电子商务", "贸易", "食品", "科技", "百货", "农业", "日用品"]
SHOP_SUFFIX = ["旗舰店", "专营店", "官方店", "优选店", "生活馆", "直营店"]

# planted anomaly kinds -> indicator ids they plant (a behaviour may legitimately break two rules)
PLANT_KINDS = {
    "cn7": ["price.cn_reference_7d"],
    "eu30": ["price.eu_prior_30d"],
    "runup": ["price.pre_promo_runup", "price.eu_prior_30d"],
    "phantom": ["price.phantom_reference"],
    "spike": ["price.spike_mad"],
    "below": ["price.sustained_below_market"],
    "variance": ["collusion.variance_screen"],
    "cover": ["collusion.cover_distance"],
    "parallel": ["collusion.parallelism"],
    "probe": ["discrimination.paired_probe"],
    "loyalty": ["discrimination.loyalty_premium"],
    "rate": ["complaints.rate_posterior"],
    "untimely": ["complaints.untimely_response"],
    "surge": ["complaints.surge"],
    "brush": ["integrity.concentrate_rate"],
    "burst": ["integrity.rating_burst"],
    "latency": ["integrity.answer_latency"],
    "buyerconc": ["integrity.buyer_concentration"],
}
CELL_KINDS = {"variance": 5, "cover": 5, "parallel": 4}   # shops per planted market cell
N_PER_KIND = 3
HISTORY_DAYS = 35          # days of history carried by the first drop
PHANTOM_HISTORY_DAYS = 100  # the phantom-reference shops' strike-through history reaches further back
MARKUP_SD = 0.08           # cross-seller price dispersion (MAD ~ 0.054 of the price)
SHOCK_CATEGORY = 0         # the category that reprices +8 % at once on day 3 (common cost shock)
BELOW_PEER_RATE = 1.0      # orders/day of each of the 10 peers of a below-market plant (they really sell)
RATE_PLANT_SHARE = 0.25    # complaints per order of a planted complaints.rate_posterior shop
UNTIMELY_MIN_DAYS = (0, 3)  # a planted untimely shop gets >= 1 complaint on these days of every week (any scale)


@dataclass
class Plant:
    kind: str
    idx: int                       # 0..N_PER_KIND-1
    shops: list                    # shop indices
    sku: int
    region: int                    # city index
    t0: int                        # key day (promo start, spike day, surge day, burst day ...)
    first: int                     # behaviour window (day offsets from start)
    last: int
    params: dict = field(default_factory=dict)


@dataclass
class World:
    start: dt.date
    days: int
    scale: float
    seed: int
    # SKUs
    sku_id: np.ndarray = None
    sku_cat: np.ndarray = None
    sku_name: np.ndarray = None
    sku_base: np.ndarray = None
    # enterprises
    ent_uscc: np.ndarray = None
    ent_name: np.ndarray = None
    ent_city: np.ndarray = None
    ent_est: np.ndarray = None      # datetime64[D]
    # shops
    shop_id: np.ndarray = None
    shop_name: np.ndarray = None
    shop_ent: np.ndarray = None
    shop_plat: np.ndarray = None
    shop_city: np.ndarray = None
    shop_open: np.ndarray = None    # day offset the shop appears (<= -HISTORY_DAYS for old shops)
    shop_pop: np.ndarray = None
    shop_cmult: np.ndarray = None   # complaint-rate multiplier (over-dispersion between shops)
    shop_plant: np.ndarray = None   # '' or plant kind
    # listings
    l_shop: np.ndarray = None
    l_sku: np.ndarray = None
    l_markup: np.ndarray = None
    l_rate: np.ndarray = None       # generic orders/day
    l_campaign: np.ndarray = None   # joins platform campaigns
    l_promos: np.ndarray = None     # may run ordinary promotions
    l_probe: np.ndarray = None      # paired-probe panel
    l_sched: np.ndarray = None      # -1 or row in the schedule (planted price paths)
    plants: list = field(default_factory=list)
    popular_shops: np.ndarray = None
    trap_single_shop: int = -1


def zip_prefix(city: np.ndarray) -> np.ndarray:
    """A made-up 5-digit postcode prefix per city index (Olist's zip_code_prefix columns)."""
    return np.char.add("1", np.char.zfill((10 + city * 3).astype(str), 4))


def _pick(rng, n, weights):
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def key_days(days: int) -> list[int]:
    """Three key days spread over the generated window (all within it, whatever `days` is)."""
    if days <= 1:
        return [0, 0, 0]
    return [min(days - 1, 1 + (i * (days - 2)) // 3) for i in range(N_PER_KIND)]


def build_world(start: dt.date, days: int, scale: float, seed: int, *, clean: bool = False,
                power: str | None = None) -> World:
    """`clean=True`: the same world and campaigns with no planted anomaly (false-positive control, issue 20).
    `power=CONTEXT`: every kind planted power.PLANTS_PER_STRENGTH times per strength of power.STRENGTHS in that market
    context, each plant its own shop and (sku, city) cell (power.py)."""
    rng = np.random.default_rng([seed, 0])
    w = World(start=start, days=days, scale=scale, seed=seed)
    H = HISTORY_DAYS

    # --- SKUs -------------------------------------------------------------------------------
    n_sku = max(40, int(round(400 * scale ** 0.5)))
    cat = rng.integers(0, len(CATEGORIES), n_sku)
    cat[: len(CATEGORIES)] = np.arange(len(CATEGORIES))
    level = np.array([c[2] for c in CATEGORIES], float)[cat]
    w.sku_base = np.round(level * rng.lognormal(0, 0.45, n_sku), 1) + 0.9
    bodies = np.char.add("69", np.char.zfill(rng.integers(0, 10**10, n_sku).astype(str), 10))
    w.sku_id = gtin13(bodies)
    nouns = np.array([c[3] for c in CATEGORIES], dtype=object)
    noun_pick = rng.integers(0, 5, n_sku)
    noun = np.array([nouns[c][k] for c, k in zip(cat, noun_pick)])
    brand = np.array(BRANDS)[rng.integers(0, len(BRANDS), n_sku)]
    w.sku_name = np.char.add(np.char.add(brand, noun), np.char.add(" ", np.char.add(
        np.char.zfill((np.arange(n_sku) % 97 + 1).astype(str), 2), "型")))
    w.sku_cat = cat
    sku_pop = 1.0 / (np.arange(n_sku) + 4.0)
    sku_pop = sku_pop[rng.permutation(n_sku)]

    # --- background enterprises and shops ---------------------------------------------------
    n_bg = max(90, int(round(700 * scale)))
    city_w = np.array([c[2] for c in CITIES], float)
    shops_per_ent = _pick(rng, n_bg, [0.7, 0.2, 0.1]) + 1
    shops_per_ent = shops_per_ent[np.cumsum(shops_per_ent) <= n_bg]
    n_ent_bg = len(shops_per_ent)
    ent_city = _pick(rng, n_ent_bg, city_w)
    shop_ent = np.repeat(np.arange(n_ent_bg), shops_per_ent)
    n_shop_bg = len(shop_ent)
    shop_plat = rng.integers(0, len(PLATFORMS), n_shop_bg)
    shop_open = np.full(n_shop_bg, -H - 400)
    new = rng.random(n_shop_bg) < 0.04
    shop_open[new] = rng.integers(1, max(2, days), new.sum()) if days > 1 else 0
    shop_pop = rng.lognormal(0, 0.9, n_shop_bg)
    shop_pop[new] *= 0.05   # new shops: few orders
    shop_cmult = rng.gamma(2.0, 0.5, n_shop_bg)   # negative-binomial style over-dispersion

    ents = {"city": list(ent_city)}
    shops = {"ent": list(shop_ent), "plat": list(shop_plat), "open": list(shop_open), "pop": list(shop_pop),
             "cmult": list(shop_cmult), "plant": [""] * n_shop_bg}

    # listings for background shops: Gumbel top-k on SKU popularity, in batches of shops
    k = int(np.clip(round(70000 * scale / n_shop_bg), 6, n_sku // 2))
    logp = np.log(sku_pop)
    l_shop, l_sku = [], []
    for b0 in range(0, n_shop_bg, 2000):
        b1 = min(n_shop_bg, b0 + 2000)
        keys = logp[None, :] + rng.gumbel(size=(b1 - b0, n_sku))
        top = np.argpartition(-keys, k, axis=1)[:, :k]
        top.sort(axis=1)
        l_shop.append(np.repeat(np.arange(b0, b1), k))
        l_sku.append(top.ravel())
    l_shop = np.concatenate(l_shop)
    l_sku = np.concatenate(l_sku)
    shop_city_bg = ent_city[shop_ent]

    # --- planted anomalies ------------------------------------------------------------------
    kd = key_days(days)
    last = days - 1
    order_by_pop = np.argsort(-sku_pop, kind="stable")
    big_cities = [0, 1, 2, 6, 7, 13]
    extra_l_shop, extra_l_sku = [], []
    excluded_cells = set()
    plants: list[Plant] = []

    def new_shop(city, plat, pop, kind, ent=None):
        if ent is None:
            ents["city"].append(city)
            ent = len(ents["city"]) - 1
        shops["ent"].append(ent)
        shops["plat"].append(plat)
        shops["open"].append(-PHANTOM_HISTORY_DAYS - 400)
        shops["pop"].append(pop)
        shops["cmult"].append(1.0)
        shops["plant"].append(kind)
        return len(shops["ent"]) - 1

    used_cells = set()
    sku_cursor = 0
    # planted price paths stay off the common cost shock: a shock inside a run-up or a 7-day reference
    # window would be a second, unlisted breach (the shocked category's SKUs are never planted)
    plant_skus = np.array([s for s in order_by_pop if cat[s] != SHOCK_CATEGORY])
    n_cand = min(len(plant_skus), 30)
    n_per = N_PER_KIND
    kinds = {} if clean else PLANT_KINDS
    power_cell = {}
    if power:   # PLANTS_PER_STRENGTH plants per strength, all on the context's key day, each its own cell (power.py)
        n_per = len(STRENGTHS) * PLANTS_PER_STRENGTH
        kd = [key_day(power, start, days)] * n_per
        kinds = [k for k in PLANT_KINDS if k in STATISTICS]
        # every fifth SKU stays unplanted: the issue-22 plants (extras.py) take ordinary SKUs no plant uses
        skus = [int(s) for j, s in enumerate(plant_skus) if j % 5 != 4]
        cities = big_cities + [c for c in range(len(CITIES)) if c not in big_cities]
        if power == "small_cell":   # less popular SKUs (fewer sellers) first, small cities first
            skus = skus[::-1]
            cities = [4, 8, 9, 10, 11, 12, 3, 5, 6, 7, 13, 2]
        power_cell = power_cells(kinds, n_per, skus, cities)
    for kind in kinds:
        for i in range(n_per):
            # popular SKUs (many sellers) in big cities, a distinct (sku, city) cell per plant
            while not power_cell:
                sku = int(plant_skus[sku_cursor % n_cand])
                city = big_cities[(sku_cursor // 3) % len(big_cities)]
                if kind == "below":
                    city = (0, 1)[i % 2]   # the two largest cities: enough peer sellers for a 10th percentile
                sku_cursor += 1
                if (sku, city) not in used_cells:
                    break
            if power_cell:
                sku, city = power_cell[(kind, i)]
            used_cells.add((sku, city))
            t0 = kd[i]
            p = Plant(kind=kind, idx=i, shops=[], sku=sku, region=city, t0=t0, first=-H, last=last)
            if kind in CELL_KINDS:
                excluded_cells.add((sku, city))
                for j in range(SMALL_CELL[kind] if power == "small_cell" else CELL_KINDS[kind]):
                    p.shops.append(new_shop(city, j % len(PLATFORMS), 1.0, kind))
            else:
                p.shops.append(new_shop(city, (i + len(plants)) % len(PLATFORMS), 1.0, kind))
            # behaviour windows
            if kind == "cn7":
                p.first, p.last = t0 - 7, min(last, t0 + 3)
            elif kind in ("eu30",):
                p.first, p.last = t0 - 25, min(last, t0 + 3)
            elif kind == "runup":
                p.first, p.last = t0 - 10, min(last, t0 + 3)
            elif kind == "phantom":
                p.first = -PHANTOM_HISTORY_DAYS
            elif kind == "spike":
                p.first, p.last = t0, min(last, t0 + 2)
            elif kind == "loyalty":
                p.first, p.last = t0, min(last, t0 + 2)
            elif kind == "surge":
                p.first, p.last = t0, min(last, t0 + 1)
            elif kind == "brush":
                p.first = p.last = t0
            elif kind == "burst":
                p.first, p.last = t0 - 6, t0
            if power:
                (p.params["strength"], p.params["replicate"]), p.params["context"] = plant_strength(i), power
                if power == "new_shop":   # short own history: the planted shops opened NEW_SHOP_DAYS before t0
                    for s_ in p.shops:
                        shops["open"][s_] = t0 - NEW_SHOP_DAYS
                    p.first = max(p.first, t0 - NEW_SHOP_DAYS)
            if kind == "below":
                # enough peers in the cell for a 10th percentile
                n_peers = SMALL_CELL_PEERS if power == "small_cell" else 10
                peers = np.flatnonzero((shop_city_bg == city) & (shop_open < 0))[:n_peers]
                extra_l_shop.append(peers)
                extra_l_sku.append(np.full(len(peers), sku))
                p.params["peers"] = peers
            plants.append(p)
    # a few enterprises own two planted shops of different kinds (many flags -> tier C)
    for a, b in ([] if clean or power else [("spike", "brush"), ("cn7", "latency"), ("probe", "buyerconc")]):
        pa_ = next(p for p in plants if p.kind == a and p.idx == 2)
        pb_ = next(p for p in plants if p.kind == b and p.idx == 2)
        ent_a = shops["ent"][pa_.shops[0]]
        shops["ent"][pb_.shops[0]] = ent_a
        pb_.region = pa_.region   # a shop is registered in its enterprise's city
        # the re-homed shop keeps a (sku, city) cell of its own: never inside another plant's cell (a planted
        # variance/cover/parallel cell must hold only its own sellers)
        if (pb_.sku, pb_.region) in used_cells:
            pb_.sku = next(int(s) for s in plant_skus if (int(s), pb_.region) not in used_cells)
        used_cells.add((pb_.sku, pb_.region))
    # trap: a brand-new shop with a single order and a single complaint (outside every planted cell)
    trap_city = int(_pick(rng, 1, city_w)[0])
    trap = new_shop(trap_city, 2, 0.0, "trap_single")
    shops["open"][trap] = min(2, last)
    w.trap_single_shop = trap
    trap_sku = next(int(s) for s in order_by_pop if (int(s), trap_city) not in used_cells)

    # --- assemble enterprises / shops --------------------------------------------------------
    ent_city = np.array(ents["city"])
    n_ent = len(ent_city)
    w.ent_city = ent_city
    w.ent_uscc = make_uscc(rng, CITY_CODES[ent_city])
    a = np.array(NAME_PARTS_A)[rng.integers(0, len(NAME_PARTS_A), n_ent)]
    b = np.array(NAME_PARTS_B)[rng.integers(0, len(NAME_PARTS_B), n_ent)]
    serial = np.char.zfill((np.arange(n_ent) + 1).astype(str), 4)
    w.ent_name = np.char.add(np.char.add(np.char.add(CITY_NAMES[ent_city], a), np.char.add(b, serial)),
                             "有限公司")
    w.ent_est = (np.datetime64("2008-01-01") + rng.integers(0, 5000, n_ent)).astype("datetime64[D]")
    w.shop_ent = np.array(shops["ent"])
    w.shop_plat = np.array(shops["plat"])
    w.shop_city = ent_city[w.shop_ent]
    w.shop_open = np.array(shops["open"])
    w.shop_pop = np.array(shops["pop"], float)
    w.shop_cmult = np.array(shops["cmult"], float)
    w.shop_plant = np.array(shops["plant"], dtype=object)
    n_shop = len(w.shop_ent)
    prefix = np.array([p[2] for p in PLATFORMS])[w.shop_plat]
    w.shop_id = np.char.add(prefix, np.char.zfill((np.arange(n_shop) + 100001).astype(str), 6))
    suffix = np.array(SHOP_SUFFIX)[rng.integers(0, len(SHOP_SUFFIX), n_shop)]
    short = np.char.add(CITY_SHORT[w.shop_city], a[w.shop_ent])
    w.shop_name = np.char.add(np.char.add(short, np.char.zfill((np.arange(n_shop) % 1000).astype(str), 3)),
                              suffix)
    w.popular_shops = np.argsort(-np.where(w.shop_plant == "", w.shop_pop, 0), kind="stable")[:3]

    # --- listings ----------------------------------------------------------------------------
    if extra_l_shop:
        l_shop = np.concatenate([l_shop] + extra_l_shop)
        l_sku = np.concatenate([l_sku] + extra_l_sku)
    # drop duplicates and background listings in the planted collusion cells
    key = l_shop.astype(np.int64) * (n_sku + 1) + l_sku
    _, first_idx = np.unique(key, return_index=True)
    first_idx.sort()
    l_shop, l_sku = l_shop[first_idx], l_sku[first_idx]
    if excluded_cells:
        cells = np.array(sorted(excluded_cells))
        cell_key = l_sku.astype(np.int64) * 100 + w.shop_city[l_shop]
        ex_key = cells[:, 0].astype(np.int64) * 100 + cells[:, 1]
        keep = ~np.isin(cell_key, ex_key)
        l_shop, l_sku = l_shop[keep], l_sku[keep]
    n_bg_l = len(l_shop)
    pl_shop = np.array([s for p in plants for s in p.shops] + [trap])
    pl_sku = np.array([p.sku for p in plants for _ in p.shops] + [trap_sku])
    w.l_shop = np.concatenate([l_shop, pl_shop])
    w.l_sku = np.concatenate([l_sku, pl_sku])
    L = len(w.l_shop)
    w.l_markup = np.clip(rng.normal(1.0, MARKUP_SD, L), 0.75, 1.3)
    order_budget = max(150.0, 5000.0 * scale)
    raw = w.shop_pop[w.l_shop] * sku_pop[w.l_sku]
    bgmask = np.arange(L) < n_bg_l
    w.l_rate = np.where(bgmask, raw / raw[bgmask].sum() * order_budget, 0.0)
    w.l_campaign = bgmask & (rng.random(L) < 0.7)
    w.l_promos = bgmask.copy()
    w.l_probe = bgmask & (rng.random(L) < 0.03)
    w.l_sched = np.full(L, -1)
    # per-plant listing rows, markups and generic order rates
    pos = n_bg_l
    for p in plants:
        p.params["listings"] = list(range(pos, pos + len(p.shops)))
        pos += len(p.shops)
        rate = {"cn7": 4, "eu30": 4, "runup": 3, "phantom": 3, "spike": 3, "below": 1, "variance": 2,
                "cover": 2, "parallel": 2, "probe": 3, "loyalty": 6, "rate": 6, "untimely": 16,
                "surge": 20, "brush": 6, "burst": 6, "latency": 8, "buyerconc": 5}[p.kind]
        if p.params.get("context") == "high_volume":
            rate *= HIGH_VOLUME
        p.params["rate"] = rate
        for li in p.params["listings"]:
            w.l_rate[li] = rate
            w.l_markup[li] = 1.0
        if p.params.get("context") == "campaign" and p.kind in GENERIC_PRICE_KINDS:
            w.l_campaign[p.params["listings"]] = True   # its orders rise with everyone's at the peak
        if p.kind == "probe":
            w.l_probe[p.params["listings"]] = True
        if p.kind == "below":
            # the peers of a below-market seller sell steadily (no campaign boost), so the planted seller's
            # share of the SKU's orders can rise over the 28 days
            peer_l = np.flatnonzero(np.isin(w.l_shop[:n_bg_l], p.params["peers"]) & (w.l_sku[:n_bg_l] == p.sku))
            w.l_rate[peer_l] = BELOW_PEER_RATE
            w.l_campaign[peer_l] = False
            p.params["peer_listings"] = peer_l
        if "strength" in p.params:
            _power_params(w, p, n_bg_l)
    w.plants = plants
    # row indices as int32 once the world is built: 12 bytes a listing fewer (0.7 GB at a scale-850 day's 59 M)
    w.l_shop, w.l_sku, w.l_sched = (a.astype(np.int32) for a in (w.l_shop, w.l_sku, w.l_sched))
    return w


# plants whose listings keep the generic sticky list price (planted_prices.CLEAN_PRICE_KINDS)
GENERIC_PRICE_KINDS = ("loyalty", "rate", "untimely", "surge", "brush", "burst", "latency", "buyerconc")


def _power_params(w: World, p: Plant, n_bg_l: int) -> None:
    """Market-dependent numbers of a power plant (power.STATISTICS), from the background the generator made."""
    s = p.params["strength"]
    bg_sku, bg_shop = w.l_sku[:n_bg_l], w.l_shop[:n_bg_l]
    if p.kind == "below":
        others = float(w.l_rate[:n_bg_l][bg_sku == p.sku].sum())
        p.params["below_rates"] = below_rates(s, others, r1=p.params["rate"])
    elif p.kind in ("variance", "cover"):
        cell = bg_sku.astype(np.int64) * 100 + w.shop_city[bg_shop]
        if p.kind == "variance":
            same = w.sku_cat[bg_sku] == w.sku_cat[p.sku]
            p.params["cv"] = target("variance", s) * median_cv(w.l_markup[:n_bg_l][same], cell[same], 4)
        else:
            p.params["rd"] = target("cover", s) * median_rd(w.l_markup[:n_bg_l], cell, 5)
    elif p.kind == "rate":
        # the monthly posterior's exposure: the plant's expected orders of the key day's month so far, counted from
        # the day its shop opened (a new shop has only its open days) and with the campaign's boost where it joins it
        day_of_month = (w.start + dt.timedelta(days=p.t0)).day
        p.params["rate_orders"] = sum(expected_orders(w, p, t) for t in range(p.t0 - day_of_month + 1, p.t0 + 1))
        p.params["rate_share"] = rate_share(s, p.params["rate_orders"])
    elif p.kind == "surge":
        # the surge rule's expectation on the key day scales with the shop's orders that day (its exposure term,
        # and the market ratio on a campaign day): the plant is sized against its expected orders of the key day
        p.params["surge_orders"] = expected_orders(w, p, p.t0)


def expected_orders(w: World, p: Plant, t: int) -> float:
    """A power plant's expected orders on day t as prices.PriceBook.offer sets its listing's demand: 0 before its
    shop opens, else its order rate, times the festival boost and the promotion's uplift on festival days when its
    listing joins the campaign (a campaign listing is on promotion through every festival phase)."""
    from .prices import CAMPAIGN_BOOST, PROMO_UPLIFT, campaign_phase  # lazy: prices imports this module

    li = p.params["listings"][0]
    if w.shop_open[w.l_shop[li]] > t:
        return 0.0
    phase = campaign_phase(w.start + dt.timedelta(days=t))
    boost = PROMO_UPLIFT * CAMPAIGN_BOOST[phase] if phase and w.l_campaign[li] else 1.0
    return float(w.l_rate[li]) * boost
