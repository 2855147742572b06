"""The daily bulletin (监测日报): HOME/reports/<D>/bulletin.html, self-contained and offline.

It reads only what was published (the parquet marts) plus the run's bookkeeping (ledger, quality
results), so it never shows a lead that failed the quality gate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import jinja2

from pipelines.home import Home
from pipelines.regions import LIAONING_CITIES

FAMILY_LABELS = {
    "price": ("价格", "Pricing"),
    "collusion": ("串通筛查", "Collusion screens"),
    "discrimination": ("价格歧视", "Price discrimination"),
    "complaints": ("投诉", "Complaints"),
    "integrity": ("刷单炒信", "Marketplace integrity"),
    "credit": ("信用", "Credit"),
}


@dataclass
class Bulletin:
    path: Path
    leads_today: int


def _partition(home: Home, mart: str, day: date) -> Path:
    return home.mart_dir(mart) / f"dt={day.isoformat()}" / "part-0.parquet"


def _read_flags(con, home: Home, day: date) -> list[dict]:
    path = _partition(home, "indicator_flags", day)
    if not path.exists():
        return []
    cur = con.execute("SELECT * FROM read_parquet($p) ORDER BY severity = 'high' DESC, indicator_id, entity_id",
                      {"p": str(path)})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def plain_evidence(flag: dict) -> str:
    """One sentence a non-programmer can read aloud to the firm."""
    try:
        ev = json.loads(flag["evidence"])
    except (TypeError, ValueError):
        return ""
    if flag["indicator_id"] == "price.cn_reference_7d":
        window = ev.get("basis_window") or ["?", "?"]
        basis = ("促销前7日内最低成交价" if ev.get("cn_basis_source") == "lowest_7d" else "促销前最后一次成交价")
        return (f"标示原价 ¥{ev.get('shown_reference_price')}，促销价 ¥{ev.get('promo_price')}；"
                f"{basis} ¥{ev.get('cn_basis_price')}（{window[0]} 至 {window[1]}，订单 {ev.get('lowest_trade_order_id')}，"
                f"{ev.get('lowest_trade_time')}）。宣称折扣 {ev.get('claimed_discount'):.0%}，按规则真实折扣 "
                f"{ev.get('true_discount'):.0%}。")
    figures = ", ".join(f"{k}={v}" for k, v in ev.items() if not isinstance(v, (list, dict)))
    return figures[:300]


def build_bulletin(con, home: Home, run_date: date) -> Bulletin:
    flags = _read_flags(con, home, run_date)
    yesterday = _read_flags(con, home, run_date - timedelta(days=1))

    def by_family(rows):
        out = {}
        for r in rows:
            out[r["family"]] = out.get(r["family"], 0) + 1
        return out

    today_fam, yest_fam = by_family(flags), by_family(yesterday)
    families = [
        {"zh": zh, "en": en, "today": today_fam.get(f, 0), "change": today_fam.get(f, 0) - yest_fam.get(f, 0)}
        for f, (zh, en) in FAMILY_LABELS.items()
    ]
    regions = []
    for code, (zh, en) in LIAONING_CITIES.items():
        rows = [r for r in flags if r["region_code"] == code]
        regions.append({"code": code, "zh": zh, "en": en, "leads": len(rows),
                        "high": sum(1 for r in rows if r["severity"] == "high"),
                        "shops": len({r["shop_id"] for r in rows if r["shop_id"]})})
    top = [dict(r, plain=plain_evidence(r), region_zh=LIAONING_CITIES.get(r["region_code"] or "", ("", ""))[0])
           for r in flags[:25]]

    quality = con.execute(
        "SELECT suite, count(*) FILTER (WHERE NOT success AND severity = 'blocking') AS blocking_failed, "
        "count(*) FILTER (WHERE NOT success AND severity = 'warning') AS warnings, count(*) AS checks "
        "FROM meta.quality_results WHERE business_date = $d AND run_id = ("
        "  SELECT max(run_id) FROM meta.quality_results WHERE business_date = $d) GROUP BY suite ORDER BY suite",
        {"d": run_date}).fetchall()
    sources = con.execute(
        "SELECT source, max(business_date) AS latest, sum(rows_loaded) FILTER (WHERE business_date = $d), "
        "sum(rows_quarantined) FILTER (WHERE business_date = $d) FROM meta.ingestion_ledger "
        "WHERE business_date <= $d GROUP BY source ORDER BY source", {"d": run_date}).fetchall()
    published = con.execute(
        "SELECT mart, rows FROM meta.published_partitions WHERE dt = $d ORDER BY mart", {"d": run_date}).fetchall()

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string((resources.files("pipelines") / "templates" / "bulletin.html.j2")
                               .read_text(encoding="utf-8"))
    page = template.render(
        run_date=run_date.isoformat(), total=len(flags), total_change=len(flags) - len(yesterday),
        families=families, regions=regions, top=top, quality=quality, sources=sources, published=published,
        quality_link=f"../../quality/results/{run_date.isoformat()}/index.html",
    )
    folder = home.reports / run_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bulletin.html"
    tmp = folder / ".bulletin.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return Bulletin(path=path, leads_today=len(flags))
