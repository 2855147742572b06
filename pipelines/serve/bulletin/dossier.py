"""The merchant dossier (一户一档): HOME/reports/<D>/merchants/<id>.html, one offline page per merchant.

A merchant is its USCC when one is known (from the lead, the registry or the credit tiers), else its
platform shop id. The bulletin of D builds one for every merchant a lead shown on the page names (a
collusion lead implicates each shop of its cell) and for the riskiest tier C/D merchants of the newest
credit partition (page.DOSSIER_TIERS), and links each shown lead to it; `market-monitor report --date D
--merchant ID` builds any other on demand.

Every section is read for all the merchants at once (one query per section, not per merchant):
register entries, credit tier with its factor contributions and history, leads over 90 days with
their sentences, monthly complaint rate against the platform's, penalties and list entries. Names of
natural persons (legal representatives, parties of penalties) are never read.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from pipelines.core.errors import UserError
from pipelines.core.home import Home
from pipelines.publish.views import LEAD_EPISODE
from pipelines.serve.bulletin import data, followup
from pipelines.serve.bulletin.charts import mini_chart_svg
from pipelines.serve.bulletin.explain import cell_shop_ids, evidence_of, explain
from pipelines.serve.bulletin.leadcharts import safe_rows
from pipelines.serve.bulletin.wording import SEVERITY_ZH

FOLDER = "merchants"
LEAD_DAYS = 90
CONTRIBUTIONS = {"contrib_penalties": "处罚 penalties", "contrib_fines": "罚没 fines", "contrib_abnormal": "异常 abnormal",
                 "contrib_serious": "失信 serious", "contrib_complaints": "投诉 complaints", "contrib_flags": "线索 leads",
                 "contrib_inspections": "抽查 spot checks"}
REGISTRY_SQL = """
SELECT platform, shop_id, shop_name, uscc, company_name, region_code, established_date
FROM staging.registry_current
WHERE list_contains($ids, shop_id) OR list_contains($ids, uscc) ORDER BY uscc, platform, shop_id"""
PENALTIES_SQL = """
SELECT party_uscc, decision_no, decision_date, violation_type, left(penalty_content, 80), fine_amount_yuan::DOUBLE,
       authority
FROM staging.penalties_current WHERE list_contains($usccs, party_uscc) ORDER BY decision_date DESC"""
LISTS_SQL = """
SELECT uscc, '经营异常名录 abnormal operations', listed_reason, listed_date, listing_authority, removed_date
FROM staging.abnormal_operations_current WHERE list_contains($usccs, uscc)
UNION ALL
SELECT uscc, '严重违法失信名单 serious violations', listed_reason, listed_date, listing_authority, removed_date
FROM staging.serious_violations_current WHERE list_contains($usccs, uscc)
ORDER BY 4 DESC"""


def file_name(merchant: str) -> str:
    """The dossier's file name: the id with anything but letters, digits, - and _ replaced."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", merchant) + ".html"


def merchant_of(flag: dict) -> str | None:
    return flag.get("uscc") or flag.get("shop_id") or None


def merchants_of_leads(flags: list[dict]) -> set[str]:
    """The merchants a day's leads name: their USCC or shop, and each shop of a collusion cell."""
    found = {m for m in (merchant_of(f) for f in flags) if m}
    for f in flags:
        if f.get("family") == "collusion":
            found.update(cell_shop_ids(evidence_of(f)))
    return found


def _tier_rows(con, home: Home, run_date: date, usccs: list[str]) -> list[dict]:
    """The tier history (every partition on or before the date) of `usccs` only, oldest first."""
    src = data.published_source(home, "merchant_credit_tiers")
    if src is None or not usccs:
        return []
    cur = con.execute(f"SELECT * FROM {src} WHERE dt <= $d AND list_contains($u, uscc) ORDER BY dt",  # noqa: S608 - path quoted by quote_literal, values bound
                      {"d": run_date, "u": usccs})
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _leads(con, home: Home, run_date: date, shops: list[str], usccs: list[str]) -> list[dict]:
    src = data.published_source(home, "indicator_flags")
    if src is None:
        return []
    sql = (f"WITH f AS (SELECT *, CASE WHEN family = 'collusion' THEN list_concat("  # noqa: S608 - path quoted by quote_literal, values bound
           "json_extract_string(evidence, '$.shop_ids[*]'), json_extract_string(evidence, '$.parallel_pair_list[*].shop_a'), "
           f"json_extract_string(evidence, '$.parallel_pair_list[*].shop_b')) END AS cell_shops, "
           # one lead = an indicator and an entity flagged on consecutive dates (as the `leads` view)
           f"{LEAD_EPISODE} AS episode "
           f"FROM {src} WHERE dt BETWEEN $a AND $d) "
           "SELECT * EXCLUDE (episode), min(dt) OVER w AS first_seen, count(DISTINCT dt) OVER w AS days_seen FROM f "
           "WHERE list_contains($shops, shop_id) OR list_contains($usccs, uscc) "
           "OR len(list_intersect(coalesce(cell_shops, []), $shops)) > 0 "
           "WINDOW w AS (PARTITION BY indicator_id, entity_id, episode) QUALIFY dt = max(dt) OVER w "
           "ORDER BY dt DESC, indicator_id")
    cur = con.execute(sql, {"a": run_date - timedelta(days=LEAD_DAYS - 1), "d": run_date, "shops": shops,
                            "usccs": usccs})
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _complaints(con, home: Home, run_date: date, shops: list[str]) -> list[tuple]:
    src = data.published_source(home, "complaint_rates")
    if src is None or not shops:
        return []
    sql = (f"WITH final AS (SELECT * FROM {src} WHERE dt <= $d QUALIFY dt = max(dt) OVER (PARTITION BY month)), "  # noqa: S608 - path quoted by quote_literal, values bound
           "platform AS (SELECT month, platform, sum(complaints) * 1e4 / nullif(sum(orders), 0) AS rate "
           "FROM final GROUP BY ALL) "
           "SELECT f.shop_id, left(CAST(f.month AS VARCHAR), 7), f.complaints, f.orders, f.raw_rate_per_10k::DOUBLE, p.rate::DOUBLE "
           "FROM final AS f JOIN platform AS p USING (month, platform) WHERE list_contains($shops, f.shop_id) "
           "ORDER BY f.month")
    return safe_rows(con, sql, {"d": run_date, "shops": shops})


def gather(con, home: Home, run_date: date, ids: set[str]) -> dict[str, dict]:
    """Merchant id -> everything its dossier shows, for all the ids at once."""
    registry = safe_rows(con, REGISTRY_SQL, {"ids": sorted(ids)})
    tiers = _tier_rows(con, home, run_date, sorted(set(ids) | {r[3] for r in registry if r[3]}))
    # a shop with a registered USCC belongs to that merchant
    merchants: dict[str, dict] = {}
    shop_uscc = {r[1]: r[3] for r in registry if r[3]}
    for i in sorted(ids):
        key = shop_uscc.get(i, i)
        m = merchants.setdefault(key, {"id": key, "uscc": None, "shops": set(), "register": [], "tiers": [],
                                       "leads": [], "complaints": [], "penalties": [], "lists": []})
        if key != i:
            m["shops"].add(i)
    for row in registry:
        for key in (row[3], row[1]):
            if key in merchants:
                merchants[key]["register"].append(row)
                merchants[key]["shops"].add(row[1])
                merchants[key]["uscc"] = row[3]
                break
    tier_usccs = {r.get("uscc") for r in tiers}
    for key, m in merchants.items():
        if m["uscc"] is None and (key in tier_usccs or re.fullmatch(r"[0-9A-Z]{18}", key)):
            m["uscc"] = key
        if m["uscc"] is None:
            m["shops"].add(key)
    usccs = sorted({m["uscc"] for m in merchants.values() if m["uscc"]})
    shops = sorted({s for m in merchants.values() for s in m["shops"]})
    by_uscc = {m["uscc"]: m for m in merchants.values() if m["uscc"]}
    by_shop = {s: m for m in merchants.values() for s in m["shops"]}
    for r in tiers:
        if r.get("uscc") in by_uscc:
            by_uscc[r["uscc"]]["tiers"].append(r)
    for lead in _leads(con, home, run_date, shops, usccs):
        owners = {id(m): m for m in ([by_uscc.get(lead.get("uscc")), by_shop.get(lead.get("shop_id"))]
                                     + [by_shop.get(s) for s in lead.get("cell_shops") or []]) if m}
        for m in owners.values():
            m["leads"].append(lead)
    for row in _complaints(con, home, run_date, shops):
        by_shop[row[0]]["complaints"].append(row)
    for row in safe_rows(con, PENALTIES_SQL, {"usccs": usccs}):
        by_uscc[row[0]]["penalties"].append(row)
    for row in safe_rows(con, LISTS_SQL, {"usccs": usccs}):
        by_uscc[row[0]]["lists"].append(row)
    return merchants


def _view(m: dict, names: dict[str, str]) -> dict:
    """A merchant's rows turned into what templates/dossier.html.j2 shows."""
    latest = m["tiers"][-1] if m["tiers"] else None
    contributions = [(label, float(latest[c])) for c, label in CONTRIBUTIONS.items()
                     if latest and latest.get(c) is not None]
    history_days = [r["dt"] for r in m["tiers"]]
    scores = [float(r["score"]) if r.get("score") is not None else None for r in m["tiers"]]
    months = sorted({r[1] for r in m["complaints"]})
    rate = {(r[1]): r[4] for r in m["complaints"]}
    platform = {(r[1]): r[5] for r in m["complaints"]}
    leads = []
    for lead in m["leads"]:
        sentence = explain(lead) or ("", "")
        leads.append({"name_zh": names.get(lead["indicator_id"], lead["indicator_id"]), "id": lead["indicator_id"],
                      "severity": lead.get("severity"), "severity_zh": SEVERITY_ZH.get(lead.get("severity"), ""),
                      "window_start": lead.get("window_start"), "window_end": lead.get("window_end"),
                      "first_seen": lead["first_seen"], "last_seen": lead["dt"], "days_seen": lead["days_seen"],
                      "zh": sentence[0], "en": sentence[1], "shop_id": lead.get("shop_id")})
    return {
        "id": m["id"], "uscc": m["uscc"], "shops": sorted(m["shops"]), "register": m["register"],
        "tier": latest, "tiers": [(r["dt"], r.get("tier"), r.get("score")) for r in m["tiers"]][-12:],
        "contrib_chart": mini_chart_svg("信用分构成 Score contributions", [], bars=contributions, width=560)
        if contributions else None,
        "score_chart": mini_chart_svg("信用分历史 Score history", [f"{d:%m-%d}" for d in history_days],
                                      lines={"信用分 score": scores}) if len(scores) > 1 else None,
        "leads": leads, "penalties": m["penalties"], "lists": m["lists"],
        "complaint_chart": mini_chart_svg("每万单投诉（月） Complaints per 10,000 orders", months,
                                          lines={"该商户 this merchant": [rate.get(mo) for mo in months],
                                                 "所在平台 its platform": [platform.get(mo) for mo in months]},
                                          width=520),
        "complaints": m["complaints"],
    }


def write_dossiers(con, home: Home, run_date: date, ids: set[str], render, write) -> dict[str, str]:
    """Build the dossiers of `ids`; returns id (as asked, and the merchant's key) -> path relative to the bulletin."""
    names = data.indicator_names()
    folder = home.reports / run_date.isoformat() / FOLDER
    links: dict[str, str] = {}
    merchants = gather(con, home, run_date, ids)
    checks = followup.checks_by_uscc(con, home, run_date, sorted({m["uscc"] for m in merchants.values() if m["uscc"]}))
    for key, m in merchants.items():
        name = file_name(key)
        page = render(merchant=_view(m, names), run_date=run_date.isoformat())
        # the merchant's spot checks and the spot-check factor (followup.py)
        write(folder / name, followup.with_dossier_checks(page, checks.get(m["uscc"], []), (m["tiers"] or [None])[-1]))
        for alias in {key, *m["shops"], *([m["uscc"]] if m["uscc"] else [])}:
            links[alias] = f"{FOLDER}/{name}"
    return links


def known_merchant(con, home: Home, run_date: date, merchant: str) -> bool:
    """Whether anything published or registered names this USCC or shop id."""
    if safe_rows(con, REGISTRY_SQL, {"ids": [merchant]}):
        return True
    if _tier_rows(con, home, run_date, [merchant]):
        return True
    return bool(_leads(con, home, run_date, [merchant], [merchant]) or _complaints(con, home, run_date, [merchant]))


def build_one(con, home: Home, run_date: date, merchant: str, render, write) -> Path:
    """`report --merchant ID`: one dossier, or a UserError (exit 2) naming an id nothing knows."""
    merchant = merchant.strip()
    if not merchant or not known_merchant(con, home, run_date, merchant):
        raise UserError(f"merchant {merchant!r} is unknown on or before {run_date}: no registry entry, credit tier, "
                        "lead or complaint rate names this USCC or shop id (give an 18-character USCC or a platform "
                        "shop id, as in the bulletin)")
    links = write_dossiers(con, home, run_date, {merchant}, render, write)
    return home.reports / run_date.isoformat() / links[merchant]
