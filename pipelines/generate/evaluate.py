"""Accuracy of published flags and tiers against a generated province's ground truth.

    table = evaluate(home, truth)        # truth = the generator's OUT folder (or its ground_truth.csv)
    print(format_evaluation(table))

Matching rule (docs/GENERATOR.md):
- a planted row is *detected* when some flag with the same `indicator_id` matches its entity and
  its dates overlap: [window_start, window_end] ∩ [first_date, last_date] ≠ ∅;
- entity match: collusion cells (planted row without shop_id) match on sku_id + region_code; rows
  with both shop_id and sku_id match on shop_id + sku_id; platform rows (platform set, no shop_id, sku_id or
  region_code: competition.exclusive_dealing) match platform-entity flags of that platform; otherwise on shop_id;
- precision = flags of that id matching some planted row of that id / all flags of that id;
- false_flags_on_clean = flags of that id whose entity carries no planted anomaly of any kind
  (no planted shop_id, for cell flags no planted sku_id+region_code cell, for platform flags no planted platform row);
- tier accuracy = share of expected_tiers.csv enterprises whose tier in the latest
  merchant_credit_tiers partition is equal (missing = wrong);
- pii_leaks = (file, value) for every planted_pii.txt value found (as written, or as its digits
  when it has ≥ 11) in the text of HOME/marts (all string columns of every parquet file) and
  HOME/reports (html/json/csv/txt);
- power (when the truth folder has power_truth.csv, written by `generate(..., power=CONTEXT)`): planted, detected
  and not_judged per (indicator_id, strength, context), for the rows that carry a strength (docs/ACCURACY.md). A
  missed plant is *not judged* when the published mart shows that the rule could not be applied to it (NOT_JUDGED:
  too short a history, too few days with enough peers, no baseline, too few answers to judge a late share), as
  opposed to judged and missed.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.home import PARTITION_PREFIX, Home
from pipelines.generate.power import indicator_value

INDICATOR_IDS = [
    "price.cn_reference_7d", "price.eu_prior_30d", "price.pre_promo_runup", "price.phantom_reference",
    "price.spike_mad", "price.sustained_below_market", "collusion.variance_screen",
    "collusion.cover_distance", "collusion.parallelism", "discrimination.paired_probe",
    "discrimination.loyalty_premium", "complaints.rate_posterior", "complaints.untimely_response",
    "complaints.surge", "integrity.concentrate_rate", "integrity.rating_burst",
    "integrity.answer_latency", "integrity.buyer_concentration",
    "competition.exclusive_dealing", "advertising.absolute_terms", "quality.failed_sample_on_sale",
]
FLAG_COLS = ["indicator_id", "shop_id", "sku_id", "region_code", "window_start", "window_end", "entity_id",
             "platform", "entity_type"]


def _truth_dir(truth: Path) -> Path:
    truth = Path(truth)
    return truth.parent if truth.is_file() else truth


def _read_mart(home: Path, mart: str) -> tuple[pa.Table | None, str | None]:
    tables, day = [], None
    for f in Home(Path(home)).partition_files(mart):
        day = f.parent.name[len(PARTITION_PREFIX):]
        t = pq.read_table(f)
        t = t.append_column("_dt", pa.array([day] * t.num_rows, pa.string())) \
            if "_dt" not in t.column_names else t
        tables.append(t)
    if not tables:
        return None, None
    return pa.concat_tables(tables, promote_options="permissive"), day


def _date(v) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def _s(v) -> str:
    return "" if v is None else str(v)


def _flag_rows(table: pa.Table | None) -> list[dict]:
    if table is None:
        return []
    cols = {c: table.column(c).to_pylist() if c in table.column_names else [None] * table.num_rows
            for c in FLAG_COLS}
    return [{c: cols[c][i] for c in FLAG_COLS} for i in range(table.num_rows)]


def _platform_row(row: dict) -> bool:
    """A planted row on a whole platform (competition.exclusive_dealing): platform set, no shop, SKU or region."""
    return bool(row["platform"]) and not (row["shop_id"] or row["sku_id"] or row["region_code"])


def _platform_flag(flag: dict) -> str | None:
    """The platform of a platform-entity flag (entity_type `platform`, entity_id `<platform>:<YYYY-MM>`), else None."""
    plat = _s(flag.get("platform"))
    if _s(flag.get("entity_type")) == "platform":
        return plat or str(flag.get("entity_id") or "").split(":")[0]
    if plat and not (_s(flag["shop_id"]) or _s(flag["sku_id"]) or _s(flag["region_code"])) \
            and str(flag.get("entity_id") or "").split(":")[0] == plat:
        return plat
    return None


def _flag_cell(flag: dict) -> tuple[str, str]:
    """The market cell (sku_id, region_code) of a flag: its columns, else its entity id `<sku>:<region>`."""
    sku, reg = _s(flag["sku_id"]), _s(flag["region_code"])
    if not sku and flag.get("entity_id"):
        parts = str(flag["entity_id"]).split(":")
        sku, reg = parts[0], parts[1] if len(parts) > 1 else ""
    return sku, reg


def _matches(flag: dict, row: dict) -> bool:
    if _platform_row(row):
        if _platform_flag(flag) != row["platform"]:
            return False
    elif row["shop_id"]:
        if _s(flag["shop_id"]) != row["shop_id"]:
            return False
        if row["sku_id"] and _s(flag["sku_id"]) and _s(flag["sku_id"]) != row["sku_id"]:
            return False
    else:
        if _flag_cell(flag) != (row["sku_id"], row["region_code"]):
            return False
    ws = _date(flag["window_start"]) or _date(flag["window_end"])
    we = _date(flag["window_end"]) or ws
    if ws is None:
        return True
    return ws <= row["last"] and we >= row["first"]


def _row_key(row: dict) -> tuple:
    """The entity key _matches compares first for a planted row: its platform, shop or market cell."""
    if _platform_row(row):
        return ("platform", row["platform"])
    if row["shop_id"]:
        return ("shop", row["shop_id"])
    return ("cell", row["sku_id"], row["region_code"])


def _flag_keys(flag: dict) -> list[tuple]:
    """Every row key (_row_key) a flag could match: its platform, its shop, its cell (as _matches reads them)."""
    keys = [("shop", _s(flag["shop_id"]))]
    plat = _platform_flag(flag)
    if plat is not None:
        keys.append(("platform", plat))
    keys.append(("cell", *_flag_cell(flag)))
    return keys


def evaluate(home: Path, truth: Path) -> dict:
    tdir = _truth_dir(truth)
    with open(tdir / "ground_truth.csv", encoding="utf-8") as fh:
        truth_rows = [dict(r) for r in csv.DictReader(fh)]
    for r in truth_rows:
        r["first"] = _date(r["first_date"])
        r["last"] = _date(r["last_date"])
    planted_shops = {r["shop_id"] for r in truth_rows if r["shop_id"]}
    planted_cells = {(r["sku_id"], r["region_code"]) for r in truth_rows if not r["shop_id"]}
    planted_platforms = {r["platform"] for r in truth_rows if _platform_row(r)}
    flags_table, _ = _read_mart(home, "indicator_flags")
    flags = _flag_rows(flags_table)
    ids = list(INDICATOR_IDS) + sorted({f["indicator_id"] for f in flags} - set(INDICATOR_IDS))
    per: dict[str, dict] = {}
    for ind in ids:
        rows = [r for r in truth_rows if r["indicator_id"] == ind]
        fl = [f for f in flags if f["indicator_id"] == ind]
        # a flag can only match a row with its entity key (_matches compares that first): pair them through the
        # key instead of every flag with every row (a clean or power province has thousands of each)
        flags_by_key: dict[tuple, list[dict]] = {}
        for f in fl:
            for key in _flag_keys(f):
                flags_by_key.setdefault(key, []).append(f)
        matched_flags: set[int] = set()
        for r in rows:
            hits = [f for f in flags_by_key.get(_row_key(r), ()) if _matches(f, r)]
            r["detected"] = bool(hits)
            matched_flags.update(id(f) for f in hits)
        detected = sum(1 for r in rows if r["detected"])
        matched = len(matched_flags)

        def clean(f):
            if _platform_flag(f) is not None:
                return _platform_flag(f) not in planted_platforms
            if _s(f["shop_id"]):
                return _s(f["shop_id"]) not in planted_shops
            return _flag_cell(f) not in planted_cells
        per[ind] = {
            "planted": len(rows), "detected": detected,
            "recall": (detected / len(rows)) if rows else None,
            "flags": len(fl), "matched_flags": matched,
            "false_flags_on_clean": sum(1 for f in fl if clean(f)),
            "precision": (matched / len(fl)) if fl else None,
        }
    # tiers
    tiers_table, latest = _read_mart(home, "merchant_credit_tiers")
    expected = []
    exp_path = tdir / "expected_tiers.csv"
    if exp_path.exists():
        with open(exp_path, encoding="utf-8") as fh:
            expected = [dict(r) for r in csv.DictReader(fh)]
    published = {}
    if tiers_table is not None:
        dts = tiers_table.column("_dt").to_pylist()
        for u, t, d in zip(tiers_table.column("uscc").to_pylist(), tiers_table.column("tier").to_pylist(), dts):
            if d == latest:
                published[u] = t
    equal = sum(1 for r in expected if published.get(r["uscc"]) == r["expected_tier"])
    tier = {"enterprises": len(expected), "published": len(published), "equal": equal,
            "accuracy": (equal / len(expected)) if expected and tiers_table is not None else None,
            "latest_dt": latest}
    out = {"indicators": per, "tiers": tier, "pii_leaks": scan_pii(home, tdir / "planted_pii.txt"),
           "flags_total": len(flags)}
    if (tdir / "power_truth.csv").exists():
        out["power"] = power_table(truth_rows, tdir / "power_truth.csv", not_judged_rows(home, truth_rows))
    return out


TRUTH_KEY = ("indicator_id", "shop_id", "sku_id", "region_code", "first_date", "last_date")
POWER_KEYS = ("planted", "detected", "not_judged")

# A missed plant whose published mart row says the rule could not be applied to it: (mart, why, test of a row of the
# plant's listing dated inside its window). The tests read only published columns, as an analyst would.
NOT_JUDGED = {
    "price.phantom_reference": (
        "price_anomalies", "insufficient history (reference_history_status)",
        lambda r, need: r.get("reference_history_status") in ("insufficient_history", "short_history")),
    "price.pre_promo_runup": (
        "price_anomalies", "no baseline before the run-up window (runup_baseline_median empty)",
        lambda r, need: r.get("runup_promo_start") is not None and r.get("runup_baseline_median") is None),
    "price.sustained_below_market": (
        "price_anomalies", "fewer days with enough peers than the rule's share needs (days_with_peers_28d)",
        lambda r, need: r.get("days_with_peers_28d") is not None and r["days_with_peers_28d"] < need),
    "complaints.untimely_response": (
        "complaint_rates", "too few answers to judge a late share at the threshold (untimely_judgement_status)",
        lambda r, need: r.get("untimely_judgement_status") in ("insufficient_complaints", "few_complaints")),
}


def _below_days_needed() -> int:
    """Days below the peer P10 the below-market rule needs in its window: ceil(below_share_threshold x window_days)."""
    spec = "price/sustained_below_market"
    return math.ceil(indicator_value(spec, "below_share_threshold") * indicator_value(spec, "window_days") - 1e-9)


def not_judged_rows(home: Path, rows: list[dict]) -> set[int]:
    """Indexes of the missed `rows` (truth rows with "detected") whose published mart shows the rule could not be
    applied to them (NOT_JUDGED)."""
    wanted = [i for i, r in enumerate(rows) if not r.get("detected") and r["indicator_id"] in NOT_JUDGED]
    if not wanted:
        return set()
    out: set[int] = set()
    need = _below_days_needed()
    by_mart: dict[str, list[int]] = {}
    for i in wanted:
        by_mart.setdefault(NOT_JUDGED[rows[i]["indicator_id"]][0], []).append(i)
    for mart, idx in by_mart.items():
        table, _ = _read_mart(home, mart)
        if table is None:
            continue
        cols = [c for c in ("shop_id", "sku_id", "_dt", "reference_history_status", "runup_promo_start",
                            "runup_baseline_median", "days_with_peers_28d", "untimely_judgement_status")
                if c in table.column_names]
        listing: dict[tuple[str, str], list[dict]] = {}
        for rec in table.select(cols).to_pylist():
            listing.setdefault((_s(rec["shop_id"]), _s(rec.get("sku_id"))), []).append(rec)   # merchant marts: no SKU
        for i in idx:
            r = rows[i]
            test = NOT_JUDGED[r["indicator_id"]][2]
            if any(r["first"] <= _date(rec["_dt"]) <= r["last"] and test(rec, need)
                   for rec in listing.get((r["shop_id"], r["sku_id"]), [])):
                out.add(i)
    return out


def _strength_key(kv):
    return (kv[0][0], kv[0][2], float(kv[0][1]))


def power_table(truth_rows: list[dict], power_truth: Path, not_judged: set[int] = frozenset()) -> dict:
    """{(indicator_id, strength, context): {"planted": n, "detected": k, "not_judged": j}} for the truth rows
    power_truth.csv gives a strength (rows matched on indicator, shop, sku, region and dates; `truth_rows` carry
    "detected"; `not_judged` = indexes of truth rows not_judged_rows found)."""
    with open(power_truth, encoding="utf-8") as fh:
        labels = {tuple(r[k] for k in TRUTH_KEY): (r["strength"], r["context"]) for r in csv.DictReader(fh)}
    table: dict[tuple[str, str, str], dict] = {}
    for i, r in enumerate(truth_rows):
        strength, context = labels.get(tuple(r[k] for k in TRUTH_KEY), ("", ""))
        if not strength:
            continue
        cell = table.setdefault((r["indicator_id"], strength, context), dict.fromkeys(POWER_KEYS, 0))
        cell["planted"] += 1
        cell["detected"] += int(bool(r.get("detected")))
        cell["not_judged"] += int(i in not_judged)
    return dict(sorted(table.items(), key=_strength_key))


def merge_power(tables: list[dict]) -> dict[tuple[str, str, str], dict]:
    """Sum several evaluations' power tables (one power province per context, or several seeds)."""
    out: dict[tuple[str, str, str], dict] = {}
    for t in tables:
        for k, v in t.get("power", {}).items():
            cell = out.setdefault(k, dict.fromkeys(POWER_KEYS, 0))
            for key in POWER_KEYS:
                cell[key] += v.get(key, 0)
    return dict(sorted(out.items(), key=_strength_key))


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exactly."""
    return sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided `level` confidence interval of a binomial rate k / n: the lower bound is the
    p with P(X >= k | p) = (1 - level) / 2 (0 when k = 0), the upper the p with P(X <= k | p) = (1 - level) / 2 (1 when
    k = n); found by bisection on the exact tail. (0, 1) when n = 0."""
    if not 0 <= k <= n:
        raise ValueError(f"clopper_pearson: need 0 <= k <= n, got k={k}, n={n}")
    a = (1 - level) / 2

    def solve(f) -> float:   # f increasing in p
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < a else (lo, mid)
        return (lo + hi) / 2
    lower = 0.0 if k == 0 else solve(lambda p: _binom_sf(k, n, p))
    upper = 1.0 if k == n else 1 - solve(lambda q: _binom_sf(n - k, n, q))
    return lower, upper


def format_power(power: dict[tuple[str, str, str], dict]) -> str:
    """Detection by indicator x context (rows) and strength (columns): detected/planted, with the plants the mart
    reports as not judgeable in brackets (d/n [j])."""
    strengths = sorted({k[1] for k in power}, key=float)
    lines = [f"{'indicator_id':34} {'context':12} " + " ".join(f"{s + 'x':>9}" for s in strengths)]
    rows: dict[tuple[str, str], dict] = {}
    for (ind, s, ctx), v in power.items():
        rows.setdefault((ind, ctx), {})[s] = v

    def cell(v):
        text = f"{v['detected']}/{v['planted']}"
        return text + (f" [{v['not_judged']}]" if v.get("not_judged") else "")
    for (ind, ctx), cells in rows.items():
        lines.append(f"{ind:34} {ctx:12} " + " ".join(
            f"{cell(cells[s]) if s in cells else '-':>9}" for s in strengths))
    return "\n".join(lines)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", s))


def scan_pii(home: Path, pii_file: Path) -> list[tuple[str, str]]:
    if not Path(pii_file).exists():
        return []
    values = [v for v in Path(pii_file).read_text(encoding="utf-8").splitlines() if v.strip()]
    home = Home(Path(home))
    texts: list[tuple[str, str]] = []
    for root in (home.marts, home.reports):
        if not root.exists():
            continue
        for f in sorted(root.rglob("*")):
            if not f.is_file():
                continue
            if f.suffix == ".parquet":
                t = pq.read_table(f)
                chunks = []
                for name in t.column_names:
                    col = t.column(name)
                    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                        chunks.extend(v for v in col.to_pylist() if v)
                texts.append((str(f.relative_to(home.root)), "\n".join(chunks)))
            elif f.suffix in (".html", ".json", ".csv", ".txt", ".md"):
                texts.append((str(f.relative_to(home.root)), f.read_text(encoding="utf-8", errors="replace")))
    leaks = []
    forms = [(v, unicodedata.normalize("NFKC", v), _digits(v)) for v in values]
    for name, text in texts:
        folded = unicodedata.normalize("NFKC", text)
        # digit runs, allowing the space/hyphen separators used to split phone numbers; joined by a line break
        # (not a digit), so that a digit string is in the joined text exactly when it is inside one run
        runs = "\n".join(re.sub(r"[ \-]", "", m) for m in re.findall(r"\d[\d \-]{9,}\d", folded))
        for v, nfkc, dv in forms:
            if v in text or nfkc in folded or (len(dv) >= 11 and dv in runs):
                leaks.append((name, v))
    return leaks


def format_evaluation(table: dict) -> str:
    def pct(x):
        return "   -  " if x is None else f"{100 * x:5.1f}%"
    lines = [f"{'indicator_id':34} {'planted':>7} {'detected':>8} {'recall':>7} {'flags':>6} "
             f"{'clean_fp':>8} {'precision':>9}"]
    for ind, r in table["indicators"].items():
        lines.append(f"{ind:34} {r['planted']:7d} {r['detected']:8d} {pct(r['recall']):>7} {r['flags']:6d} "
                     f"{r['false_flags_on_clean']:8d} {pct(r['precision']):>9}")
    t = table["tiers"]
    lines.append("")
    lines.append(f"tiers: {t['equal']}/{t['enterprises']} equal ({pct(t['accuracy']).strip()}), "
                 f"latest dt {t['latest_dt'] or '-'}")
    leaks = table["pii_leaks"]
    lines.append(f"pii leaks: {len(leaks)}" + "".join(f"\n  {f}: {v}" for f, v in leaks[:20]))
    if table.get("power"):
        lines += ["", "power (detected/planted by strength x threshold):", format_power(table["power"])]
    return "\n".join(lines)
