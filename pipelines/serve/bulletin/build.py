"""The daily bulletin (监测日报): HOME/reports/<D>/bulletin.html, self-contained and offline.

It reads only what was published (the parquet marts) plus the run's bookkeeping (ledger, quality
results), so it never shows a lead that failed the quality gate. It is generic over the mart
catalogue: a family or indicator it has no wording for still gets its counts, trend and a plain
evidence sentence built from the evidence JSON; optional marts (complaint_rates,
merchant_credit_tiers, inspection_sample) get their sections when they are published, found by
column names rather than fixed positions.

No external resource of any kind: styles are inline, charts are inline SVG drawn here from the data,
no scripts, fonts or images are fetched; links point only to files inside the home folder.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from pipelines.core.home import Home
from pipelines.core.regions import LIAONING_CITIES

FAMILY_LABELS = {
    "price": ("价格", "Pricing"),
    "collusion": ("串通筛查", "Collusion screens"),
    "discrimination": ("价格歧视", "Price discrimination"),
    "complaints": ("投诉", "Complaints"),
    "integrity": ("刷单炒信", "Marketplace integrity"),
    "credit": ("信用", "Credit"),
}
SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
TREND_DAYS = 90
TOP_PER_FAMILY = 8
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

# Plain-words labels for evidence keys, used by the generic fallback (unknown keys keep their name).
EVIDENCE_LABELS = {
    "shown_reference_price": "标示原价", "reference_price": "标示原价", "promo_price": "促销价",
    "price": "价格", "median_price": "同品中位价", "peer_median": "同品中位价", "mad": "中位绝对偏差",
    "z_score": "偏离分数", "modified_z": "偏离分数", "lowest_30d": "30日最低报价", "lowest_offered_30d": "30日最低报价",
    "n_sellers": "卖家数", "cv": "变异系数", "complaints": "投诉数", "orders": "订单数", "exposure": "订单数",
    "rate_per_10k": "每万单投诉", "posterior_rate": "后验投诉率", "baseline": "基线", "share": "占比",
    "orders_per_buyer": "每买家订单", "buyers": "买家数", "reviews": "评价数", "score": "信用分", "tier": "信用等级",
}
_URLISH = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+")


@dataclass
class Bulletin:
    path: Path
    leads_today: int
    headline: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- reading the marts


def _published(home: Home, mart: str) -> str | None:
    from pipelines.publish.dictionary import read_parquet_sql

    if not any(home.mart_dir(mart).glob("dt=*/part-0.parquet")):
        return None
    return read_parquet_sql(home, mart)


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def _has_partition(home: Home, mart: str, day: date) -> bool:
    return (home.mart_dir(mart) / f"dt={day.isoformat()}" / "part-0.parquet").exists()


def _latest_partition(home: Home, mart: str, day: date) -> date | None:
    days = []
    for p in home.mart_dir(mart).glob("dt=*/part-0.parquet"):
        try:
            d = date.fromisoformat(p.parent.name[3:])
        except ValueError:
            continue
        if d <= day:
            days.append(d)
    return max(days) if days else None


def _read_flags(con, home: Home, day: date) -> list[dict]:
    src = _published(home, "indicator_flags")
    if src is None or not _has_partition(home, "indicator_flags", day):
        return []
    return _dicts(con.execute(f"SELECT * FROM {src} WHERE dt = $d ORDER BY indicator_id, entity_id", {"d": day}))  # noqa: S608 - path quoted by sql_literal, values bound


def _read_latest(con, home: Home, mart: str, day: date) -> tuple[date | None, list[dict]]:
    latest = _latest_partition(home, mart, day)
    src = _published(home, mart)
    if latest is None or src is None:
        return None, []
    return latest, _dicts(con.execute(f"SELECT * FROM {src} WHERE dt = $d", {"d": latest}))  # noqa: S608 - path quoted by sql_literal, values bound


# --------------------------------------------------------------------------- evidence in plain words


def _money(v) -> str:
    try:
        return f"¥{float(v):,.2f}"
    except (TypeError, ValueError):
        return "?"


def _pct(v) -> str:
    try:
        return f"{float(v):.0%}"
    except (TypeError, ValueError):
        return "?"


def _plain_value(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    text = str(v)
    text = _URLISH.sub("[链接略]", text)
    return text[:40]


def plain_evidence(flag: dict) -> str:
    """One sentence a non-programmer can read aloud to the firm."""
    try:
        ev = json.loads(flag.get("evidence") or "")
    except (TypeError, ValueError):
        ev = None
    if not isinstance(ev, dict):
        ev = {}
    if flag.get("indicator_id") == "price.cn_reference_7d" and ev:
        window = ev.get("basis_window") or ["?", "?"]
        basis = ("促销前7日内最低成交价" if ev.get("cn_basis_source") == "lowest_7d" else "促销前最后一次成交价")
        return (f"标示原价 {_money(ev.get('shown_reference_price'))}，促销价 {_money(ev.get('promo_price'))}；"
                f"{basis} {_money(ev.get('cn_basis_price'))}（{window[0]} 至 {window[1]}，订单 "
                f"{ev.get('lowest_trade_order_id')}，{ev.get('lowest_trade_time')}）。宣称折扣 "
                f"{_pct(ev.get('claimed_discount'))}，按规则真实折扣 {_pct(ev.get('true_discount'))}。"
                f"促销开始 {flag.get('window_start')}。")
    # Generic: the value against its threshold, the behaviour window, then the evidence figures.
    parts = []
    if flag.get("value") is not None:
        parts.append(f"指标值 {_plain_value(flag['value'])}，阈值 {_plain_value(flag.get('threshold'))}")
    if flag.get("window_start"):
        parts.append(f"行为期间 {flag['window_start']} 至 {flag.get('window_end') or flag['window_start']}")
    figures = []
    for key, value in ev.items():
        if isinstance(value, dict) or value is None:
            continue
        label = EVIDENCE_LABELS.get(key, key)
        if isinstance(value, list):
            shown = "、".join(_plain_value(x) for x in value[:5]) + ("…" if len(value) > 5 else "")
            figures.append(f"{label} {shown}（{len(value)}）" if len(value) > 5 else f"{label} {shown}")
        else:
            figures.append(f"{label} {_plain_value(value)}")
    if figures:
        parts.append("；".join(figures))
    return ("；".join(parts) + "。")[:400] if parts else ""


# --------------------------------------------------------------------------- SVG charts


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def line_chart_svg(series: dict[str, list[float]], days: list[date], title: str, width: int = 660,
                   height: int = 190) -> Markup:
    """A small multi-line chart as inline SVG (no xmlns URL needed inside HTML5)."""
    left, right, top, bottom = 44, 12, 22, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(v) for v in series.values() if v] + [1])
    step = plot_w / max(len(days) - 1, 1)

    def xy(i, v):
        return f"{left + i * step:.1f},{top + plot_h - (v / peak) * plot_h:.1f}"

    out = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f"<title>{_esc(title)}</title>",
           f'<text x="{left}" y="14" class="ct">{_esc(title)}</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>',
           f'<text x="{left - 4}" y="{top + 4}" class="yl">{peak:g}</text>',
           f'<text x="{left - 4}" y="{top + plot_h}" class="yl">0</text>']
    if days:
        for i in sorted({0, len(days) // 2, len(days) - 1}):
            out.append(f'<text x="{left + i * step:.1f}" y="{height - 8}" class="xl">{days[i].strftime("%m-%d")}</text>')
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        points = " ".join(xy(i, v) for i, v in enumerate(values))
        out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8" points="{points}">'
                   f"<title>{_esc(name)}</title></polyline>")
        if values:
            out.append(f'<circle cx="{xy(len(values) - 1, values[-1]).split(",")[0]}" '
                       f'cy="{xy(len(values) - 1, values[-1]).split(",")[1]}" r="2.5" fill="{color}"/>')
    out.append("</svg>")
    legend = "".join(f'<span class="lg"><i style="background:{PALETTE[k % len(PALETTE)]}"></i>{_esc(n)}</span>'
                     for k, n in enumerate(series))
    return Markup("".join(out) + f'<div class="legend">{legend}</div>')


def bar_chart_svg(bars: list[tuple[str, float]], title: str, width: int = 420, height: int = 170) -> Markup:
    left, top, bottom = 10, 22, 24
    plot_h = height - top - bottom
    peak = max([v for _, v in bars] + [1])
    slot = (width - 2 * left) / max(len(bars), 1)
    out = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f"<title>{_esc(title)}</title>", f'<text x="{left}" y="14" class="ct">{_esc(title)}</text>']
    for i, (label, v) in enumerate(bars):
        h = (v / peak) * (plot_h - 12)
        x = left + i * slot + slot * 0.15
        y = top + plot_h - h
        out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{max(h, 0.5):.1f}" '
                   f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_esc(label)}: {v:g}</title></rect>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" class="bl">{v:g}</text>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 8}" class="bl">{_esc(label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def interval_chart_svg(rows: list[tuple[str, float, float | None, float | None]], title: str,
                       width: int = 660) -> Markup:
    """Point estimates with their intervals, one row each (label, estimate, low, high)."""
    row_h, left, right, top = 18, 170, 20, 22
    height = top + row_h * len(rows) + 20
    peak = max([max(x for x in (e, lo, hi) if x is not None) for _, e, lo, hi in rows] + [1e-9])
    scale = (width - left - right) / peak
    out = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f"<title>{_esc(title)}</title>", f'<text x="4" y="14" class="ct">{_esc(title)}</text>']
    for i, (label, est, lo, hi) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="yl">{_esc(label)}</text>')
        if lo is not None and hi is not None:
            out.append(f'<line class="ci" x1="{left + lo * scale:.1f}" y1="{y:.1f}" x2="{left + hi * scale:.1f}" '
                       f'y2="{y:.1f}" stroke="#555" stroke-width="2"/>')
        out.append(f'<circle cx="{left + est * scale:.1f}" cy="{y:.1f}" r="3.5" fill="#d62728"/>')
    out.append(f'<text x="{width - right}" y="{height - 4}" class="yl">{peak:.4g}</text>')
    out.append("</svg>")
    return Markup("".join(out))


# --------------------------------------------------------------------------- sections


def _families(rows_today: list[dict], rows_yesterday: list[dict], had_yesterday: bool) -> list[dict]:
    def count(rows):
        out = {}
        for r in rows:
            out[r["family"]] = out.get(r["family"], 0) + 1
        return out

    t, y = count(rows_today), count(rows_yesterday)
    names = list(FAMILY_LABELS) + sorted((set(t) | set(y)) - set(FAMILY_LABELS))
    return [{"id": f, "zh": FAMILY_LABELS.get(f, (f, f))[0], "en": FAMILY_LABELS.get(f, (f, f))[1],
             "today": t.get(f, 0), "change": (t.get(f, 0) - y.get(f, 0)) if had_yesterday else None}
            for f in names]


def _regions(rows_today: list[dict], rows_yesterday: list[dict], had_yesterday: bool) -> list[dict]:
    out = []
    codes = list(LIAONING_CITIES)
    for code in codes:
        rows = [r for r in rows_today if r.get("region_code") == code]
        before = sum(1 for r in rows_yesterday if r.get("region_code") == code)
        fams = {}
        for r in rows:
            fams[r["family"]] = fams.get(r["family"], 0) + 1
        zh, en = LIAONING_CITIES[code]
        out.append({"code": code, "zh": zh, "en": en, "leads": len(rows),
                    "change": (len(rows) - before) if had_yesterday else None,
                    "high": sum(1 for r in rows if r.get("severity") == "high"),
                    "shops": len({r.get("shop_id") for r in rows if r.get("shop_id")}),
                    "families": "、".join(f"{FAMILY_LABELS.get(f, (f, f))[0]} {n}" for f, n in sorted(fams.items()))})
    other = [r for r in rows_today if r.get("region_code") not in LIAONING_CITIES]
    if other:
        out.append({"code": "—", "zh": "省外/未登记", "en": "Other or unregistered", "leads": len(other),
                    "change": None, "high": sum(1 for r in other if r.get("severity") == "high"),
                    "shops": len({r.get("shop_id") for r in other if r.get("shop_id")}), "families": ""})
    return out


def _trends(con, home: Home, run_date: date) -> tuple[list[dict], list[date]]:
    days = [run_date - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    src = _published(home, "indicator_flags")
    counts: dict[tuple[str, str], dict[date, int]] = {}
    if src is not None:
        rows = con.execute(
            f"SELECT family, indicator_id, dt, count(*) FROM {src} WHERE dt BETWEEN $a AND $b GROUP BY ALL",  # noqa: S608 - path quoted by sql_literal, values bound
            {"a": days[0], "b": run_date}).fetchall()
        for fam, ind, dt, n in rows:
            counts.setdefault((fam, ind), {})[dt] = n
    from indicators.registry import load_catalogue

    known = {}
    for ind in load_catalogue():
        known.setdefault(ind.family, []).append(ind.id)
    for fam, ind in counts:
        if ind not in known.setdefault(fam, []):
            known[fam].append(ind)
    charts = []
    total = {d: 0 for d in days}
    for (_, _), per_day in counts.items():
        for d, n in per_day.items():
            total[d] = total.get(d, 0) + n
    charts.append({"zh": "全部线索", "en": "All leads",
                   "svg": line_chart_svg({"合计 total": [total[d] for d in days]}, days,
                                         f"每日新增线索 Leads per day, {days[0]} – {run_date}")})
    order = list(FAMILY_LABELS) + sorted(set(known) - set(FAMILY_LABELS))
    for fam in order:
        ids = known.get(fam) or []
        if not ids:
            continue
        series = {i: [counts.get((fam, i), {}).get(d, 0) for d in days] for i in ids}
        zh, en = FAMILY_LABELS.get(fam, (fam, fam))
        charts.append({"zh": zh, "en": en, "svg": line_chart_svg(series, days, f"{zh} {en}: 每日线索 leads per day")})
    return charts, days


def _top_leads(flags: list[dict], indicator_names: dict[str, str]) -> list[dict]:
    def rank(r):
        ratio = 0.0
        try:
            ratio = abs(float(r["value"])) / abs(float(r["threshold"])) if r.get("threshold") else abs(float(r["value"]))
        except (TypeError, ValueError, ZeroDivisionError):
            ratio = 0.0
        return (-SEVERITY_RANK.get(r.get("severity"), 0), -(ratio if math.isfinite(ratio) else 0.0),
                r.get("indicator_id") or "", r.get("entity_id") or "")

    groups = []
    fams = list(FAMILY_LABELS) + sorted({r["family"] for r in flags} - set(FAMILY_LABELS))
    for fam in fams:
        rows = sorted((r for r in flags if r["family"] == fam), key=rank)
        if not rows:
            continue
        zh, en = FAMILY_LABELS.get(fam, (fam, fam))
        groups.append({"zh": zh, "en": en, "count": len(rows), "rows": [
            dict(r, plain=plain_evidence(r), name_zh=indicator_names.get(r["indicator_id"], ""),
                 severity_zh=SEVERITY_ZH.get(r.get("severity"), r.get("severity")),
                 region_zh=LIAONING_CITIES.get(r.get("region_code") or "", ("", ""))[0])
            for r in rows[:TOP_PER_FAMILY]]})
    return groups


def _pick(columns, *patterns) -> str | None:
    for pattern in patterns:
        for c in columns:
            if re.search(pattern, c):
                return c
    return None


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _complaints(con, home: Home, run_date: date) -> dict | None:
    as_of, rows = _read_latest(con, home, "complaint_rates", run_date)
    if as_of is None:
        return None
    cols = list(rows[0]) if rows else []
    est = _pick(cols, r"posterior.*rate|eb_rate|rate_post", r"rate_per_10k|raw_rate|rate$")
    lo = _pick(cols, r"wilson.*(lo|lower)", r"(ci|interval).*(lo|lower)", r"(lo|lower).*(ci|bound)", r"_lo$|_lower$")
    hi = _pick(cols, r"wilson.*(hi|upper)", r"(ci|interval).*(hi|upper)", r"(hi|upper).*(ci|bound)", r"_hi$|_upper$")
    who = _pick(cols, r"^shop_id$", r"merchant", r"^uscc$", r"entity_id")
    show = [c for c in (who, _pick(cols, r"^platform$"), _pick(cols, r"^region_code$"), _pick(cols, r"^month|period"),
                        _pick(cols, r"^complaints$|complaint_count|n_complaints"),
                        _pick(cols, r"exposure|orders"), _pick(cols, r"raw_rate|rate_per_10k"), est, lo, hi,
                        _pick(cols, r"timely"), _pick(cols, r"relief|recovered"), _pick(cols, r"surge"))
            if c] if rows else []
    show = list(dict.fromkeys(show))
    if est:
        rows = sorted(rows, key=lambda r: -(float(r[est]) if r.get(est) is not None else -1))
    top = rows[:15]
    chart = None
    if est and top:
        chart = interval_chart_svg(
            [(str(r.get(who) or "")[:22], float(r[est] or 0), None if not lo or r.get(lo) is None else float(r[lo]),
              None if not hi or r.get(hi) is None else float(r[hi])) for r in top],
            f"投诉率及区间 Complaint rate with interval ({est}; {lo or '-'} – {hi or '-'})")
    return {"as_of": as_of, "n": len(rows), "columns": show, "labels": _labels("complaint_rates", show),
            "rows": [[_fmt(r.get(c)) for c in show] for r in top], "chart": chart}


def _labels(mart: str, columns: list[str]) -> list[tuple[str, str]]:
    from indicators.compute import mart_catalogue

    spec = (mart_catalogue()["marts"].get(mart) or {}).get("columns") or {}
    return [((spec.get(c) or {}).get("zh", ""), c) for c in columns]


def _credit(con, home: Home, run_date: date) -> dict | None:
    as_of, rows = _read_latest(con, home, "merchant_credit_tiers", run_date)
    if as_of is None:
        return None
    tiers = {}
    for r in rows:
        tiers[r.get("tier")] = tiers.get(r.get("tier"), 0) + 1
    order = ["A", "B", "C", "D"] + sorted(str(t) for t in tiers if t not in ("A", "B", "C", "D"))
    bars = [(t, tiers.get(t, 0)) for t in order]
    total = sum(tiers.values())
    return {"as_of": as_of, "total": total,
            "tiers": [{"tier": t, "n": n, "share": (n / total if total else 0)} for t, n in bars],
            "chart": bar_chart_svg(bars, f"信用等级分布 Credit tiers ({as_of})")}


def _sample(con, home: Home, run_date: date) -> dict | None:
    as_of, rows = _read_latest(con, home, "inspection_sample", run_date)
    if as_of is None:
        return None
    cols = list(rows[0]) if rows else []
    seed_col = _pick(cols, r"seed")
    order_col = _pick(cols, r"draw_order|draw_rank|^rank$|order")
    ratio_col = _pick(cols, r"ratio|rate")
    seeds = sorted({str(r.get(seed_col)) for r in rows if seed_col and r.get(seed_col) is not None})
    if order_col:
        rows = sorted(rows, key=lambda r: (r.get(order_col) is None, r.get(order_col) or 0))
    show = [c for c in (order_col, _pick(cols, r"^uscc$"), _pick(cols, r"^shop_id$"), _pick(cols, r"^tier$"),
                        ratio_col, _pick(cols, r"region")) if c]
    show = list(dict.fromkeys(show))
    by_tier = {}
    for r in rows:
        by_tier[r.get("tier")] = by_tier.get(r.get("tier"), 0) + 1
    return {"as_of": as_of, "n": len(rows), "seed": ", ".join(seeds) or "—", "columns": show,
            "labels": _labels("inspection_sample", show), "by_tier": sorted(by_tier.items(), key=lambda kv: str(kv[0])),
            "rows": [[_fmt(r.get(c)) for c in show] for r in rows[:20]]}


def _quality(con, home: Home, run_date: date, folder: Path) -> dict:
    suites = con.execute(
        "SELECT suite, count(*) FILTER (WHERE NOT success AND severity = 'blocking') AS blocking_failed, "
        "count(*) FILTER (WHERE NOT success AND severity = 'warning') AS warnings, count(*) AS checks "
        "FROM meta.quality_results WHERE business_date = $d AND run_id = ("
        "  SELECT max(run_id) FROM meta.quality_results WHERE business_date = $d) GROUP BY suite ORDER BY suite",
        {"d": run_date}).fetchall()
    failing = con.execute(
        "SELECT suite, expectation, coalesce(column_name, ''), severity, left(coalesce(observed_value, ''), 80) "
        "FROM meta.quality_results WHERE business_date = $d AND NOT success AND run_id = ("
        "  SELECT max(run_id) FROM meta.quality_results WHERE business_date = $d) "
        "ORDER BY severity, suite LIMIT 20", {"d": run_date}).fetchall()
    links = []
    candidates = [(home.quality / "results" / run_date.isoformat() / "index.html", "当日校验结果 Validation results")]
    if home.quality.exists():
        for p in sorted(home.quality.rglob("index.html")):
            if "results" not in p.relative_to(home.quality).parts:
                candidates.append((p, f"Data Docs ({p.parent.relative_to(home.quality)})"))
    for path, label in candidates:
        if path.exists():
            rel = Path("..", "..", path.relative_to(home.root)).as_posix()
            links.append({"href": rel, "label": label})
    blocking = sum(s[1] for s in suites)
    return {"suites": suites, "failing": failing, "links": links, "blocking": blocking,
            "status": ("未校验 not validated" if not suites else
                       "阻断 blocked" if blocking else
                       "警告 warnings" if any(s[2] for s in suites) else "通过 passed")}


def _sources(con, run_date: date) -> list[dict]:
    rows = con.execute(
        "SELECT source, max(business_date) AS latest, sum(rows_loaded) FILTER (WHERE business_date = $d), "
        "sum(rows_quarantined) FILTER (WHERE business_date = $d), count(*) FILTER (WHERE business_date = $d), "
        "max(loaded_at) FROM meta.ingestion_ledger "
        "WHERE business_date <= $d GROUP BY source ORDER BY source", {"d": run_date}).fetchall()
    out = []
    for source, latest, loaded, quarantined, files, loaded_at in rows:
        lag = (run_date - latest).days if latest else None
        out.append({"source": source, "latest": latest, "lag": lag, "loaded": loaded or 0,
                    "quarantined": quarantined or 0, "files": files or 0, "loaded_at": loaded_at,
                    "fresh": lag == 0})
    return out


# --------------------------------------------------------------------------- the page


def build_bulletin(con, home: Home, run_date: date) -> Bulletin:
    from indicators.registry import load_catalogue

    flags = _read_flags(con, home, run_date)
    yesterday_date = run_date - timedelta(days=1)
    had_yesterday = _has_partition(home, "indicator_flags", yesterday_date)
    yesterday = _read_flags(con, home, yesterday_date)
    names = {ind.id: ind.name_zh for ind in load_catalogue()}
    folder = home.reports / run_date.isoformat()

    families = _families(flags, yesterday, had_yesterday)
    regions = _regions(flags, yesterday, had_yesterday)
    charts, _ = _trends(con, home, run_date)
    published = con.execute(
        "SELECT mart, rows, schema_version FROM meta.published_partitions WHERE dt = $d ORDER BY mart",
        {"d": run_date}).fetchall()
    # A lead that continues (same flag_id: indicator, entity, window start) is not new today.
    seen_yesterday = {r.get("flag_id") for r in yesterday}
    headline = {"total": len(flags), "change": (len(flags) - len(yesterday)) if had_yesterday else None,
                "new": sum(1 for r in flags if r.get("flag_id") not in seen_yesterday) if had_yesterday else None,
                "high": sum(1 for r in flags if r.get("severity") == "high"),
                "by_family": {f["id"]: f["today"] for f in families},
                "by_region": {r["code"]: r["leads"] for r in regions}}

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["signed"] = lambda v: "—" if v is None else f"{v:+d}"
    env.filters["fmt"] = _fmt
    template = env.from_string((resources.files("pipelines.serve.bulletin") / "templates" / "bulletin.html.j2")
                               .read_text(encoding="utf-8"))
    page = template.render(
        run_date=run_date.isoformat(), yesterday=yesterday_date.isoformat(), had_yesterday=had_yesterday,
        headline=headline, families=families, regions=regions, charts=charts, trend_days=TREND_DAYS,
        top=_top_leads(flags, names), complaints=_complaints(con, home, run_date),
        credit=_credit(con, home, run_date), sample=_sample(con, home, run_date),
        quality=_quality(con, home, run_date, folder), sources=_sources(con, run_date), published=published,
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bulletin.html"
    tmp = folder / ".bulletin.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return Bulletin(path=path, leads_today=len(flags), headline=headline)
