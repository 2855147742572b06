"""The bulletin's sections: the rows read by `data.py` turned into what the template shows.

Generic over the mart catalogue: optional marts (complaint_rates, merchant_credit_tiers,
inspection_sample) get their section when published, their columns found by name patterns rather
than fixed positions, so a renamed or added column does not break the page.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from pathlib import Path

from markupsafe import Markup

from pipelines.core.home import Home
from pipelines.core.regions import LIAONING_CITIES
from pipelines.serve.bulletin import data
from pipelines.serve.bulletin.charts import bar_chart_svg, interval_chart_svg, line_chart_svg
from pipelines.serve.bulletin.explain import cell_shop_ids, evidence_of, explain
from pipelines.serve.bulletin.wording import (
    SEVERITY_ZH,
    families_in_order,
    family_label,
    fmt,
    plain_evidence,
    quality_status,
)

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
TREND_DAYS = 90
TOP_PER_FAMILY = 25


def _count_by_family(groups: list[tuple]) -> dict[str, int]:
    out: dict[str, int] = {}
    for family, _region, leads, _high in groups:
        out[family] = out.get(family, 0) + leads
    return out


def families(groups_today: list[tuple], groups_yesterday: list[tuple], had_yesterday: bool) -> list[dict]:
    """Leads per family today and the change since yesterday (None when yesterday was not published), from the
    (family, region_code, leads, high) groups of `data.flag_groups`."""
    t, y = _count_by_family(groups_today), _count_by_family(groups_yesterday)
    return [{"id": f, "zh": family_label(f)[0], "en": family_label(f)[1],
             "today": t.get(f, 0), "change": (t.get(f, 0) - y.get(f, 0)) if had_yesterday else None}
            for f in families_in_order(set(t) | set(y))]


def regions(groups_today: list[tuple], groups_yesterday: list[tuple], had_yesterday: bool,
            shops: dict[str | None, int]) -> list[dict]:
    """Leads per city (every city listed, even with none), then one row for leads outside the province; `shops`
    is `data.region_shops` (distinct shops with a lead per city, None for the rest)."""
    out = []
    for code, (zh, en) in LIAONING_CITIES.items():
        rows = [g for g in groups_today if g[1] == code]
        before = sum(g[2] for g in groups_yesterday if g[1] == code)
        leads = sum(g[2] for g in rows)
        fams = _count_by_family(rows)
        out.append({"code": code, "zh": zh, "en": en, "leads": leads,
                    "change": (leads - before) if had_yesterday else None,
                    "high": sum(g[3] for g in rows), "shops": shops.get(code, 0),
                    "families": "、".join(f"{family_label(f)[0]} {n}" for f, n in sorted(fams.items()))})
    other = [g for g in groups_today if g[1] not in LIAONING_CITIES]
    if other:
        out.append({"code": "—", "zh": "省外/未登记", "en": "Other or unregistered", "leads": sum(g[2] for g in other),
                    "change": None, "high": sum(g[3] for g in other), "shops": shops.get(None, 0), "families": ""})
    return out


def trends(con, home: Home, run_date: date) -> list[dict]:
    """Leads per day over the last TREND_DAYS days: all leads, then one chart per family by indicator."""
    days = [run_date - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    counts: dict[tuple[str, str], dict[date, int]] = {}
    for fam, ind, dt, n in data.flag_counts(con, home, days[0], run_date):
        counts.setdefault((fam, ind), {})[dt] = n
    # Catalogue indicators get a line even on days without leads; a published indicator the
    # catalogue no longer lists still gets one.
    known = data.indicators_by_family()
    for fam, ind in counts:
        if ind not in known.setdefault(fam, []):
            known[fam].append(ind)
    # A day without a published partition (before the first run, or a failed gate) is no data, not zero leads.
    published = data.partition_days(home, "indicator_flags")
    charts = []
    total = {d: 0 for d in days}
    for per_day in counts.values():
        for d, n in per_day.items():
            total[d] = total.get(d, 0) + n
    charts.append({"zh": "全部线索", "en": "All leads",
                   "svg": line_chart_svg({"合计 total": [total[d] if d in published else None for d in days]}, days,
                                         f"每日新增线索 Leads per day, {days[0]} – {run_date}")})
    for fam in families_in_order(known):
        ids = known.get(fam) or []
        if not ids:
            continue
        series = {i: [counts.get((fam, i), {}).get(d, 0) if d in published else None for d in days] for i in ids}
        zh, en = family_label(fam)
        charts.append({"zh": zh, "en": en, "svg": line_chart_svg(series, days, f"{zh} {en}: 每日线索 leads per day")})
    return charts


def top_leads(flags: list[dict], indicator_names: dict[str, str], charts: dict | None = None,
              dossiers: dict[str, str] | None = None, counts: dict[str, int] | None = None) -> list[dict]:
    """Per family, its TOP_PER_FAMILY leads: most severe first, then furthest beyond the threshold; each with
    its sentence (Chinese, English), its chart (`charts`, by flag_id) and links to the dossiers it names.
    `flags` may be the day's top rows only (`data.top_flags`, same rank); `counts` then gives each family's
    number of leads (default: counted in `flags`)."""
    charts, dossiers = charts or {}, dossiers or {}
    def rank(r):
        ratio = 0.0
        try:
            ratio = abs(float(r["value"])) / abs(float(r["threshold"])) if r.get("threshold") else abs(float(r["value"]))
        except (TypeError, ValueError, ZeroDivisionError):
            ratio = 0.0
        return (-SEVERITY_RANK.get(r.get("severity"), 0), -(ratio if math.isfinite(ratio) else 0.0),
                r.get("indicator_id") or "", r.get("entity_id") or "")

    groups = []
    for fam in families_in_order({r["family"] for r in flags}):
        rows = sorted((r for r in flags if r["family"] == fam), key=rank)
        if not rows:
            continue
        zh, en = family_label(fam)
        groups.append({"zh": zh, "en": en, "count": (counts or {}).get(fam, len(rows)), "rows": [
            dict(r, plain=plain_evidence(r), sentence=explain(r), chart=charts.get(r.get("flag_id")),
                 dossiers=_dossier_links(r, dossiers), name_zh=indicator_names.get(r["indicator_id"], ""),
                 severity_zh=SEVERITY_ZH.get(r.get("severity"), r.get("severity")),
                 region_zh=LIAONING_CITIES.get(r.get("region_code") or "", ("", ""))[0])
            for r in rows[:TOP_PER_FAMILY]]})
    return groups


def _dossier_links(flag: dict, dossiers: dict[str, str]) -> list[tuple[str, str]]:
    """(label, relative href) of the dossiers a lead names: its merchant, or each shop of a collusion cell."""
    names = [flag.get("uscc") or flag.get("shop_id")] if flag.get("family") != "collusion" else cell_shop_ids(
        evidence_of(flag))
    links = {}
    for name in names:
        if name and name in dossiers:
            links.setdefault(dossiers[name], str(name))
    return [(label, href) for href, label in links.items()]


# --------------------------------------------------------------------------- optional marts


def _pick(columns, *patterns) -> str | None:
    """The first column matching the first pattern that matches any (patterns in preference order)."""
    for pattern in patterns:
        for c in columns:
            if re.search(pattern, c):
                return c
    return None


def _interval_chart(rows: list[dict], who: str | None, est: str, lo: str | None, hi: str | None) -> Markup:
    return interval_chart_svg(
        [(str(r.get(who) or "")[:22], float(r[est] or 0), None if not lo or r.get(lo) is None else float(r[lo]),
          None if not hi or r.get(hi) is None else float(r[hi])) for r in rows],
        f"投诉率及区间 Complaint rate with interval ({est}; {lo or '-'} – {hi or '-'})")


def _complaint_columns(cols: list[str]) -> dict[str, str | None]:
    """The complaint_rates columns the section shows, found by name (estimate, interval, merchant)."""
    return {
        "est": _pick(cols, r"posterior.*rate|eb_rate|rate_post", r"rate_per_10k|raw_rate|rate$"),
        "lo": _pick(cols, r"wilson.*(lo|lower)", r"(ci|interval).*(lo|lower)", r"(lo|lower).*(ci|bound)", r"_lo$|_lower$"),
        "hi": _pick(cols, r"wilson.*(hi|upper)", r"(ci|interval).*(hi|upper)", r"(hi|upper).*(ci|bound)", r"_hi$|_upper$"),
        "who": _pick(cols, r"^shop_id$", r"merchant", r"^uscc$", r"entity_id"),
    }


def _complaint_rank(cols: list[str]) -> str | None:
    """Highest estimated rate first (a missing rate last), then the merchant: the ORDER BY of the top 15."""
    c = _complaint_columns(cols)
    if not c["est"]:
        return None
    return f'coalesce(TRY_CAST("{c["est"]}" AS DOUBLE), -1) DESC' + (f', "{c["who"]}"' if c["who"] else "")


def complaints(con, home: Home, run_date: date) -> dict | None:
    """The 15 highest complaint rates of the latest complaint_rates partition, with their intervals."""
    as_of, n, top = data.read_latest_top(con, home, "complaint_rates", run_date, _complaint_rank, 15)
    if as_of is None:
        return None
    cols = list(top[0]) if top else []
    picked = _complaint_columns(cols)
    est, lo, hi, who = picked["est"], picked["lo"], picked["hi"], picked["who"]
    show = [c for c in (who, _pick(cols, r"^platform$"), _pick(cols, r"^region_code$"), _pick(cols, r"^month|period"),
                        _pick(cols, r"^complaints$|complaint_count|n_complaints"),
                        _pick(cols, r"exposure|orders"), _pick(cols, r"raw_rate|rate_per_10k"), est, lo, hi,
                        _pick(cols, r"timely"), _pick(cols, r"relief|recovered"), _pick(cols, r"surge"))
            if c] if top else []
    show = list(dict.fromkeys(show))
    chart = _interval_chart(top, who, est, lo, hi) if est and top else None
    return {"as_of": as_of, "n": n, "columns": show, "labels": data.column_labels("complaint_rates", show),
            "rows": [[fmt(r.get(c)) for c in show] for r in top], "chart": chart}


def credit(con, home: Home, run_date: date) -> dict | None:
    """Merchants per credit tier (A–D first) in the latest merchant_credit_tiers partition."""
    as_of, counts = data.latest_summary(con, home, "merchant_credit_tiers", run_date, "tier")
    if as_of is None:
        return None
    tiers = dict(counts)
    order = ["A", "B", "C", "D"] + sorted(str(t) for t in tiers if t not in ("A", "B", "C", "D"))
    bars = [(t, tiers.get(t, 0)) for t in order]
    total = sum(tiers.values())
    return {"as_of": as_of, "total": total,
            "tiers": [{"tier": t, "n": n, "share": (n / total if total else 0)} for t, n in bars],
            "chart": bar_chart_svg(bars, f"信用等级分布 Credit tiers ({as_of})")}


def sample(con, home: Home, run_date: date) -> dict | None:
    """The latest inspection draw: its seed (so it can be redrawn), counts per tier, first 20 in draw order."""
    as_of, rows = data.read_latest(con, home, "inspection_sample", run_date)
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
            "labels": data.column_labels("inspection_sample", show),
            "by_tier": sorted(by_tier.items(), key=lambda kv: str(kv[0])),
            "rows": [[fmt(r.get(c)) for c in show] for r in rows[:20]]}


# --------------------------------------------------------------------------- the run's bookkeeping


def quality(con, home: Home, run_date: date) -> dict:
    """The day's quality verdict per suite, its failed checks and links to the validation pages."""
    suites = data.quality_suites(con, run_date)
    failing = data.quality_failures(con, run_date)
    candidates = [(home.quality / "results" / run_date.isoformat() / "index.html", "当日校验结果 Validation results")]
    if home.quality.exists():
        for p in sorted(home.quality.rglob("index.html")):
            if "results" not in p.relative_to(home.quality).parts:
                candidates.append((p, f"Data Docs ({p.parent.relative_to(home.quality)})"))
    # The page sits in reports/<D>/, so a link climbs two folders to the home root.
    links = [{"href": Path("..", "..", path.relative_to(home.root)).as_posix(), "label": label}
             for path, label in candidates if path.exists()]
    blocking = sum(s[1] for s in suites)
    return {"suites": suites, "failing": failing, "links": links, "blocking": blocking,
            "status": quality_status(suites, blocking),
            "incomplete": data.day_incomplete(con, run_date)}  # the page opens with it (missing sources, rejected files)


def sources(con, run_date: date) -> list[dict]:
    """Per source: how fresh it is (days behind the run date) and what the day loaded or quarantined."""
    out = []
    for source, latest, loaded, quarantined, files, loaded_at in data.source_ledger(con, run_date):
        lag = (run_date - latest).days if latest else None
        out.append({"source": source, "latest": latest, "lag": lag, "loaded": loaded or 0,
                    "quarantined": quarantined or 0, "files": files or 0, "loaded_at": loaded_at,
                    "fresh": lag == 0})
    return out
