"""广告绝对化用语 (advertising.absolute_terms): listings whose title carries a term 《广告法》第九条第（三）项 forbids, and
decoy titles the 2023 执法指南 exempts.

Each plant is an extra listing (extras.py) of a background shop of the main world: an ordinary SKU the shop did not
offer yet (never a planted SKU nor the cost-shock category), shown every day from its first day to the last
generated day under one title (a shop keeps its listing's title). The terms are spelled as shops spell them: plain,
with an ideographic space (最　佳), spaced (顶 级), inside a longer claim (全网最低价, 销量第一). First days are spread
over the history and the run. Ground truth: the listing (shop_id, sku_id), first_date = its first day.

Decoys (never ground truth; the exceptions of indicators/advertising/absolute_terms.yml): 2026最新款 (release
order), 开封后最佳赏味期 (a consumption hint), 最大功率 (an objective specification, not a term), a model number NO.12.

Random stream `default_rng([seed, 7, 3])`.
"""

from __future__ import annotations

import numpy as np

from .extras import Extras
from .world import SHOCK_CATEGORY

INDICATOR = "advertising.absolute_terms"
# (title pattern, first day: "h" = history start, "m" = 12 days before the run, an int = that key-day index)
PLANTED_TITLES = [
    ("{name} 国家级品质", "h"),
    ("{name} 口感最　佳", "m"),
    ("顶 级{name} 礼盒装", 0),
    ("{name} 全网最低价", 1),
    ("{name} 销量第一 正品保障", 2),
    ("{name} 最高级配置", "h"),
]
DECOY_TITLES = [
    "{name} 2026最新款",
    "{name} 开封后最佳赏味期30天",
    "{name} 最大功率2000W",
    "{name} 型号NO.12",
]


def plant_absolute_terms(x: Extras) -> None:
    rng = np.random.default_rng([x.seed, 7, 3])
    w = x.w
    end = x.days - 1
    planted_skus = {p.sku for p in w.plants}
    skus = [k for k in range(len(w.sku_id)) if w.sku_cat[k] != SHOCK_CATEGORY and k not in planted_skus]
    kd = [min(end, 1 + (i * max(1, x.days - 2)) // 3) for i in range(3)]
    titles = [] if x.clean else [(t, f, True) for t, f in PLANTED_TITLES]
    titles += [(t, "h", False) for t in DECOY_TITLES]
    for pattern, when, planted in titles:
        shop = x.pick_shops(rng, 1)[0]
        have = x.listed_by(shop)
        sku = next(int(k) for k in rng.permutation(skus) if str(w.sku_id[k]) not in have)
        first = -x.history_days if when == "h" else (-12 if when == "m" else kd[when])
        entry = x.add_title(sku, pattern.format(name=str(w.sku_name[sku])))
        x.add_listing(shop, entry, first, end)
        if planted:
            x.plant_listing(INDICATOR, shop, str(w.sku_id[sku]), max(first, x.first_day), end)
