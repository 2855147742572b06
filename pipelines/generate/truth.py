"""What a correct pipeline must find: OUT/ground_truth.csv (one row per planted anomaly and indicator),
OUT/expected_tiers.csv (credit tier per enterprise, rule in docs/GENERATOR.md) and OUT/planted_pii.txt.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from .world import CELL_KINDS, CITY_CODES, PHANTOM_HISTORY_DAYS, PLANT_KINDS, PLATFORM_IDS, World

TRUTH_COLS = ["indicator_id", "platform", "shop_id", "uscc", "sku_id", "region_code", "first_date", "last_date"]


def truth_rows(w: World, start: dt.date, history_days: int) -> list[tuple]:
    """(indicator_id, platform, shop_id, uscc, sku_id, region_code, first_date, last_date), sorted."""
    rows = []
    for p in w.plants:
        for ind in PLANT_KINDS[p.kind]:
            first = start + dt.timedelta(days=max(p.first, -max(history_days, PHANTOM_HISTORY_DAYS)))
            lastd = start + dt.timedelta(days=p.last)
            if p.kind == "runup" and ind == "price.eu_prior_30d":
                first = start + dt.timedelta(days=p.t0)
            if p.kind in CELL_KINDS:   # planted on a market cell (SKU x region), not on one shop
                rows.append((ind, "", "", "", w.sku_id[p.sku], CITY_CODES[p.region], first, lastd))
                continue
            s = p.shops[0]
            sku = w.sku_id[p.sku] if ind.startswith(("price.", "discrimination.")) else ""
            rows.append((ind, PLATFORM_IDS[w.shop_plat[s]], w.shop_id[s], w.ent_uscc[w.shop_ent[s]], sku,
                         CITY_CODES[w.shop_city[s]], first, lastd))
    return sort_truth(rows)


def sort_truth(rows: list[tuple]) -> list[tuple]:
    """Ground-truth rows in file order: indicator, shop, SKU, region, first date (then platform, last date)."""
    return sorted(rows, key=lambda r: (r[0], r[2], r[4], r[5], r[6], r[1], r[7]))


def expected_tiers(w: World, events: dict, days: int, truth: list[tuple]) -> list[tuple[str, str, str]]:
    """Expected tier per enterprise as of the last generated day: (uscc, tier, reason), sorted."""
    last = days - 1
    n_ent = len(w.ent_uscc)
    serious = np.zeros(n_ent, bool)
    serious[events["serious"]] = True
    serious[events["serious_window"][events["serious_window_t"] <= last]] = True
    abn_cur = np.zeros(n_ent, bool)
    abn_cur[events["abn_current"]] = True
    abn_rem = np.zeros(n_ent, bool)
    abn_rem[events["abn_removed_window"]] = True
    abn_rem[events["abn_removed_old"]] = True
    fines = np.zeros(n_ent)
    for key in ("pen_heavy", "pen_small", "pen_window"):
        np.add.at(fines, events[key], np.where(events[key + "_t"] <= last, events[key + "_amt"], 0))
    uscc_index = {u: i for i, u in enumerate(w.ent_uscc)}
    n_ids = np.zeros(n_ent, int)
    ids_by_ent: dict[int, set] = {}
    for r in truth:
        if r[3]:
            ids_by_ent.setdefault(uscc_index[r[3]], set()).add(r[0])
    for e, s in ids_by_ent.items():
        n_ids[e] = len(s)
    has_shop = np.zeros(n_ent, bool)
    has_shop[w.shop_ent[w.shop_open <= last]] = True
    out = []
    for e in np.flatnonzero(has_shop):   # one row per enterprise (a few thousand at most)
        if serious[e]:
            t, r = "D", "严重违法失信名单"
        elif abn_cur[e]:
            t, r = "C", "经营异常名录(在列)"
        elif fines[e] >= 10:
            t, r = "C", "重大行政处罚(罚款≥10万元)"
        elif n_ids[e] >= 2:
            t, r = "C", f"planted anomalies: {n_ids[e]} indicators"
        elif fines[e] > 0:
            t, r = "B", "行政处罚"
        elif abn_rem[e]:
            t, r = "B", "经营异常名录(已移出)"
        elif n_ids[e] == 1:
            t, r = "B", "planted anomaly: 1 indicator"
        else:
            t, r = "A", "clean"
        out.append((w.ent_uscc[e], t, r))
    out.sort()
    return out


def write_answers(out: Path, rows: list[tuple], tiers: list[tuple], pii: list[str]) -> int:
    """Write the three answer files; returns how many distinct PII values were planted."""
    lines = [",".join(TRUTH_COLS)] + [",".join([*map(str, r[:6]), r[6].isoformat(), r[7].isoformat()])
                                      for r in rows]
    (out / "ground_truth.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "expected_tiers.csv").write_text(
        "uscc,expected_tier,reason\n" + "".join(f"{u},{t},{r}\n" for u, t, r in tiers), encoding="utf-8")
    distinct = list(dict.fromkeys(pii))   # first occurrence order
    (out / "planted_pii.txt").write_text("".join(v + "\n" for v in distinct), encoding="utf-8")
    return len(distinct)
