"""The small chart beside each lead, drawn from the warehouse (read through the bulletin's connection) and
the published marts. One query per chart family for all the leads shown, never one per lead.

    price           the listing's daily prices, the shown 原价, its trades, the promotion start and the
                    reference the rule compared against, over the indicator's window
    collusion       the cell's sellers' weekly prices
    complaints      the merchant's monthly complaint rate against its platform's (month-final partitions)
    integrity       the shop's daily figure behind the flag against its threshold or baseline
    discrimination  the groups the rule compared, from the flag's evidence
    competition     二选一: the month's exits toward the platform against the two expectations the rule used
                    (at the other platforms' exit rate, at its own past months' rate) and the flagging line
    advertising     绝对化用语: the listing's days seen with the term, day by day over the window (cumulative)
    quality         抽检不合格仍在售: the listing's daily price on the days it was offered, the publication marked

No personal data: prices, counts and rates only.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

import duckdb
from markupsafe import Markup

from indicators.compute import create_macros
from indicators.registry import load_catalogue, load_overrides
from pipelines.core.home import Home
from pipelines.core.privacy import FULLWIDTH_FROM, FULLWIDTH_TO
from pipelines.serve.bulletin import data
from pipelines.serve.bulletin.charts import mini_chart_svg
from pipelines.serve.bulletin.explain import VALUE_LABELS, as_date, evidence_of, number_or_none

log = logging.getLogger(__name__)

# Days drawn before the lead's window_start, and the evidence figure drawn as the rule's reference line.
PRICE_CHART = {
    "price.cn_reference_7d": (14, "cn_basis_price", "比较基准 basis"),
    "price.eu_prior_30d": (35, "prior_price_30d", "30日前最低价 prior 30-day low"),
    "price.phantom_reference": (0, "highest_trade_price", "最高成交价 highest trade"),
    "price.pre_promo_runup": (0, "baseline_median_price", "平时中位价 usual median"),
    "price.spike_mad": (28, "sku_median", "同品中位价 SKU median"),
    "price.sustained_below_market": (0, "median_peer_p10", "同行一成分位 peers' P10"),
}
PROMOTIONS = {"price.cn_reference_7d", "price.eu_prior_30d", "price.pre_promo_runup"}
MAX_DAYS = 90
EXCLUDED_ORDER_STATUSES = ["canceled", "unavailable", "refunded", "returned"]
INTEGRITY_FIGURE = {  # indicator -> (mart column, label, second line column or None)
    "integrity.concentrate_rate": ("concentrate_rate", "集中下单率 concentration rate", None),
    "integrity.rating_burst": ("five_star_reviews", "每日五星评价 5-star reviews a day", "rating_baseline_mean"),
    "integrity.answer_latency": ("latency_share", "可疑评价占比 suspicious share", None),
    "integrity.buyer_concentration": ("top_buyer_share", "最大买家占比 top buyer's share", None),
}
INTEGRITY_DAYS = 30
COMPLAINT_MONTHS = 6
_FULLWIDTH = str.maketrans(FULLWIDTH_FROM, FULLWIDTH_TO)

PRICE_SQL = """
WITH keys AS (SELECT unnest($shops) AS shop_id, unnest($skus) AS sku_id)
SELECT o.shop_id, o.sku_id, o.observed_date AS d,
       median(o.price) FILTER (WHERE o.price_type = 'list')::DOUBLE AS list_price,
       min(o.price) FILTER (WHERE o.price_type = 'promo')::DOUBLE AS promo_price,
       max(o.reference_price)::DOUBLE AS shown_reference
FROM staging.price_observations AS o
SEMI JOIN keys AS k ON k.shop_id = o.shop_id AND k.sku_id = o.sku_id
WHERE o.observed_date BETWEEN $a AND $b AND o.account_cohort IS NULL AND coalesce(upper(o.currency), 'CNY') = 'CNY'
GROUP BY ALL"""
TRADES_SQL = """
WITH keys AS (SELECT unnest($shops) AS shop_id, unnest($skus) AS sku_id),
orders AS (SELECT order_id, min(order_purchase_timestamp) AS paid_at, min(order_status) AS status
           FROM staging.olist_orders GROUP BY order_id)
SELECT i.seller_id AS shop_id, i.product_id AS sku_id, o.paid_at::DATE AS d, min(i.price)::DOUBLE AS low, count(*) AS n
FROM staging.olist_order_items AS i
JOIN orders AS o USING (order_id)
SEMI JOIN keys AS k ON k.shop_id = i.seller_id AND k.sku_id = i.product_id
WHERE o.paid_at::DATE BETWEEN $a AND $b AND NOT list_contains($excluded, lower(o.status))
GROUP BY ALL"""
CELL_SQL = """
WITH keys AS (SELECT unnest($skus) AS sku_id, unnest($regions) AS region_code)
SELECT o.sku_id, o.region_code, o.shop_id, date_trunc('week', o.observed_date)::DATE AS week, median(o.price)::DOUBLE
FROM staging.price_observations AS o
SEMI JOIN keys AS k ON k.sku_id = o.sku_id AND k.region_code = o.region_code
WHERE o.observed_date BETWEEN $a AND $b AND o.price_type IN ('list', 'promo') AND o.account_cohort IS NULL
GROUP BY ALL"""


def safe_rows(con, sql: str, params: dict) -> list[tuple]:
    """The query's rows; a table or column this warehouse does not have yet gives no rows (the chart says no data)."""
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        log.warning("bulletin chart data unavailable: %s", str(exc).splitlines()[0])
        return []


def _days(first: date, last: date) -> list[date]:
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --------------------------------------------------------------------------- per family


def _price_charts(con, leads: list[dict], run_date: date) -> dict[str, Markup]:
    spans = {}
    for f in leads:
        before, _, _ = PRICE_CHART.get(f["indicator_id"], (28, None, ""))
        start = as_date(f.get("window_start")) or run_date
        spans[f["flag_id"]] = _days(start - timedelta(days=before), run_date)
    keys = sorted({(f["shop_id"], f["sku_id"]) for f in leads if f.get("shop_id") and f.get("sku_id")})
    first = min((s[0] for s in spans.values()), default=run_date)
    params = {"shops": [k[0] for k in keys], "skus": [k[1] for k in keys], "a": first, "b": run_date}
    prices, trades = {}, {}
    if keys:
        for shop, sku, d, list_price, promo, shown in safe_rows(con, PRICE_SQL, params):
            prices[(shop, sku, d)] = (list_price, promo, shown)
        for shop, sku, d, low, n in safe_rows(con, TRADES_SQL, dict(params, excluded=EXCLUDED_ORDER_STATUSES)):
            trades[(shop, sku, d)] = (low, n)
    out = {}
    for f in leads:
        days, key = spans[f["flag_id"]], (f.get("shop_id"), f.get("sku_id"))
        _, ref_key, ref_label = PRICE_CHART.get(f["indicator_id"], (0, None, ""))
        ev = evidence_of(f)
        got = [prices.get((*key, d), (None, None, None)) for d in days]
        marker = None
        if f["indicator_id"] in PROMOTIONS:
            start = as_date(ev.get("promo_start") or f.get("window_start"))
            if start in days:
                marker = (days.index(start), f"促销开始 promotion start {start}")
        out[f["flag_id"]] = mini_chart_svg(
            f"价格走势 Price history {days[0]:%m-%d} – {days[-1]:%m-%d}", [d.strftime("%m-%d") for d in days],
            lines={"标价 list price": [g[0] for g in got], "促销价 promotion price": [g[1] for g in got],
                   "标示原价 shown 原价": [g[2] for g in got]},
            points={"成交(日最低) trades, daily low": [(i, trades[(*key, d)][0]) for i, d in enumerate(days)
                                                    if (*key, d) in trades]},
            rules={ref_label: number_or_none(ev.get(ref_key)) if ref_key else None}, marker=marker)
    return out


def _cell_of(flag: dict) -> tuple[str, str] | None:
    parts = str(flag.get("entity_id") or "").split(":")
    return (parts[0], parts[1]) if len(parts) >= 3 else None


def _collusion_charts(con, leads: list[dict], run_date: date) -> dict[str, Markup]:
    cells = sorted({c for c in (_cell_of(f) for f in leads) if c})
    first_week = run_date - timedelta(days=run_date.weekday() + 7 * 7)
    weekly: dict[tuple, dict] = {}
    if cells:
        for sku, region, shop, week, price in safe_rows(con, CELL_SQL, {"skus": [c[0] for c in cells], "regions": [
                c[1] for c in cells], "a": first_week, "b": run_date}):
            weekly.setdefault((sku, region), {}).setdefault(shop, {})[week] = price
    weeks = [first_week + timedelta(days=7 * i) for i in range(8)]
    out = {}
    for f in leads:
        shops = weekly.get(_cell_of(f) or ("", ""), {})
        named = evidence_of(f).get("shop_ids") or sorted(shops)
        lines = {shop: [shops.get(shop, {}).get(w) for w in weeks] for shop in list(named)[:6] if shop in shops}
        out[f["flag_id"]] = mini_chart_svg("卖家周价格 Sellers' weekly prices", [f"{w:%m-%d}" for w in weeks],
                                           lines=lines)
    return out


def _complaint_charts(con, home: Home, leads: list[dict], run_date: date) -> dict[str, Markup]:
    src = data.published_source(home, "complaint_rates")
    shops = sorted({f["shop_id"] for f in leads if f.get("shop_id")})
    found = {}
    if src and shops:
        sql = (f"WITH final AS (SELECT * FROM {src} WHERE dt <= $d QUALIFY dt = max(dt) OVER (PARTITION BY month)), "  # noqa: S608 - path quoted by quote_literal, values bound
               "platform AS (SELECT month, platform, sum(complaints) * 1e4 / nullif(sum(orders), 0) AS rate "
               "FROM final GROUP BY ALL) "
               "SELECT f.shop_id, f.month, f.raw_rate_per_10k::DOUBLE, p.rate::DOUBLE FROM final AS f "
               "JOIN platform AS p USING (month, platform) WHERE list_contains($shops, f.shop_id)")
        for shop, month, rate, platform_rate in safe_rows(con, sql, {"d": run_date, "shops": shops}):
            found[(shop, str(month)[:7])] = (rate, platform_rate)
    months = []
    y, m = run_date.year, run_date.month
    for _ in range(COMPLAINT_MONTHS):
        months.insert(0, f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    out = {}
    for f in leads:
        got = [found.get((f.get("shop_id"), mo), (None, None)) for mo in months]
        out[f["flag_id"]] = mini_chart_svg(
            "每万单投诉（月） Complaints per 10,000 orders, by month", months,
            lines={"该商户 this merchant": [g[0] for g in got], "所在平台 its platform": [g[1] for g in got]})
    return out


def _integrity_charts(con, home: Home, leads: list[dict], run_date: date) -> dict[str, Markup]:
    src = data.published_source(home, "marketplace_integrity")
    days = _days(run_date - timedelta(days=INTEGRITY_DAYS - 1), run_date)
    shops = sorted({f["shop_id"] for f in leads if f.get("shop_id")})
    found = {}
    if src and shops:
        cols = sorted({c for fig, _, second in INTEGRITY_FIGURE.values() for c in (fig, second) if c})
        sql = (f"SELECT dt, shop_id, {', '.join(f'{c}::DOUBLE' for c in cols)} FROM {src} "  # noqa: S608 - constant column names, path quoted by quote_literal, values bound
               "WHERE dt BETWEEN $a AND $b AND list_contains($shops, shop_id)")
        for row in safe_rows(con, sql, {"a": days[0], "b": run_date, "shops": shops}):
            found[(row[1], row[0])] = dict(zip(cols, row[2:]))
    out = {}
    for f in leads:
        fig, label, second = INTEGRITY_FIGURE.get(f["indicator_id"], (None, "", None))
        rows = [found.get((f.get("shop_id"), d)) for d in days]
        lines = {label: [r.get(fig) if r else None for r in rows]} if fig else {}
        if second:
            lines["基线 baseline"] = [r.get(second) if r else None for r in rows]
        out[f["flag_id"]] = mini_chart_svg(f"近{INTEGRITY_DAYS}日 Last {INTEGRITY_DAYS} days",
                                           [d.strftime("%m-%d") for d in days], lines=lines,
                                           rules={"阈值 threshold": None if second else number_or_none(f.get("threshold"))})
    return out


def _discrimination_chart(flag: dict) -> Markup:
    ev = evidence_of(flag)
    if flag["indicator_id"] == "discrimination.paired_probe":
        bars = [(VALUE_LABELS.get(c.get("cohort"), (str(c.get("cohort")),))[0], number_or_none(c.get("median_gap")) or 0.0)
                for c in ev.get("cohorts") or [] if isinstance(c, dict)]
        return mini_chart_svg("各账户组差价 Median gap by account group", [], bars=bars,
                              rules={"噪声 noise": number_or_none(ev.get("noise_gap_quantile"))})
    bars = [(label, v) for label, v in (("新顾客 first", number_or_none(ev.get("first_median_price"))),
                                        ("老顾客 repeat", number_or_none(ev.get("repeat_median_price")))) if v is not None]
    return mini_chart_svg("中位成交价 Median price paid", [], bars=bars)


def _competition_chart(flag: dict) -> Markup:
    """二选一: only the flagged platform x month cells are published, so the chart compares the lead's month as the
    rule did: the exits toward the platform against the exits expected at the other platforms' rate and at its
    own past months' rate (each x the multi-homing merchants), and the line the exits had to pass."""
    ev = evidence_of(flag)
    exits, expected = number_or_none(ev.get("exits")), number_or_none(ev.get("expected"))
    base = max(number_or_none(ev.get("multihoming_merchants")) or 0.0, exits or 0.0)
    bars = [(label, round(v, 2)) for label, v in (
        ("退出 exits", exits),
        ("他平台率 others", None if ev.get("other_platforms_rate") is None
         else base * (number_or_none(ev.get("other_platforms_rate")) or 0.0)),
        ("往月率 past", None if ev.get("own_past_rate") is None
         else base * (number_or_none(ev.get("own_past_rate")) or 0.0))) if v is not None]
    ratio = number_or_none(flag.get("threshold"))
    line = expected * ratio if expected is not None and ratio is not None else None
    return mini_chart_svg(f"{ev.get('month') or '—'} 退出与预期 Exits toward {flag.get('platform') or '—'} vs expected", [],
                          bars=bars, rules={"提示线 flagging line": line})


ADVERTISING_SQL = """
WITH keys AS (SELECT unnest($shops) AS shop_id, unnest($skus) AS sku_id, unnest($terms) AS terms),
days AS (
    SELECT o.shop_id, o.sku_id, o.observed_date AS d, min(k.terms) AS terms,
           list(DISTINCT CASE WHEN $exceptions = '' THEN mm_fold_text(o.product_name)
                              ELSE regexp_replace(mm_fold_text(o.product_name), $exceptions, '□', 'g') END) AS titles
    FROM staging.price_observations AS o
    JOIN keys AS k ON k.shop_id = o.shop_id AND k.sku_id = o.sku_id
    WHERE o.observed_date BETWEEN $a AND $b AND o.product_name IS NOT NULL
    GROUP BY ALL
)
SELECT shop_id, sku_id, d,
       len(list_filter(titles, lambda s: len(list_filter(terms, lambda t: contains(s, mm_fold_text(t)))) > 0)) > 0
FROM days"""


def _advertising_exceptions(home: Home) -> str:
    """The indicator's exception phrases (HOME/config.yml applied), folded, as one alternation longest first."""
    ind = next((i for i in load_catalogue() if i.id == "advertising.absolute_terms"), None)
    if ind is None:
        return ""
    try:
        phrases = ind.parameters(load_overrides(home.config_file)).get("exceptions") or []
    except (KeyError, ValueError):
        phrases = (ind.metadata.get("parameters", {}).get("exceptions") or {}).get("value") or []
    folded = sorted({re.sub(r"\s+", "", str(p).translate(_FULLWIDTH).lower()) for p in phrases} - {""},
                    key=lambda s: (-len(s), s))
    return "|".join(re.escape(p) for p in folded)


def _advertising_charts(con, home: Home, leads: list[dict], run_date: date) -> dict[str, Markup]:
    """绝对化用语: the listing's days seen with a term (its title folded and the exceptions blanked as the rule does),
    counted up over the chart's days from what it had before them, so the line ends at the lead's days seen."""
    keys, spans = {}, {}
    for f in leads:
        start = as_date(f.get("window_start")) or run_date
        spans[f["flag_id"]] = _days(start - timedelta(days=7), run_date)
        if f.get("shop_id") and f.get("sku_id"):
            keys[(f["shop_id"], f["sku_id"])] = [str(t) for t in evidence_of(f).get("terms") or []]
    seen: dict[tuple, bool] = {}
    if keys:
        try:
            create_macros(con)  # mm_fold_text, the fold the rule uses (indicators/macros.sql)
        except duckdb.Error as exc:
            log.warning("bulletin chart data unavailable: %s", str(exc).splitlines()[0])
        order = sorted(keys)
        first = min((s[0] for s in spans.values()), default=run_date)
        for shop, sku, d, has_term in safe_rows(con, ADVERTISING_SQL, {
                "shops": [k[0] for k in order], "skus": [k[1] for k in order], "terms": [keys[k] for k in order],
                "exceptions": _advertising_exceptions(home), "a": first, "b": run_date}):
            seen[(shop, sku, d)] = bool(has_term)
    out = {}
    for f in leads:
        days, key = spans[f["flag_id"]], (f.get("shop_id"), f.get("sku_id"))
        with_term = [seen.get((*key, d)) for d in days]
        total = number_or_none(evidence_of(f).get("days_seen")) or number_or_none(f.get("value"))
        before = max((total or 0) - sum(1 for s in with_term if s), 0)
        count, line = before, []
        for s in with_term:  # blank until the listing is first observed in the chart's days, then carried
            count += 1 if s else 0
            line.append(float(count) if s is not None or (line and line[-1] is not None) else None)
        out[f["flag_id"]] = mini_chart_svg(
            f"含绝对化用语的天数 Days seen with the term {days[0]:%m-%d} – {days[-1]:%m-%d}",
            [d.strftime("%m-%d") for d in days], lines={"累计天数 days seen (cumulative)": line},
            points={"当日标题含用语 seen with the term": [(i, line[i]) for i, s in enumerate(with_term) if s],
                    "当日标题无用语 seen without it": [(i, line[i]) for i, s in enumerate(with_term) if s is False]})
    return out


QUALITY_SQL = """
WITH keys AS (SELECT unnest($shops) AS shop_id, unnest($skus) AS sku_id)
SELECT o.shop_id, o.sku_id, o.observed_date AS d, min(o.price)::DOUBLE AS price
FROM staging.price_observations AS o
SEMI JOIN keys AS k ON k.shop_id = o.shop_id AND k.sku_id = o.sku_id
WHERE o.observed_date BETWEEN $a AND $b AND o.account_cohort IS NULL AND coalesce(upper(o.currency), 'CNY') = 'CNY'
GROUP BY ALL"""


def _quality_charts(con, leads: list[dict], run_date: date) -> dict[str, Markup]:
    """抽检不合格仍在售: the listing's lowest price on each day it was offered, from 14 days before the failed result's
    publication; the days offered after it are the lead's observation days."""
    spans, published = {}, {}
    for f in leads:
        pub = as_date(evidence_of(f).get("published_date"))
        start = pub or as_date(f.get("window_start")) or run_date
        published[f["flag_id"]] = pub
        spans[f["flag_id"]] = _days(start - timedelta(days=14), run_date)
    keys = sorted({(f["shop_id"], f["sku_id"]) for f in leads if f.get("shop_id") and f.get("sku_id")})
    prices = {}
    if keys:
        first = min((s[0] for s in spans.values()), default=run_date)
        for shop, sku, d, price in safe_rows(con, QUALITY_SQL, {"shops": [k[0] for k in keys],
                                                                "skus": [k[1] for k in keys], "a": first, "b": run_date}):
            prices[(shop, sku, d)] = price
    out = {}
    for f in leads:
        days, key, pub = spans[f["flag_id"]], (f.get("shop_id"), f.get("sku_id")), published[f["flag_id"]]
        got = [prices.get((*key, d)) for d in days]
        after = sum(1 for d, p in zip(days, got) if p is not None and pub is not None and d > pub)
        out[f["flag_id"]] = mini_chart_svg(
            f"公布后在售 {after} 天 Offered on {after} days after publication", [d.strftime("%m-%d") for d in days],
            lines={"在售价格 price offered": got},
            marker=(days.index(pub), f"抽检结果公布 result published {pub}") if pub in days else None)
    return out


def lead_charts(con, home: Home, run_date: date, leads: list[dict]) -> dict[str, Markup]:
    """flag_id -> the small chart beside that lead, for the leads shown on the page."""
    by_family: dict[str, list[dict]] = {}
    for f in leads:
        by_family.setdefault(f.get("family") or "", []).append(f)
    out: dict[str, Markup] = {}
    out.update(_price_charts(con, by_family.get("price", []), run_date))
    out.update(_collusion_charts(con, by_family.get("collusion", []), run_date))
    out.update(_complaint_charts(con, home, by_family.get("complaints", []), run_date))
    out.update(_integrity_charts(con, home, by_family.get("integrity", []), run_date))
    out.update({f["flag_id"]: _discrimination_chart(f) for f in by_family.get("discrimination", [])})
    out.update({f["flag_id"]: _competition_chart(f) for f in by_family.get("competition", [])})
    out.update(_advertising_charts(con, home, by_family.get("advertising", []), run_date))
    out.update(_quality_charts(con, by_family.get("quality", []), run_date))
    return out
