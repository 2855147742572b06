"""电子商务产品质量监督抽查 (source `quality_sampling`) and the plants of quality.failed_sample_on_sale.

The stream: results published on most days (Poisson, ~1.2 a day, history included in the first drop), each a
product some background shop lists (its SKU, or the SKU left empty as in many published tables), nearly all
合格. The planted failures are products of their own (extras.py catalogue entries with a GTIN of their own, a
producer, a model and a batch), each offered by a background shop (the sampled one) and by one or two shops of
other platforms and cities:

- planted `sku` cases (N_SKU_CASES): 不合格 published on a run day; every shop keeps offering the product until
  the last generated day. Ground truth: the sampled shop's listing (severity high in the product) and each
  other shop's listing (medium), first_date = the publication day.
- planted `name` case: the record carries no 商品编号; the listing titles carry the record's product name, the
  producer's brand and the model, so the product is found by name + producer + model.
- decoy `delisted`: 不合格 published on a run day; every listing of the product is last shown that day.
- decoy `gone`: 不合格 published in the history for a product no shop lists any more (not in the feed).

Files: landing/quality_sampling/<D>/quality_sampling.csv, GBK on even day offsets, UTF-8 with BOM on odd ones,
headers of docs/CONTRACT.md §3. Random stream `default_rng([seed, 8])`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .extras import Extras
from .ids import gtin13
from .landing import Landing
from .world import BRANDS, PLATFORM_NAMES

INDICATOR = "quality.failed_sample_on_sale"
SOURCE = "quality_sampling"
COLUMNS = ["抽查编号", "产品名称", "商品编号", "平台名称", "店铺编号", "被抽样单位名称", "被抽样单位统一社会信用代码",
           "标称生产者名称", "规格型号", "生产日期或批号", "抽查结果", "不合格项目", "公布日期", "抽查机关"]
DAILY_RESULTS = 1.2
AUTHORITY = "辽宁省市场监督管理局"
# category index -> (product noun, model prefix, spec, producer trade, failed items, base price)
PRODUCTS = [
    (1, "电热水壶", "SH-", "1.7L", "电器", "泄漏电流和电气强度；标志和说明", 89.0),
    (2, "婴儿奶瓶", "NB-", "240ml", "母婴用品", "双酚A迁移量", 59.0),
    (5, "儿童羽绒服", "YR-", "120码", "服饰", "含绒量；绳带", 199.0),
    (4, "移动电源", "PB-", "10000mAh", "电子科技", "过充电保护；标志和说明", 79.0),
    (7, "保温杯", "BW-", "500ml", "日用品", "保温效能；标签标识", 49.0),
    (1, "电暖器", "DN-", "2000W", "电器", "输入功率和电流；发热", 259.0),
]
PRODUCER_BRANDS = ["康瑞", "宜佳", "贝优", "暖冬", "速能", "恒温"]
PRODUCER_CITIES = ["宁波市", "佛山市", "东莞市", "温州市", "义乌市", "中山市"]
CAT_TRADE = {0: "食品", 1: "电器", 2: "母婴用品", 3: "化妆品", 4: "电子科技", 5: "服饰", 6: "农产品", 7: "日用品"}


class QualitySampling:
    def __init__(self, x: Extras, landing: Landing):
        self.x = x
        self.landing = landing
        self.rng = np.random.default_rng([x.seed, 8])
        self.records: list[dict] = []   # one per result, with its publication day "t"
        self.cases: list[dict] = []
        self._plan()

    # ---- plan ---------------------------------------------------------------------------------------------
    def _plan(self) -> None:
        x, rng = self.x, self.rng
        end = x.days - 1
        run = max(1, x.days - 2)
        pub = [min(end - 1, 1 + (i * run) // 4) if x.days > 2 else -3 for i in range(4)]
        kinds = ["sku", "sku", "name", "sku"]
        products = rng.permutation(len(PRODUCTS))
        if not x.clean:
            for i, kind in enumerate(kinds):
                self._product_case(kind, int(products[i]), pub[i], offered_until=end, n_others=1 + i % 2)
        d_pub = max(0, x.days // 2) if x.days > 2 else -2
        self._product_case("delisted", int(products[4]), d_pub, offered_until=d_pub, n_others=1)
        self._product_case("gone", int(products[5]), -20, offered_until=None, n_others=0)
        self._background()

    def _product_case(self, kind: str, p: int, t_pub: int, offered_until: int | None, n_others: int) -> None:
        x, rng = self.x, self.rng
        cat, noun, mprefix, spec, trade, failed, base = PRODUCTS[p]
        brand = PRODUCER_BRANDS[p % len(PRODUCER_BRANDS)]
        producer = f"{PRODUCER_CITIES[int(rng.integers(0, len(PRODUCER_CITIES)))]}{brand}{trade}有限公司"
        model = f"{mprefix}{int(rng.integers(1000, 9999))}"
        sku_id = str(gtin13(np.array(["69" + str(int(rng.integers(0, 10**10))).zfill(10)]))[0])
        title = f"{brand}{noun} {model} {spec}"
        shops = x.pick_shops(rng, 1 + n_others)
        listed_from = -int(rng.integers(20, 31))
        entry = x.add_product(sku_id, title, cat, base * float(rng.uniform(0.9, 1.1)))
        if offered_until is not None:
            for s in shops:
                x.add_listing(s, entry, listed_from, offered_until)
        if kind in ("sku", "name"):
            for s in shops:
                x.plant_listing(INDICATOR, s, sku_id, t_pub, offered_until)
        s0 = shops[0]
        uscc, company, _ = x.enterprise(x.shop_enterprise(s0))
        batch_day = x.start + dt.timedelta(days=int(t_pub - rng.integers(60, 120)))
        self.records.append(dict(
            t=t_pub, product_name=f"{brand}{noun}", sku_id="" if kind == "name" else sku_id,
            platform=str(PLATFORM_NAMES[x.shop_platform(s0)]), shop_id=self._shop_id(s0), company=company,
            uscc=uscc, producer=producer, model=model, batch=batch_day.isoformat(), result="不合格", failed=failed))
        self.cases.append(dict(kind=kind, sku_id=sku_id, published=x.date(t_pub), shops=[self._shop_id(s) for s in shops]))

    def _shop_id(self, s: int) -> str:
        x = self.x
        return str(x.w.shop_id[s])   # quality plants use main-world shops only

    def _background(self) -> None:
        """合格 results over ordinary listings, Poisson per day, from the history's first day to the last day."""
        x, rng, w = self.x, self.rng, self.x.w
        bg = np.flatnonzero((w.shop_plant[w.l_shop] == "") & (w.shop_open[w.l_shop] < -x.history_days - 1))
        brands = sorted(BRANDS, key=len, reverse=True)
        for t in range(-x.history_days, x.days):
            for _ in range(int(rng.poisson(DAILY_RESULTS))):
                li = int(bg[rng.integers(0, len(bg))])
                s, k = int(w.l_shop[li]), int(w.l_sku[li])
                name = str(w.sku_name[k])
                head, _, model = name.partition(" ")
                brand = next((b for b in brands if head.startswith(b)), head[:2])
                e = int(w.shop_ent[s])
                batch_day = x.start + dt.timedelta(days=int(t - rng.integers(30, 150)))
                self.records.append(dict(
                    t=t, product_name=head, sku_id=str(w.sku_id[k]) if rng.random() < 0.8 else "",
                    platform=str(PLATFORM_NAMES[w.shop_plat[s]]), shop_id=str(w.shop_id[s]),
                    company=str(w.ent_name[e]), uscc=str(w.ent_uscc[e]),
                    producer=f"{PRODUCER_CITIES[k % len(PRODUCER_CITIES)]}{brand}{CAT_TRADE[int(w.sku_cat[k])]}有限公司",
                    model=model, batch=batch_day.isoformat(), result="合格", failed=""))

    # ---- files ----------------------------------------------------------------------------------------------
    def day(self, t: int) -> None:
        """Write the results published on day t (the first drop: every result published up to then)."""
        if t < 0:
            return
        recs = [r for r in self.records if (r["t"] <= 0 if t == 0 else r["t"] == t)]
        if not recs:
            return
        recs.sort(key=lambda r: (r["t"], r["result"] != "不合格", r["shop_id"], r["product_name"]))
        seq_by_day: dict[int, int] = {}
        ids = []
        for r in recs:
            n = seq_by_day[r["t"]] = seq_by_day.get(r["t"], 0) + 1
            ids.append(f"LN-CC-{self.x.date(r['t']):%Y%m%d}-{n:03d}")
        gbk = t % 2 == 0

        def col(key):
            return np.array([r[key] for r in recs], dtype=object)
        self.landing.write_file(SOURCE, t, COLUMNS, {
            "抽查编号": np.array(ids, dtype=object), "产品名称": col("product_name"), "商品编号": _nz(col("sku_id")),
            "平台名称": col("platform"), "店铺编号": col("shop_id"), "被抽样单位名称": col("company"),
            "被抽样单位统一社会信用代码": col("uscc"), "标称生产者名称": col("producer"), "规格型号": col("model"),
            "生产日期或批号": col("batch"), "抽查结果": col("result"), "不合格项目": _nz(col("failed")),
            "公布日期": np.array([self.x.date(r["t"]).isoformat() for r in recs], dtype=object),
            "抽查机关": AUTHORITY}, encoding="gbk" if gbk else "utf-8", bom=not gbk)


def _nz(a: np.ndarray) -> list:
    """Empty strings as empty fields."""
    return [v if v else None for v in a.tolist()]

