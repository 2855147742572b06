"""Power mode of the generator (issue 20): every plant kind planted at several strengths relative to its indicator's
threshold, in one market context per province.

    generate(out, start, days, scale, seed, power="campaign")     # or market-monitor generate ... --power campaign

Strength s scales the *excess* of the indicator's primary statistic over its clean value (the "null"):
statistic = null + s x (threshold - null), so s = 1.0 is exactly at the threshold and s = 2 twice as far from the
null. Bounded statistics (a share of days, a correlation, a share that cannot exceed 1) scale the distance to the
bound instead: (bound - statistic) = (bound - threshold) / s. The table `STATISTICS` is the definition (one row per
kind, mirrored in docs/ACCURACY.md); the helpers below turn it into the planted numbers. Where the statistic depends
on the market around the plant (a cross-seller median, a category's median CV, an expected Poisson count), the
strength is set against what the generator itself expects there (its own offers that day, the background markups,
the planted shop's expected volume), so the realised statistic is close to, not exactly, s x threshold.

Contexts (`CONTEXTS`), one per power province:
- `ordinary`: the key day is the last generated day, a quiet day (no festival);
- `campaign`: the key day is the 双11 peak (11-11 must be inside the window); the planted shops that keep
  generic prices join the campaign (orders x3 at the peak), the market around every plant moves;
- `small_cell`: a less popular SKU in a small city; market cells of the minimum size the screens accept
  (variance 4, cover 5, parallel 2 sellers), a below-market seller with 4 peers;
- `new_shop`: the planted shops opened 14 days before the key day (short own history);
- `high_volume`: the planted shops sell 10 x the default volume (a big seller).

Ground truth: OUT/power_truth.csv repeats every ground_truth.csv row with `strength` and `context` (empty for a row a
plant breaks as a side effect, e.g. the run-up's EU 30-day row), so the default mode's files stay byte-identical.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

STRENGTHS = (1.2, 1.5, 2.0, 3.0)
PLANTS_PER_STRENGTH = 5     # independent plants per (kind, strength) in one power province (each its own shop and cell)
CONTEXTS = ("ordinary", "campaign", "small_cell", "new_shop", "high_volume")
NEW_SHOP_DAYS = 14          # a new_shop plant opened this many days before its key day
HIGH_VOLUME = 10.0          # order-rate multiplier of a high_volume plant
SMALL_CELL = {"variance": 4, "cover": 5, "parallel": 2}   # sellers of a small planted market cell (the screens' minimum)
SMALL_CELL_PEERS = 4        # peers of a small-cell below-market seller

# kind -> (indicator id, primary statistic, how strength s sets the planted behaviour); the threshold is read from the
# indicator's yml (THRESHOLD_KEYS) and `target(kind, s)` is the planted value. b = the SKU's market price level.
STATISTICS = {
    "cn7": ("price.cn_reference_7d", "RPI = 原价 / lowest 7-day trade (null 1)",
            "trades of the 7 days before the promotion at b / target; promotion 0.9 b with 原价 b"),
    "eu30": ("price.eu_prior_30d", "announced − true reduction (null 0)",
             "earlier promotion at 0.85 b / (0.85 + target), so 'b, 15 % off' overstates by target"),
    "runup": ("price.pre_promo_runup", "run-up = raised / baseline price (null 1)",
              "list price x target for the 10 days before the promotion"),
    "phantom": ("price.phantom_reference", "share of 90 days the strike-through is shown (bounded by 1)",
                "shown on a share target = 1 − (1 − threshold) / s of the days, evenly spaced"),
    "spike": ("price.spike_mad", "modified z vs the SKU's offers that day (null 0)",
              "price = median + target x MAD / 0.6745 of that day's offers (the generator's own)"),
    "below": ("price.sustained_below_market", "share-gain z, recent vs prior 14 days (null 0)",
              "price 0.75 b every day; orders step up 14 days before the key day so that the expected z = target"),
    "variance": ("collusion.variance_screen", "cell CV / category median CV (below cv_ratio)",
                 "cell CV = cv_ratio / s x the background's median CV of the category"),
    "cover": ("collusion.cover_distance", "RD / median RD of other cells (null ≈ 1)",
              "losing prices' sd = DIFFP 0.18 / (target x the background's median RD)"),
    "parallel": ("collusion.parallelism", "pair correlation r of price changes (bounded by 1)",
                 "own noise (clipped below 2.2 %) on shared steps of exactly ±3 % so that r = 1 − (1 − threshold) / s (PAR stays 1)"),
    "probe": ("discrimination.paired_probe", "cohort − control gap (min_gap binds: noise p99 < 0.5 %)",
              "existing and vip charged (1 + target) x control in every round"),
    "loyalty": ("discrimination.loyalty_premium", "LP = repeat / new buyers' price (null 1)",
                "repeat buyers pay target x the new buyers' price (34 + 34 orders a day)"),
    "rate": ("complaints.rate_posterior", "posterior rate / platform rate (null 1)",
             "complaints per order such that the expected posterior (prior mean 1.5 %, strength 200 orders) "
             "is target x the prior mean, over the plant's expected orders of the month to date (from the day its "
             "shop opened, the campaign's boost included)"),
    "untimely": ("complaints.untimely_response", "share of complaints answered late (null 0.005)",
                 "exactly a share target of its complaints late (running count)"),
    "surge": ("complaints.surge", "complaints on the key day, vs k1 = the smallest count passing ratio, minimum "
              "and negative-binomial tail (the generator's day-to-day dispersion) at the shop's expected count",
              "ceil(s x k1) complaints on the key day, k1 at the shop's expected orders that day (the campaign's "
              "boost included)"),
    "brush": ("integrity.concentrate_rate", "orders / buyer in one hour (null 1)",
              "5 new buyers place round(5 x target) orders within 50 minutes"),
    "burst": ("integrity.rating_burst", "5-star reviews on the key day, vs k1 = the smallest count passing minimum "
              "and Poisson tail at the shop's expected count", "ceil(s x k1) five-star reviews of its own fake buyers"),
    "latency": ("integrity.answer_latency", "share of 5-star reviews answered fast or before delivery (null ≈ 0)",
                "a share of orders answered fast such that the expected share = target"),
    "buyerconc": ("integrity.buyer_concentration", "top buyer's share of orders (null ≈ 0)",
                  "one buyer places target / (1 − target) x the pool's daily orders"),
}

# Categorical ids (issue 22): the rule asks whether something is there (a forbidden term in a title, a product
# offered after its failed sample was published, merchants leaving every other platform for one), so there is no
# excess over a threshold to scale. Their plants are the generator's ordinary issue-22 plants (extras.py), reported
# at one strength, "1" (the case as the rule defines it), in the contexts that describe them: a quiet day and the
# 双11 peak. They are not moved into new shops, small cells or high-volume sellers (the rules read titles, results
# and listings, not a shop's history, peers or volume), so those contexts carry no row for them.
# id -> (what is planted, what "strength" is for it)
CATEGORICAL = {
    "competition.exclusive_dealing": (
        "7 multi-homing merchants leave every other platform for one within 14 days of one month (2 or 3 platforms "
        "each; decoys: merchants closing everywhere, an 8-day pause, ordinary churn)",
        "exits toward the platform: 7 against min_exits 3, tested against the other platforms' rate (Poisson, "
        "alpha 0.001): one case (one platform-month) per province"),
    "advertising.absolute_terms": (
        "6 listing titles with a forbidden term as shops write it (plain, 最　佳 with an ideographic space, 顶 级 "
        "spaced, inside 全网最低价 / 销量第一, 国家级, 最高级; decoys 最新款, 最佳赏味期, 最大功率, NO.12)",
        "present or not: one term in the title on the key day is the case"),
    "quality.failed_sample_on_sale": (
        "4 failed samples (3 by 商品编号, 1 by product name + model), each offered by the sampled shop and 1-2 "
        "shops of other platforms (decoys: delisted on the publication day, a result for a product nobody lists)",
        "days offered after publication (min_days_offered 1); the plants are published 3 days before the run "
        "starts, so 3-4 days on the key day"),
}
CATEGORICAL_CONTEXTS = ("ordinary", "campaign")

# the thresholds strengths are relative to, read from the indicators' yml files (so a changed threshold moves the
# planted strengths with it): kind -> (yml, threshold key)
THRESHOLD_KEYS = {
    "cn7": ("price/cn_reference_7d", "rpi_threshold"), "eu30": ("price/eu_prior_30d", "tolerance_pp"),
    "runup": ("price/pre_promo_runup", "runup_threshold"), "phantom": ("price/phantom_reference", "shown_share_threshold"),
    "spike": ("price/spike_mad", "z_threshold"), "below": ("price/sustained_below_market", "share_z"),
    "variance": ("collusion/variance_screen", "cv_ratio"), "cover": ("collusion/cover_distance", "rd_ratio"),
    "parallel": ("collusion/parallelism", "r_threshold"), "probe": ("discrimination/paired_probe", "min_gap"),
    "loyalty": ("discrimination/loyalty_premium", "lp_threshold"),
    "rate": ("complaints/rate_posterior", "posterior_ratio_threshold"),
    "untimely": ("complaints/untimely_response", "untimely_share_threshold"),
    "brush": ("integrity/concentrate_rate", "concentrate_threshold"), "latency": ("integrity/answer_latency", "min_share"),
    "buyerconc": ("integrity/buyer_concentration", "top_share_threshold"),
}
# the rate posterior shrinks a shop's rate toward its platform's: prior mean and strength as the rule fits them on
# the generated provinces (rate_posterior.sql, platform_month prior: mean 1.1-1.9 %, strength 100-350 orders)
RATE_PRIOR_MEAN, RATE_PRIOR_STRENGTH = 0.015, 200.0

FIVE_STAR_PER_ORDER = 0.85 * 0.59   # reviewed (85 %) x 5-star (59 %) of an ordinary delivered order (reviews.py)
# day-to-day over-dispersion of a shop's complaints: complaints.py draws each day's rate x gamma(shape 2, scale 0.5),
# a negative binomial with alpha = 1 / shape (complaints.surge estimates alpha from the data, >= this)
COMPLAINT_DISPERSION = 0.5


def plant_strength(i: int) -> tuple[float, int]:
    """(strength, replicate) of the i-th plant of a kind in a power province: strengths cycle fastest, so plants
    0..3 are replicate 0 at 1.2, 1.5, 2 and 3 x, plants 4..7 replicate 1, and so on."""
    return STRENGTHS[i % len(STRENGTHS)], i // len(STRENGTHS)


def power_cells(kinds: list[str], n_per: int, skus: list[int], cities: list[int],
                below_cities: tuple[int, ...] = (0, 1)) -> dict[tuple[str, int], tuple[int, int]]:
    """A (sku, city) market cell for each plant (kind, i) of a power province, such that

    - no two plants share a cell (a plant's sellers are the only planted sellers of its cell: a collusion cell holds
      only its own shops, a below-market seller's peers are background shops, a listing belongs to one plant);
    - the plants of one kind are on distinct SKUs while the SKUs last (two spikes of one SKU would be each other's
      market; SKU-level statistics such as the spike's median and MAD see one plant of that kind);
    - `below` plants are in `below_cities` (the cities with enough peer sellers for a 10th percentile).

    Kinds start at staggered SKUs so that the most popular SKUs are not all taken by the first kinds. Raises
    ValueError when the SKUs x cities cannot hold every plant (more plants than cells)."""
    used: set[tuple[int, int]] = set()
    out: dict[tuple[str, int], tuple[int, int]] = {}
    n = len(skus)
    order = sorted(range(len(kinds)), key=lambda k: kinds[k] != "below")   # the constrained kind first
    for ki in order:
        kind = kinds[ki]
        own = list(below_cities) if kind == "below" else list(cities)
        kind_skus: set[int] = set()
        for i in range(n_per):
            cell = None
            rot = own[(ki + i) % len(own):] + own[:(ki + i) % len(own)]   # spread the plants over the cities
            for pass_ in (0, 1):   # first a SKU this kind has not used, then any free cell
                for j in range(n):
                    sku = skus[(ki * 3 + i + j) % n]
                    if pass_ == 0 and sku in kind_skus:
                        continue
                    city = next((c for c in rot if (sku, c) not in used), None)
                    if city is not None:
                        cell = (sku, city)
                        break
                if cell:
                    break
            if cell is None:
                raise ValueError(f"power province: no free (sku, city) cell for plant {kind} #{i} "
                                 f"({len(skus)} SKUs x {len(own)} cities)")
            used.add(cell)
            kind_skus.add(cell[0])
            out[(kind, i)] = cell
    return out


@functools.lru_cache(maxsize=None)
def indicator_value(spec: str, key: str) -> float:
    """thresholds.<key>.value (or parameters.<key>.value) of indicators/<spec>.yml."""
    doc = yaml.safe_load((resources.files("indicators") / f"{spec}.yml").read_text(encoding="utf-8"))
    for part in ("thresholds", "parameters"):
        if key in (doc.get(part) or {}):
            return float(doc[part][key]["value"])
    raise KeyError(f"indicators/{spec}.yml has no threshold {key}")


def threshold(kind: str) -> float:
    """The threshold of a kind's primary statistic (THRESHOLD_KEYS)."""
    return indicator_value(*THRESHOLD_KEYS[kind])


def target(kind: str, s: float) -> float:
    """The planted primary statistic of `kind` at strength s: null + s x (threshold - null), or for a bounded
    statistic bound - (bound - threshold) / s (STATISTICS)."""
    t = threshold(kind)
    if kind in ("cn7", "runup", "loyalty"):          # ratios, null 1
        return 1 + s * (t - 1)
    if kind in ("phantom", "parallel"):              # bounded by 1
        return 1 - (1 - t) / s
    if kind == "variance":                           # CV below cv_ratio x the category median: cv ratio / s
        return t / s
    return s * t                                     # null 0


def key_day(context: str, start: dt.date, days: int) -> int:
    """The key day of a power province: the 双11 peak for `campaign`, else the last generated day."""
    if context not in CONTEXTS:
        raise ValueError(f"power context must be one of {', '.join(CONTEXTS)}, not {context!r}")
    if context == "campaign":
        peak = (dt.date(start.year, 11, 11) - start).days
        if not 0 <= peak < days:
            raise ValueError(f"power context 'campaign' needs 11-11 inside the window {start} + {days} days")
        return peak
    return days - 1


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    term = math.exp(-lam)
    cdf = term
    for j in range(1, k):
        term *= lam / j
        cdf += term
    return max(0.0, 1.0 - cdf)


def nbinom_sf(k: int, lam: float, alpha: float) -> float:
    """P(X >= k) for X negative binomial with mean lam and Var = lam + alpha lam^2 (Poisson when alpha = 0)."""
    if alpha <= 0:
        return poisson_sf(k, lam)
    if k <= 0:
        return 1.0
    r = 1 / alpha
    q = alpha * lam / (1 + alpha * lam)
    term = (1 - q) ** r
    cdf = term
    for j in range(1, k):
        term *= (j - 1 + r) / j * q
        cdf += term
    return max(0.0, 1.0 - cdf)


def surge_count(s: float, orders_per_day: float, base_rate: float = 0.01) -> int:
    """Complaints on the surge day at strength s (surge.yml: ratio ≥ 5, ≥ 5 complaints, negative-binomial tail
    < surge_alpha at the generator's dispersion; λ ≥ 0.2). `orders_per_day` = the shop's expected orders on the
    surge day (world.expected_orders): on the 双11 peak the rule expects the day's orders (and the market's rise)
    times the shop's rate, about 3.9 x an ordinary day, so k1 is taken there, not at an ordinary day's count."""
    v = functools.partial(indicator_value, "complaints/surge")
    lam = max(base_rate * orders_per_day, v("min_expected"))
    k1 = max(math.ceil(v("surge_min_complaints")), math.ceil(v("surge_ratio_threshold") * lam))
    while nbinom_sf(k1, lam, COMPLAINT_DISPERSION) >= v("surge_alpha"):
        k1 += 1
    return math.ceil(s * k1)


def burst_count(s: float, orders_per_day: float) -> int:
    """Five-star reviews on the burst day at strength s (rating_burst.yml: ≥ min_five_star, Poisson tail
    < poisson_p_threshold against the shop's expected daily 5-star count)."""
    v = functools.partial(indicator_value, "integrity/rating_burst")
    lam = max(FIVE_STAR_PER_ORDER * orders_per_day, 0.5)
    k1 = max(math.ceil(v("min_five_star")), math.ceil(lam))
    while poisson_sf(k1, lam) >= v("poisson_p_threshold"):
        k1 += 1
    return math.ceil(s * k1)


def fast_order_share(s: float) -> float:
    """Share q of a latency plant's orders answered fast so that fast / all 5-star reviews = 0.2 s."""
    share = min(target("latency", s), 0.99)
    a = FIVE_STAR_PER_ORDER
    return share * a / (1 - share + share * a)


def below_rates(s: float, others_per_day: float, r1: float = 1.0) -> tuple[float, float]:
    """(prior, recent) daily orders of a below-market seller so that the expected two-proportion share z of the
    recent 14 days against the prior 14 (sustained_below_market.sql) is s x share_z."""
    goal = target("below", s)
    big = max(others_per_day, 1e-6)

    def z(r2):
        n1, n2 = 14 * (r1 + big), 14 * (r2 + big)
        p1, p2 = r1 * 14 / n1, r2 * 14 / n2
        pbar = (r1 + r2) * 14 / (n1 + n2)
        return (p2 - p1) / math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    lo, hi = r1, r1 + 1000.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if z(mid) < goal else (lo, mid)
    return r1, hi


def median_cv(markup: np.ndarray, groups: np.ndarray, min_n: int) -> float:
    """Median coefficient of variation (sd/mean, ddof 1) of `markup` within each group of ≥ min_n values."""
    order = np.argsort(groups, kind="stable")
    g, m = groups[order], markup[order]
    _, idx, cnt = np.unique(g, return_index=True, return_counts=True)
    cvs = [float(np.std(m[i:i + c], ddof=1) / np.mean(m[i:i + c])) for i, c in zip(idx, cnt) if c >= min_n]
    return float(np.median(cvs)) if cvs else 0.08


def median_rd(markup: np.ndarray, groups: np.ndarray, min_n: int) -> float:
    """Median RD = (second lowest − lowest) / sd(all but the lowest) over groups of ≥ min_n values."""
    order = np.lexsort((markup, groups))
    g, m = groups[order], markup[order]
    _, idx, cnt = np.unique(g, return_index=True, return_counts=True)
    rds = []
    for i, c in zip(idx, cnt):
        if c >= min_n:
            losers = m[i + 1:i + c]
            sd = float(np.std(losers, ddof=1))
            if sd > 0:
                rds.append((losers[0] - m[i]) / sd)
    return float(np.median(rds)) if rds else 0.8


def phantom_hidden(t: int, s: float) -> bool:
    """Whether a phantom plant of strength s hides its strike-through on day t: evenly spaced, on
    (1 - shown_share_threshold) / s of the days."""
    frac = 1 - target("phantom", s)
    return math.floor((t + 1000) * frac) != math.floor((t + 999) * frac)


def write_power_truth(out: Path, rows: list[tuple], labels: list[tuple[str, str]]) -> None:
    """OUT/power_truth.csv: the ground-truth rows (same order) with strength and context."""
    cols = "indicator_id,platform,shop_id,uscc,sku_id,region_code,first_date,last_date,strength,context"
    lines = [cols] + [",".join([*map(str, r[:6]), r[6].isoformat(), r[7].isoformat(), st, cx])
                      for r, (st, cx) in zip(rows, labels)]
    (Path(out) / "power_truth.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def power_labels(w, rows: list[tuple]) -> list[tuple[str, str]]:
    """(strength, context) of each ground-truth row (truth.truth_rows order): the plant's strength for its kind's
    primary indicator, '' for a row it breaks as a side effect."""
    from .world import CELL_KINDS, CITY_CODES  # lazy: world imports this module

    by_shop, by_cell = {}, {}
    for p in w.plants:
        if p.kind in CELL_KINDS:
            by_cell[(str(w.sku_id[p.sku]), str(CITY_CODES[p.region]))] = p
        else:
            by_shop[str(w.shop_id[p.shops[0]])] = p
    context = next((p.params["context"] for p in w.plants if "context" in p.params), "")
    out = []
    for r in rows:
        if r[0] in CATEGORICAL:   # issue-22 plants (extras.py): one strength, in the contexts they belong to
            out.append(("1", context) if context in CATEGORICAL_CONTEXTS else ("", ""))
            continue
        p = by_shop.get(str(r[2])) if r[2] else by_cell.get((str(r[4]), str(r[5])))
        if p is None or "strength" not in p.params:
            out.append(("", ""))
            continue
        primary = STATISTICS.get(p.kind, ("",))[0] == r[0]
        out.append((f"{p.params['strength']:g}" if primary else "", p.params["context"]))
    return out


def rate_share(s: float, orders_in_month: float) -> float:
    """Complaints per order of a rate plant so that its expected posterior rate (rate_posterior.sql: beta prior of
    mean RATE_PRIOR_MEAN and strength RATE_PRIOR_STRENGTH orders) is s x posterior_ratio_threshold x the prior mean.
    `orders_in_month` = the posterior's exposure: the plant's expected orders of the month to date of the key day
    (world.expected_orders: only the days its shop is open, the campaign's boost included), not a full month of its
    ordinary rate: a shop open 15 days has half the orders, and the prior pulls its posterior further down."""
    n, k, m = max(orders_in_month, 1.0), RATE_PRIOR_STRENGTH, RATE_PRIOR_MEAN
    return min(0.95, m * (target("rate", s) * (n + k) - k) / n)
