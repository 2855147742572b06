"""The bulletin page: HOME/reports/<D>/bulletin.html, gathered from the sections and written atomically.

The page is self-contained and works offline: styles are inline in the template, charts are
inline SVG, nothing is fetched, and links point only to files inside the home folder.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import jinja2

from pipelines.core.home import Home
from pipelines.core.regions import LIAONING_CITIES
from pipelines.serve.bulletin import coverage, data, dossier, followup, leadcharts, sections
from pipelines.serve.bulletin.wording import fmt, signed

PAGE_NAME = "bulletin.html"
# Tier C/D merchants given a dossier with each bulletin, riskiest first: enough for a day's reading, bounded as the
# province grows (a 100-million-observation day had 271,168 merchants to write, 3.2 GB of HTML).
DOSSIER_TIERS = 200


@dataclass
class Bulletin:
    path: Path
    leads_today: int
    headline: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=None)
def _template(name: str = "bulletin.html.j2") -> jinja2.Template:
    """The packaged template `name`, compiled once per process (the demo and a backfill report many days)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["signed"] = signed
    env.filters["fmt"] = fmt
    return env.from_string((resources.files("pipelines.serve.bulletin") / "templates" / name)
                           .read_text(encoding="utf-8"))


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target, then rename: a reader never sees a half-written page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def build_bulletin(con, home: Home, run_date: date) -> Bulletin:
    """Build (or rebuild) the bulletin of `run_date` from what is published and recorded in `con`."""
    # Counts come from SQL and only the shown leads are read as rows, so the page costs the same on a day with
    # 50 leads as on one with 500,000 (docs/BULLETIN.md, "What the page reads").
    yesterday_date = run_date - timedelta(days=1)
    had_yesterday = data.has_partition(home, "indicator_flags", yesterday_date)
    groups = data.flag_groups(con, home, run_date)
    groups_yesterday = data.flag_groups(con, home, yesterday_date)
    families = sections.families(groups, groups_yesterday, had_yesterday)
    regions = sections.regions(groups, groups_yesterday, had_yesterday,
                               data.region_shops(con, home, run_date, list(LIAONING_CITIES)))
    charts = sections.trends(con, home, run_date)
    published = data.published_partitions(con, run_date)
    total, total_yesterday = sum(g[2] for g in groups), sum(g[2] for g in groups_yesterday)
    headline = {"total": total, "change": (total - total_yesterday) if had_yesterday else None,
                "new": data.new_leads(con, home, run_date),
                "high": sum(g[3] for g in groups),
                "by_family": {f["id"]: f["today"] for f in families},
                "by_region": {r["code"]: r["leads"] for r in regions}}

    # Dossiers (一户一档) for every merchant a shown lead names and the DOSSIER_TIERS riskiest tier C/D merchants;
    # any other merchant's is one command away (`report --merchant`).
    shown_flags = data.top_flags(con, home, run_date, sections.TOP_PER_FAMILY)
    risky, risky_total = data.riskiest_merchants(con, home, run_date, DOSSIER_TIERS)
    wanted = dossier.merchants_of_leads(shown_flags) | set(risky)
    dossiers = dossier.write_dossiers(con, home, run_date, wanted, _template("dossier.html.j2").render,
                                      _write_atomically)
    top = sections.top_leads(shown_flags, data.indicator_names(), dossiers=dossiers, counts=headline["by_family"])
    shown = [r for g in top for r in g["rows"]]
    charts_by_flag = leadcharts.lead_charts(con, home, run_date, shown)
    for r in shown:
        r["chart"] = charts_by_flag.get(r.get("flag_id"))
    tier_of = data.tiers_of(con, home, run_date, sorted(wanted))
    merchants = sorted({(dossiers[m], m, tier_of.get(m, "")) for m in wanted if m in dossiers})
    unlisted = {"tiers": max(risky_total - len(risky), 0)}

    page = _template().render(
        run_date=run_date.isoformat(), yesterday=yesterday_date.isoformat(), had_yesterday=had_yesterday,
        headline=headline, families=families, regions=regions, charts=charts, trend_days=sections.TREND_DAYS,
        top=top, merchants=merchants, unlisted=unlisted, complaints=sections.complaints(con, home, run_date),
        credit=sections.credit(con, home, run_date), sample=sections.sample(con, home, run_date),
        quality=sections.quality(con, home, run_date), sources=sections.sources(con, run_date), published=published,
    )
    page = coverage.with_history_note(page, con, home, run_date)  # rules that lacked history (coverage.py)
    page = followup.with_section(page, con, home, run_date, dossiers)  # 一公开 of the spot checks (followup.py)
    path = home.reports / run_date.isoformat() / PAGE_NAME
    _write_atomically(path, page)
    return Bulletin(path=path, leads_today=total, headline=headline)


def build_merchant_dossier(con, home: Home, run_date: date, merchant: str) -> Path:
    """`market-monitor report --date D --merchant ID`: the dossier of one USCC or shop id (UserError if unknown)."""
    return dossier.build_one(con, home, run_date, merchant, _template("dossier.html.j2").render, _write_atomically)
