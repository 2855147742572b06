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
from pipelines.serve.bulletin import coverage, data, dossier, followup, leadcharts, sections
from pipelines.serve.bulletin.wording import fmt, signed

PAGE_NAME = "bulletin.html"


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
    flags = data.read_flags(con, home, run_date)
    yesterday_date = run_date - timedelta(days=1)
    had_yesterday = data.has_partition(home, "indicator_flags", yesterday_date)
    yesterday = data.read_flags(con, home, yesterday_date)

    families = sections.families(flags, yesterday, had_yesterday)
    regions = sections.regions(flags, yesterday, had_yesterday)
    charts = sections.trends(con, home, run_date)
    published = data.published_partitions(con, run_date)
    # A lead that continues (the same indicator and entity flagged yesterday, as in the `leads` view) is not new
    # today: a 28-day rule's window start slides with the run date, so its flag_id changes every day.
    seen_yesterday = {(r.get("indicator_id"), r.get("entity_id")) for r in yesterday}
    headline = {"total": len(flags), "change": (len(flags) - len(yesterday)) if had_yesterday else None,
                "new": sum(1 for r in flags if (r.get("indicator_id"), r.get("entity_id")) not in seen_yesterday)
                if had_yesterday else None,
                "high": sum(1 for r in flags if r.get("severity") == "high"),
                "by_family": {f["id"]: f["today"] for f in families},
                "by_region": {r["code"]: r["leads"] for r in regions}}

    # Dossiers (一户一档) for every merchant a lead names and every tier C/D merchant; the leads link to them.
    _, tiers = data.read_latest(con, home, "merchant_credit_tiers", run_date)
    wanted = dossier.merchants_of_leads(flags) | {str(t["uscc"]) for t in tiers if t.get("tier") in ("C", "D")
                                                 and t.get("uscc")}
    dossiers = dossier.write_dossiers(con, home, run_date, wanted, _template("dossier.html.j2").render,
                                      _write_atomically)
    top = sections.top_leads(flags, data.indicator_names(), dossiers=dossiers)
    shown = [r for g in top for r in g["rows"]]
    charts_by_flag = leadcharts.lead_charts(con, home, run_date, shown)
    for r in shown:
        r["chart"] = charts_by_flag.get(r.get("flag_id"))
    tier_of = {str(t.get("uscc")): t.get("tier") for t in tiers}
    merchants = sorted({(dossiers[m], m, tier_of.get(m, "")) for m in wanted if m in dossiers})

    page = _template().render(
        run_date=run_date.isoformat(), yesterday=yesterday_date.isoformat(), had_yesterday=had_yesterday,
        headline=headline, families=families, regions=regions, charts=charts, trend_days=sections.TREND_DAYS,
        top=top, merchants=merchants, complaints=sections.complaints(con, home, run_date),
        credit=sections.credit(con, home, run_date), sample=sections.sample(con, home, run_date),
        quality=sections.quality(con, home, run_date), sources=sections.sources(con, run_date), published=published,
    )
    page = coverage.with_history_note(page, con, home, run_date)  # rules that lacked history (coverage.py)
    page = followup.with_section(page, con, home, run_date, dossiers)  # 一公开 of the spot checks (followup.py)
    path = home.reports / run_date.isoformat() / PAGE_NAME
    _write_atomically(path, page)
    return Bulletin(path=path, leads_today=len(flags), headline=headline)


def build_merchant_dossier(con, home: Home, run_date: date, merchant: str) -> Path:
    """`market-monitor report --date D --merchant ID`: the dossier of one USCC or shop id (UserError if unknown)."""
    return dossier.build_one(con, home, run_date, merchant, _template("dossier.html.j2").render, _write_atomically)
