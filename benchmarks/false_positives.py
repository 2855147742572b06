"""False positives on clean markets (docs/ACCURACY.md, "False positives on clean markets"; issue 20 item 2).

    python -m benchmarks.false_positives [--ids ID ...] [--jobs 2] [--seeds 1 2 3] [--days 14] [--scale 0.1]
                                         [--wide-seeds 1 2 3] [--wide-scale 2.0] [--history-days 75]
                                         [--stages compute|all] [--real DIR] [--parts clean wide olist cfpb]
                                         [--work DIR] [--markdown FILE] [--no-docs]

Four parts, run as independent tasks on `--jobs` worker processes (2: the machine's cores), each with its own
DuckDB connection reused for every run date:

- **clean**: for every seed, `pipelines.generate.generate(..., clean=True)` writes the generator's province with the
  same world, campaigns (the 双11 run-in and peak) and background behaviour but no planted anomaly (ground_truth.csv
  is empty) into a fresh home; every day is ingested by the daily pipeline's own stage (`pipelines.run.daily.ingest`)
  and then every indicator of the catalogue is run for the day (`indicators.compute.run_indicator`, what
  `compute_day` runs for each indicator; the marts `compute_day` also builds are skipped: no indicator reads them,
  and the gate and publish can only withhold a partition, never add a flag). `--stages all` runs the whole
  `run_day` instead (gate, publish and bulletin included) and reports the published flag rows and any withheld
  partition. Every flag on a clean province is a false positive.
- **wide**: the shop- and merchant-level ids (`integrity.*`, `complaints.*`) have one unit per shop, ~90 in a
  scale-0.1 province, so three such provinces give only ~120 shop-months (a bound of 24 per 1,000). The wide part
  generates clean provinces at `--wide-scale` (~700 shops per unit of scale), ingests only the sources those ids read
  (orders and reviews, 12315 complaints, the register: `WIDE_SOURCES`, checked against the ids' lineage) and runs
  only those ids, over the same 14 days (campaign inside). Same generator, same rules, more shops.
- **olist / cfpb**: the real public data (REAL = ../shared/data/real beside the checkout): Olist orders and reviews
  (integrity.* and discrimination.loyalty_premium, the indicators that read orders and reviews) and the CFPB
  complaints sample (complaints.surge and complaints.untimely_response), each laid into a temporary home's landing
  folder (one drop carrying the whole file), ingested by the product's ingest, re-dated to the day of each event,
  and the applicable indicators run for every date of the data span with activity. Nothing of the real data is
  written outside the temporary home. Not applicable: complaints.rate_posterior on CFPB (a rate per order: CFPB rows
  carry no orders, so its exposure gate never opens and it cannot flag) and on Olist (no complaints); UCI Online
  Retail (no indicator reads it); the CyBPP scraped prices (EUR: the price and collusion rules judge CNY prices
  only; tried, 0 rows judged).

The rate, per indicator id (`fp_rates`):
    flagged entity-months / clean entity-months x 1,000
- the entity is the indicator's unit (`UNITS`, `unit_of`): a LISTING (shop x SKU) for the price ids and the
  discrimination ids (promotion, listing and listing-day flags all count against their listing); a CELL (SKU x
  region) for the collusion ids; a SHOP (seller) for the integrity ids; a MERCHANT (shop, else enterprise or CFPB
  company) for the complaint ids; a PLATFORM for competition.exclusive_dealing (its lead is about the platform the
  merchants kept); a TITLED LISTING (a listing observed with a title) for advertising.absolute_terms; a
  SAMPLED-PRODUCT LISTING (a listing offered after a quality-sampling result for its SKU was published, whatever
  the result) for quality.failed_sample_on_sale;
- flagged entity-months = distinct (entity, calendar month of the run date) with at least one flag in the window
  (a standing lead repeated on every day counts once a month: it is one false alarm, read once);
- clean entity-months = for every calendar month, the entities active in it (`POPULATION_SQL`) times the share of
  that month the window covers;
- upper95 = the one-sided 95 % Poisson upper bound of the flagged count over the same entity-months (with 0
  flags: 3.0 / entity-months x 1,000, the resolution of the run);
- judged = distinct entities the indicator actually scored in the window (rows of its work table): fewer than
  the population when its minimum data is not met (e.g. a 28-day window).
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import math
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from indicators.compute import create_macros, run_indicator
from indicators.registry import Indicator, load_catalogue, load_overrides
from pipelines.core.home import Home
from pipelines.ingest import ingest_day
from warehouse.migrate import apply_migrations

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"
DOC = REPO / "docs" / "ACCURACY.md"
BEGIN, END = "<!-- fp:begin (generated by `make false-positives` / `make accuracy`) -->", "<!-- fp:end -->"
CLEAN_START = dt.date(2026, 10, 29)   # the bundled sample's start: the 双11 run-in from 11-01, the peak 11-10/11-11
TARGET_PER_1000 = 1.0
PARTS = ("clean", "wide", "olist", "cfpb")

UNITS = {"listings": "listing (shop x SKU)", "cells": "cell (SKU x region)", "shops": "shop (seller)",
         "merchants": "merchant (shop, else enterprise / CFPB company)", "platforms": "platform",
         "titled_listings": "listing with a title", "sampled_listings": "listing of a sampled product"}

# the families the wide part measures, and the sources they read (the lineage check is in tests/accuracy)
WIDE_FAMILIES = ("integrity", "complaints")
WIDE_SOURCES = ["olist", "complaints_12315", "registry"]

# the entity a flag or a judged row counts against (columns every indicator's work table has)
ENTITY_KEY = """CASE
    WHEN entity_type = 'market_cell' THEN coalesce(sku_id, split_part(entity_id, ':', 1)) || ':' ||
                                          coalesce(region_code, split_part(entity_id, ':', 2), '')
    WHEN entity_type IN ('promotion', 'listing', 'listing_day') THEN coalesce(shop_id, '') || ':' || coalesce(sku_id, '')
    WHEN entity_type = 'platform' THEN split_part(entity_id, ':', 1)
    ELSE coalesce(shop_id, entity_id) END"""

# active entities per calendar month of [$first, $last], per unit (the denominators)
POPULATION_SQL = {
    "listings": """
        SELECT m, count(DISTINCT k) FROM (
            SELECT date_trunc('month', observed_date) AS m, shop_id || ':' || sku_id AS k
            FROM staging.price_observations WHERE observed_date BETWEEN $first AND $last
            UNION ALL
            SELECT date_trunc('month', o.order_purchase_timestamp::DATE), i.seller_id || ':' || i.product_id
            FROM staging.olist_order_items AS i JOIN staging.olist_orders AS o USING (order_id)
            WHERE o.order_purchase_timestamp::DATE BETWEEN $first AND $last)
        GROUP BY m""",
    "cells": """
        SELECT m, count(*) FROM (
            SELECT date_trunc('month', observed_date) AS m, sku_id, coalesce(region_code, '')
            FROM staging.price_observations WHERE observed_date BETWEEN $first AND $last
            GROUP BY ALL HAVING count(DISTINCT shop_id) >= 2)
        GROUP BY m""",
    "shops": """
        SELECT m, count(DISTINCT k) FROM (
            SELECT date_trunc('month', o.order_purchase_timestamp::DATE) AS m, i.seller_id AS k
            FROM staging.olist_order_items AS i JOIN staging.olist_orders AS o USING (order_id)
            WHERE o.order_purchase_timestamp::DATE BETWEEN $first AND $last
            UNION ALL
            SELECT date_trunc('month', r.review_answer_timestamp::DATE), i.seller_id
            FROM staging.olist_order_items AS i JOIN staging.olist_order_reviews AS r USING (order_id)
            WHERE r.review_answer_timestamp::DATE BETWEEN $first AND $last)
        GROUP BY m""",
    "merchants": """
        SELECT m, count(DISTINCT k) FROM (
            SELECT date_trunc('month', o.order_purchase_timestamp::DATE) AS m, i.seller_id AS k
            FROM staging.olist_order_items AS i JOIN staging.olist_orders AS o USING (order_id)
            WHERE o.order_purchase_timestamp::DATE BETWEEN $first AND $last
            UNION ALL
            SELECT date_trunc('month', registered_date),
                   coalesce(nullif(trim(shop_id), ''), respondent_uscc, 'unattributed')
            FROM staging.complaints_12315 WHERE registered_date BETWEEN $first AND $last
            UNION ALL
            SELECT date_trunc('month', date_received), company
            FROM staging.cfpb_complaints WHERE date_received BETWEEN $first AND $last)
        GROUP BY m""",
    # competition.exclusive_dealing: a lead names the platform the merchants kept; every platform the price feed
    # observed in the month is one the rule tests that month
    "platforms": """
        SELECT m, count(DISTINCT platform) FROM (
            SELECT date_trunc('month', observed_date) AS m, platform
            FROM staging.price_observations WHERE observed_date BETWEEN $first AND $last)
        GROUP BY m""",
    # advertising.absolute_terms reads the title (product_name): a listing without one cannot be judged
    "titled_listings": """
        SELECT m, count(DISTINCT k) FROM (
            SELECT date_trunc('month', observed_date) AS m, shop_id || ':' || sku_id AS k
            FROM staging.price_observations
            WHERE observed_date BETWEEN $first AND $last AND nullif(trim(product_name), '') IS NOT NULL)
        GROUP BY m""",
    # quality.failed_sample_on_sale can only flag a listing of a product a sampling result names, on a day after
    # that result's publication (within the rule's 180-day lookback): the listings at risk are those of a sampled
    # SKU offered after a result for it was published, whatever the result (a clean market's results pass). Records
    # matched by name and model (no 商品编号) are not counted here: a smaller denominator, a conservative rate.
    "sampled_listings": """
        SELECT m, count(DISTINCT k) FROM (
            SELECT date_trunc('month', o.observed_date) AS m, o.shop_id || ':' || o.sku_id AS k
            FROM staging.price_observations AS o
            JOIN staging.quality_sampling AS s ON o.sku_id = nullif(trim(s.sku_id), '')
            WHERE o.observed_date BETWEEN $first AND $last
              AND o.observed_date > s.published_date AND s.published_date > o.observed_date - 180)
        GROUP BY m""",
}


def unit_of(ind: Indicator) -> str:
    """The entity an indicator's false positives are counted against."""
    if ind.family == "complaints":
        return "merchants"
    if ind.family == "integrity":
        return "shops"
    if ind.entity_type == "market_cell":
        return "cells"
    if ind.entity_type == "platform":
        return "platforms"
    if ind.family == "advertising":
        return "titled_listings"
    if ind.family == "quality":
        return "sampled_listings"
    return "listings"


@dataclass
class Collected:
    """What a run saw, per indicator id: flags (one dict per flag row) and judged entities (keys)."""

    ids: list[str]
    units: dict[str, str]
    flags: list[dict] = field(default_factory=list)
    judged: dict[str, set] = field(default_factory=dict)
    days: list[dt.date] = field(default_factory=list)

    def merge(self, other: Collected) -> None:
        self.flags += other.flags
        for k, v in other.judged.items():
            self.judged.setdefault(k, set()).update(v)
        for i in other.ids:
            if i not in self.ids:
                self.ids.append(i)
                self.units[i] = other.units[i]


def _union(catalogue: list[Indicator], columns: str, where: str = "") -> tuple[str, dict]:
    parts, values = [], {}
    for n, ind in enumerate(catalogue):
        values[f"id_{n}"] = ind.id
        parts.append(f"SELECT $id_{n} AS indicator_id, {columns} FROM work.\"{ind.work_table}\" {where}")  # noqa: S608 - table names from the indicator catalogue
    return " UNION ALL ".join(parts), values


def _ensure_collect_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE IF NOT EXISTS fp_judged (indicator_id VARCHAR, k VARCHAR, PRIMARY KEY (indicator_id, k))")
    con.execute("CREATE TEMP TABLE IF NOT EXISTS fp_flags (indicator_id VARCHAR, k VARCHAR, month DATE, dt DATE, "
                "entity_type VARCHAR, entity_id VARCHAR, shop_id VARCHAR, sku_id VARCHAR, region_code VARCHAR, "
                "value DOUBLE, threshold DOUBLE, window_start DATE, window_end DATE, evidence VARCHAR)")


def collect_day(con: duckdb.DuckDBPyConnection, catalogue: list[Indicator], run_date: dt.date, got: Collected | None = None,
                tag: str = "") -> None:
    """After the indicators of `run_date` ran: append their judged entities and flagged rows to this connection's
    collect tables, two statements for the whole catalogue (read once by `collected`). With `got`, read back at
    once (the behaviour tests use)."""
    _ensure_collect_tables(con)
    present = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'work'").fetchall()}
    catalogue = [i for i in catalogue if i.work_table in present]
    if not catalogue:
        return
    union, values = _union(catalogue, f"$tag || ({ENTITY_KEY}) AS k")
    con.execute(f"INSERT OR IGNORE INTO fp_judged SELECT DISTINCT indicator_id, k FROM ({union})",  # noqa: S608 - built from the catalogue
                values | {"tag": tag})
    union, values = _union(catalogue, f"$tag || ({ENTITY_KEY}) AS k, entity_type, entity_id, shop_id, sku_id, "
                           "region_code, value::DOUBLE, threshold::DOUBLE, window_start::DATE, window_end::DATE, "
                           "evidence::VARCHAR", "WHERE flagged")
    con.execute(f"INSERT INTO fp_flags SELECT indicator_id, k, date_trunc('month', $d::DATE)::DATE, $d::DATE, "  # noqa: S608 - built from the catalogue
                f"* EXCLUDE (indicator_id, k) FROM ({union})", values | {"tag": tag, "d": run_date})
    if got is not None:
        got.days.append(run_date)
        fresh = collected(con, got.ids, got.units)
        con.execute("DELETE FROM fp_flags")
        got.merge(fresh)


def collected(con: duckdb.DuckDBPyConnection, ids: list[str], units: dict[str, str]) -> Collected:
    """What the collect tables of this connection hold."""
    _ensure_collect_tables(con)
    got = Collected(ids=list(ids), units=dict(units))
    for ind_id, k in con.execute("SELECT indicator_id, k FROM fp_judged").fetchall():
        got.judged.setdefault(ind_id, set()).add(k)
    cur = con.execute("SELECT * FROM fp_flags ORDER BY indicator_id, dt, entity_id")
    names = [c[0] for c in cur.description]
    for row in cur.fetchall():
        f = dict(zip(names, row, strict=True))
        f["key"] = f.pop("k")
        f["tag"] = f["key"].split("|", 1)[0] + "|" if "|" in f["key"] else ""
        got.flags.append(f)
    return got


def population(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date,
               units: set[str] | None = None) -> dict[str, float]:
    """Clean entity-months per unit over [first, last]: active entities per month x share of the month covered."""
    out = {}
    for unit, sql in POPULATION_SQL.items():
        if units is not None and unit not in units:
            continue
        total = 0.0
        for m, n in con.execute(sql, {"first": first, "last": last}).fetchall():
            m = m.date() if isinstance(m, dt.datetime) else m
            dim = calendar.monthrange(m.year, m.month)[1]
            lo, hi = max(first, m), min(last, m.replace(day=dim))
            total += n * ((hi - lo).days + 1) / dim
        out[unit] = total
    return out


def poisson_upper95(k: int) -> float:
    """One-sided 95 % upper confidence bound of a Poisson mean after observing k events (exact, by bisection)."""
    def cdf(lam):
        term = total = math.exp(-lam)
        for i in range(1, k + 1):
            term *= lam / i
            total += term
        return total
    lo, hi = 0.0, 10.0 + 3 * k
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > 0.05 else (lo, mid)
    return hi


def fp_rates(got: Collected, entity_months: dict[str, float]) -> list[dict]:
    """Per indicator id: flag rows, flagged entity-months, clean entity-months, rate and upper bound per 1,000."""
    table = []
    for ind_id in got.ids:
        unit = got.units[ind_id]
        fl = [f for f in got.flags if f["indicator_id"] == ind_id]
        flagged = len({(f["key"], f["month"]) for f in fl})
        em = entity_months.get(unit, 0.0)
        judged = got.judged.get(ind_id, set())
        table.append({
            "indicator_id": ind_id, "unit": unit, "flag_rows": len(fl), "flagged_entity_months": flagged,
            "entity_months": round(em, 1), "judged_entities": len(judged),
            "rate_per_1000": (1000 * flagged / em) if em else None,
            "upper95_per_1000": (1000 * poisson_upper95(flagged) / em) if em else None,
        })
    return table


def _catalogue(ids: list[str] | None = None) -> list[Indicator]:
    return [i for i in load_catalogue() if ids is None or i.id in ids]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _threads(con: duckdb.DuckDBPyConnection) -> None:
    """One worker process per core: each connection then uses the threads its share of the machine has."""
    con.execute("SET enable_progress_bar = false")
    n = os.environ.get("FP_THREADS")
    if n:
        con.execute(f"SET threads = {int(n)}")


# --------------------------------------------------------------------------- clean provinces

def _run_ids(con, catalogue: list[Indicator], d: dt.date, overrides: dict | None = None) -> None:
    for ind in catalogue:
        run_indicator(con, ind, d, overrides or {})


def run_clean_seed(root: Path, seed: int, days: int, scale: float, history_days: int, stages: str,
                   start: dt.date = CLEAN_START, log=print, ids: list[str] | None = None,
                   catalogue: list[Indicator] | None = None) -> tuple[Collected, dict, dict]:
    """Generate a clean province into ROOT, run its days, return what was collected, entity-months and notes."""
    from pipelines.generate import generate
    from pipelines.run import daily
    from warehouse.db import connect_writer

    t0, c0 = time.perf_counter(), _cpu()
    summary = generate(root, start, days, scale=scale, seed=seed, clean=True, history_days=history_days)
    if summary["ground_truth_rows"] != 0:
        raise RuntimeError(f"clean province of seed {seed} has {summary['ground_truth_rows']} planted rows")
    notes = {"part": "clean", "seed": seed, "shops": summary["shops"], "generate_s": round(time.perf_counter() - t0, 1),
             "withheld": [], "published_flags": None}
    catalogue = _catalogue(ids) if catalogue is None else catalogue
    home = Home(root)
    home.ensure()
    overrides = load_overrides(home.config_file)
    con = connect_writer(home.db_path)
    _threads(con)
    tag = f"s{seed}|"
    try:
        for i in range(days):
            d = start + dt.timedelta(days=i)
            t1 = time.perf_counter()
            if stages == "all":
                result = daily.run_day(home, d, con=con)
                blocked = getattr(result.publish, "blocked", None) or {}
                for mart in blocked:
                    notes["withheld"].append(f"{d} {mart}")
            else:
                run_id = daily.new_run_id(d)
                daily.ingest(home, d, run_id, con=con)
                create_macros(con)
                _run_ids(con, catalogue, d, overrides)
            collect_day(con, catalogue, d, tag=tag)
            log(f"  clean seed {seed} {d}: {time.perf_counter() - t1:.1f} s")
        got = collected(con, [i.id for i in catalogue], {i.id: unit_of(i) for i in catalogue})
        got.days = [start + dt.timedelta(days=i) for i in range(days)]
        em = population(con, start, start + dt.timedelta(days=days - 1), {unit_of(i) for i in catalogue})
    finally:
        con.close()
    if stages == "all":
        notes["published_flags"] = _published_flag_count(home)
    notes["seconds"] = round(time.perf_counter() - t0, 1)
    notes["cpu_s"] = round(_cpu() - c0, 1)
    return got, em, notes


def run_wide_seed(root: Path, seed: int, days: int, scale: float, history_days: int,
                  start: dt.date = CLEAN_START, log=print, ids: list[str] | None = None,
                  catalogue: list[Indicator] | None = None) -> tuple[Collected, dict, dict]:
    """A clean province at a larger scale for the shop- and merchant-level ids only (WIDE_FAMILIES): only the
    sources they read are ingested (`ingest_day(..., sources=WIDE_SOURCES)`, day by day as the daily stage does)."""
    from pipelines.generate import generate

    t0, c0 = time.perf_counter(), _cpu()
    summary = generate(root, start, days, scale=scale, seed=seed, clean=True, history_days=history_days)
    if summary["ground_truth_rows"] != 0:
        raise RuntimeError(f"clean province of seed {seed} has {summary['ground_truth_rows']} planted rows")
    # the price feed is not read by these ids: drop it before the ingest (it is most of the province's bytes)
    shutil.rmtree(root / "landing" / "price_observations", ignore_errors=True)
    notes = {"part": "wide", "seed": seed, "shops": summary["shops"], "scale": scale,
             "generate_s": round(time.perf_counter() - t0, 1), "withheld": [], "published_flags": None}
    catalogue = [i for i in (_catalogue(ids) if catalogue is None else catalogue) if i.family in WIDE_FAMILIES]
    home = Home(root)
    home.ensure()
    overrides = load_overrides(home.config_file)
    con = duckdb.connect(":memory:")
    _threads(con)
    tag = f"w{seed}|"
    try:
        apply_migrations(con)
        create_macros(con)
        for i in range(days):
            d = start + dt.timedelta(days=i)
            t1 = time.perf_counter()
            ingest_day(con, home, d, sources=WIDE_SOURCES)
            _run_ids(con, catalogue, d, overrides)
            collect_day(con, catalogue, d, tag=tag)
            log(f"  wide seed {seed} {d}: {time.perf_counter() - t1:.1f} s")
        got = collected(con, [i.id for i in catalogue], {i.id: unit_of(i) for i in catalogue})
        got.days = [start + dt.timedelta(days=i) for i in range(days)]
        em = population(con, start, start + dt.timedelta(days=days - 1), {unit_of(i) for i in catalogue})
    finally:
        con.close()
    notes["seconds"] = round(time.perf_counter() - t0, 1)
    notes["cpu_s"] = round(_cpu() - c0, 1)
    return got, em, notes


def _published_flag_count(home: Home) -> int:
    import pyarrow.parquet as pq
    return sum(pq.read_metadata(f).num_rows for f in home.partition_files("indicator_flags"))


# --------------------------------------------------------------------------- real data

def _real_home(kind: str, work: Path | None) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"fp_{kind}_", dir=work))


def _run_indicators(con, catalogue: list[Indicator], days: list[dt.date], tag: str) -> None:
    create_macros(con)
    for d in days:
        _run_ids(con, catalogue, d)
        collect_day(con, catalogue, d, tag=tag)


# The real extracts are one file each; the product reads every table "as loaded by D" (the macros' `_business_date
# <= D`), so one drop dated after the data would leave every earlier run date empty, and a drop per day of two
# years would take longer than the whole measurement. After the real ingest, each row is dated as if it had been
# delivered on the day of its event (the day a daily feed would have carried it): an order and its items, payments
# and customer on the purchase date, a review on the day it was answered, a CFPB complaint on its date received;
# products and sellers on the first day. The macros' own event filters (purchased / answered / received by D) are
# unchanged.
REDATE_OLIST = [
    "UPDATE staging.olist_orders SET _business_date = order_purchase_timestamp::DATE",
    "UPDATE staging.olist_order_items AS i SET _business_date = o.order_purchase_timestamp::DATE "
    "FROM staging.olist_orders AS o WHERE o.order_id = i.order_id",
    "UPDATE staging.olist_order_payments AS p SET _business_date = o.order_purchase_timestamp::DATE "
    "FROM staging.olist_orders AS o WHERE o.order_id = p.order_id",
    "UPDATE staging.olist_customers AS c SET _business_date = o.first_day FROM (SELECT customer_id, "
    "min(order_purchase_timestamp)::DATE AS first_day FROM staging.olist_orders GROUP BY 1) AS o "
    "WHERE o.customer_id = c.customer_id",
    "UPDATE staging.olist_order_reviews SET _business_date = review_answer_timestamp::DATE "
    "WHERE review_answer_timestamp IS NOT NULL",
    "UPDATE staging.olist_products SET _business_date = (SELECT min(order_purchase_timestamp)::DATE FROM staging.olist_orders)",
    "UPDATE staging.olist_sellers SET _business_date = (SELECT min(order_purchase_timestamp)::DATE FROM staging.olist_orders)",
]
REDATE_CFPB = ["UPDATE staging.cfpb_complaints SET _business_date = date_received"]

OLIST_IDS = ["discrimination.loyalty_premium", "integrity.concentrate_rate", "integrity.rating_burst",
             "integrity.answer_latency", "integrity.buyer_concentration"]
# complaints.rate_posterior is a rate per order: CFPB rows carry no orders, so its exposure gate never opens and it
# cannot flag a CFPB company; running it would add a zero that measures nothing (and most of the part's time)
CFPB_IDS = ["complaints.untimely_response", "complaints.surge"]
OLIST_DROP = dt.date(2018, 10, 31)
CFPB_DROP = dt.date(2020, 3, 20)


def lay_out(real: Path, home_root: Path) -> Path:
    """The Olist sample (+ the full sellers table) as one drop in `home_root`'s landing folder."""
    landing = home_root / "landing" / "olist" / OLIST_DROP.isoformat()
    landing.mkdir(parents=True, exist_ok=True)
    olist = real / "olist_brazilian_ecommerce"
    for f in sorted((olist / "sample_4000_orders").glob("*.csv")):
        shutil.copyfile(f, landing / f.name)
    shutil.copyfile(olist / "full_small_tables" / "olist_sellers_dataset.csv", landing / "olist_sellers_dataset.csv")
    return landing


def run_real_olist(real: Path, work: Path | None = None, ids: list[str] | None = None,
                   catalogue: list[Indicator] | None = None) -> tuple[Collected, dict, dict]:
    """The Olist sample (+ full sellers table) ingested into a temporary home; the five order/review indicators run
    for every date with an order purchased or a review answered."""
    root = _real_home("olist", work)
    t0, c0 = time.perf_counter(), _cpu()
    catalogue = [i for i in (_catalogue(ids) if catalogue is None else catalogue) if i.id in OLIST_IDS]
    try:
        lay_out(real, root)
        con = duckdb.connect(":memory:")
        _threads(con)
        try:
            apply_migrations(con)
            report = ingest_day(con, Home(root), OLIST_DROP, sources=["olist"])
            for sql in REDATE_OLIST:
                con.execute(sql)
            days = [d for (d,) in con.execute(
                "SELECT DISTINCT d FROM (SELECT order_purchase_timestamp::DATE AS d FROM staging.olist_orders "
                "UNION SELECT review_answer_timestamp::DATE FROM staging.olist_order_reviews) "
                "WHERE d IS NOT NULL AND d <= $drop ORDER BY d", {"drop": OLIST_DROP}).fetchall()]
            _run_indicators(con, catalogue, days, "olist|")
            got = collected(con, [i.id for i in catalogue], {i.id: unit_of(i) for i in catalogue})
            got.days = days
            em = population(con, days[0], days[-1], {unit_of(i) for i in catalogue})
        finally:
            con.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    notes = {"part": "olist", "source": "olist", "ingest_problems": report.problems(), "span": f"{days[0]} … {days[-1]}",
             "run_dates": len(days), "seconds": round(time.perf_counter() - t0, 1), "cpu_s": round(_cpu() - c0, 1)}
    return got, em, notes


def run_real_cfpb(real: Path, work: Path | None = None, ids: list[str] | None = None,
                  catalogue: list[Indicator] | None = None) -> tuple[Collected, dict, dict]:
    """The CFPB sample (its two archive-tool lines cut, as tests/indicators/complaints/test_cfpb_real.py does)
    ingested into a temporary home; the complaint indicators run for every date with a complaint received in the
    sample's main span (from its first month with >= 20 complaints)."""
    root = _real_home("cfpb", work)
    t0, c0 = time.perf_counter(), _cpu()
    catalogue = [i for i in (_catalogue(ids) if catalogue is None else catalogue) if i.id in CFPB_IDS]
    try:
        home = Home(root)
        landing = home.landing_dir("cfpb_complaints", CFPB_DROP)
        landing.mkdir(parents=True)
        lines = (real / "cfpb_consumer_complaints" / "complaints_sample.csv").read_bytes().split(b"\n", 2)
        (landing / "complaints.csv").write_bytes(lines[2])
        con = duckdb.connect(":memory:")
        _threads(con)
        try:
            apply_migrations(con)
            report = ingest_day(con, home, CFPB_DROP, sources=["cfpb_complaints"])
            for sql in REDATE_CFPB:
                con.execute(sql)
            start = con.execute(
                "SELECT min(m) FROM (SELECT date_trunc('month', date_received) AS m FROM staging.cfpb_complaints "
                "GROUP BY 1 HAVING count(*) >= 20)").fetchall()[0][0]
            days = [d for (d,) in con.execute(
                "SELECT DISTINCT date_received FROM staging.cfpb_complaints WHERE date_received >= $s "
                "AND date_received <= $drop ORDER BY 1", {"s": start, "drop": CFPB_DROP}).fetchall()]
            _run_indicators(con, catalogue, days, "cfpb|")
            got = collected(con, [i.id for i in catalogue], {i.id: unit_of(i) for i in catalogue})
            got.days = days
            em = population(con, days[0], days[-1], {unit_of(i) for i in catalogue})
            if any(i.id == "complaints.surge" for i in catalogue):
                _cfpb_context(con, catalogue, got)
        finally:
            con.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    notes = {"part": "cfpb", "source": "cfpb", "ingest_problems": report.problems(), "span": f"{days[0]} … {days[-1]}",
             "run_dates": len(days), "seconds": round(time.perf_counter() - t0, 1), "cpu_s": round(_cpu() - c0, 1)}
    return got, em, notes


def _cfpb_context(con, catalogue: list[Indicator], got: Collected) -> None:
    """Beside each CFPB flag, what the whole extract did: its complaints on the day against its own daily mean over
    the surge baseline, and its overall untimely share (to read a company's figures against the source's)."""
    surge = next(i for i in catalogue if i.id == "complaints.surge").parameters()
    days = int(surge["baseline_days"])
    untimely_all = con.execute("SELECT avg(CASE WHEN NOT timely THEN 1.0 ELSE 0.0 END) FROM staging.cfpb_complaints "
                               "WHERE timely IS NOT NULL").fetchall()[0][0]
    for f in got.flags:
        today, base = con.execute(
            "SELECT count(*) FILTER (WHERE date_received = $d), "
            "count(*) FILTER (WHERE date_received >= $d - $n::INTEGER AND date_received < $d) / $n::DOUBLE "
            "FROM staging.cfpb_complaints", {"d": f["dt"], "n": days}).fetchall()[0]
        f["context"] = {"extract_today": int(today), "extract_per_day_before": float(base),
                        "surge_ratio_threshold": float(surge["surge_ratio_threshold"]),
                        "baseline_days": days, "min_expected": float(surge["min_expected"]),
                        "extract_untimely_share": float(untimely_all or 0)}


def reading(f: dict) -> str:
    """One sentence: is a real-data flag plausible as a lead? Decided from the flag's own evidence and the source's
    behaviour the same day (rules stated in the sentence)."""
    ev = {}
    try:
        ev = json.loads(f.get("evidence") or "{}")
    except ValueError:
        pass
    ctx = f.get("context") or {}
    if f["indicator_id"] == "complaints.surge" and ctx:
        market = ctx["extract_today"] / max(ctx["extract_per_day_before"], 1 / 28)
        own = f["value"] or 0.0
        if "market_ratio" in ev:
            # the value is already net of the market: read the company's own rise against the rest of the extract
            n, c, b = ctx["baseline_days"], ev["complaints"], ev["baseline_complaints"]
            own = c / max(b / n, ctx["min_expected"])
            rest_today, rest_before = ctx["extract_today"] - c, ctx["extract_per_day_before"] - b / n
            rest = rest_today / max(rest_before, 1 / n)
            if own / max(rest, 1.0) >= ctx["surge_ratio_threshold"]:
                return (f"plausible: {c} complaints, {own:.1f} x its own baseline, while the rest of the extract rose "
                        f"{rest:.1f} x that day ({rest_today} complaints against {rest_before:.1f} a day before): a rise "
                        f"of this company, not of the source")
            return (f"doubtful: the company rose {own:.1f} x and the rest of the extract {rest:.1f} x that day "
                    f"({rest_today} complaints against {rest_before:.1f} a day before), less than "
                    f"{ctx['surge_ratio_threshold']:g} x apart; it is flagged because without it and the largest other "
                    f"riser the source rose only {ev['market_ratio']:.2f} x: two companies rose together while the "
                    f"rest did not (two surges, or one cause shared by two companies)")
        if own / market >= ctx["surge_ratio_threshold"]:
            return (f"plausible: {ev.get('complaints')} complaints against {own:.1f} x its expected count while the whole "
                    f"extract rose only {market:.1f} x that day ({ctx['extract_today']} complaints against "
                    f"{ctx['extract_per_day_before']:.1f} a day before): a rise of this company, not of the source")
        return (f"not plausible as a company surge: the whole extract rose {market:.1f} x that day "
                f"({ctx['extract_today']} complaints against {ctx['extract_per_day_before']:.1f} a day before), so the "
                f"company's {own:.1f} x follows the sample's uneven density (it was not drawn evenly over time), "
                f"and complaints.surge has no source-wide control")
    if f["indicator_id"] == "complaints.untimely_response" and ctx:
        return (f"plausible: the CFPB itself records {ev.get('untimely')} of {ev.get('timely_known')} of the company's "
                f"complaints in the 30 days as not answered in time, against {100 * ctx['extract_untimely_share']:.1f} % "
                f"in the whole extract; a lead by the rule's own definition (a sample count, not the company's full record)")
    return ""


# --------------------------------------------------------------------------- report

def _fmt(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def markdown_table(rows: list[dict], with_target: bool = True, denominator: str = "clean entity-months") -> str:
    head = (f"| id | entity (denominator) | flag rows | flagged entity-months | {denominator} | judged entities "
            "| per 1,000 per month | 95 % upper bound |" + (" ≤ 1? |" if with_target else ""))
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in rows:
        ok = "" if not with_target else (" yes |" if r["rate_per_1000"] is not None and r["rate_per_1000"] <= TARGET_PER_1000
                                         else " **no** |")
        lines.append(f"| `{r['indicator_id']}` | {r['unit']} | {r['flag_rows']} | {r['flagged_entity_months']} | "
                     f"{r['entity_months']:,.1f} | {r['judged_entities']:,} | {_fmt(r['rate_per_1000'])} | "
                     f"{_fmt(r['upper95_per_1000'])} |{ok}")
    return "\n".join(lines)


def flag_list(got: Collected, limit: int = 200) -> str:
    """One line per flagged entity and month: id, entity, first/last run date, value vs threshold, evidence."""
    by = {}
    for f in got.flags:
        by.setdefault((f["indicator_id"], f["key"], f["month"]), []).append(f)
    lines = []
    for (ind, key, _), fl in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        first, last = min(f["dt"] for f in fl), max(f["dt"] for f in fl)
        top = max(fl, key=lambda f: (f["value"] or 0))
        ev = top["evidence"] or ""
        try:
            ev = json.dumps({k: v for k, v in json.loads(ev).items() if not isinstance(v, list)}, ensure_ascii=False)
        except (ValueError, AttributeError):
            pass
        why = reading(top)
        where = key.split("|", 1)
        lines.append(f"- `{ind}` {where[-1]}" + (f" ({where[0]})" if len(where) == 2 and where[0] not in ("olist", "cfpb") else "")
                     + f" on {len(fl)} day(s) {first}…{last}: value "
                     f"{_fmt(top['value'])} vs threshold {_fmt(top['threshold'])}; evidence {ev[:400]}"
                     + (f" — **{why.split(':', 1)[0]}**:{why.split(':', 1)[1]}" if why else ""))
    if len(lines) > limit:
        lines = lines[:limit] + [f"- … and {len(lines) - limit} more"]
    return "\n".join(lines) or "(none)"


def summary_table(clean_rows: list[dict], real_rows: dict[str, list[dict]]) -> str:
    """One line per id: the clean provinces' rate and bound, each real dataset's, and whether the rate is <= 1."""
    def cell(r):
        if r is None:
            return "–"
        if r["rate_per_1000"] is None:
            return "no entity"
        bound = r["upper95_per_1000"]
        bound = f"{bound:.2f}" if bound < 10 else f"{bound:,.0f}"
        if r["flagged_entity_months"] == 0:
            return f"0 (bound {bound})"
        return f"{r['rate_per_1000']:.2f} (bound {bound}; {r['flagged_entity_months']} of {r['entity_months']:,.0f})"

    by_real = {name: {r["indicator_id"]: r for r in rows} for name, rows in real_rows.items()}
    head = "| id | unit | clean provinces, per 1,000 per month | " \
        + "".join(f"{n}, per 1,000 per month | " for n in by_real) + "clean rate ≤ 1? | clean bound ≤ 1? |"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in clean_rows:
        reals = " | ".join(cell(by_real[n].get(r["indicator_id"])) for n in by_real)
        rate_ok = "yes" if r["rate_per_1000"] is not None and r["rate_per_1000"] <= TARGET_PER_1000 else "**no**"
        bound_ok = "yes" if r["upper95_per_1000"] is not None and r["upper95_per_1000"] <= TARGET_PER_1000 else "no"
        lines.append(f"| `{r['indicator_id']}` | {r['unit']} | {cell(r)} | " + (reals + " | " if reals else "")
                     + f"{rate_ok} | {bound_ok} |")
    return "\n".join(lines)


def write_doc(block: str, doc: Path = DOC) -> None:
    """Replace the generated block of docs/ACCURACY.md (re-read just before, so other sections' edits survive)."""
    text = doc.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{doc}: markers {BEGIN!r} … {END!r} not found; add them where the numbers belong")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(head + BEGIN + "\n" + block.strip() + "\n" + END + tail, encoding="utf-8")


# --------------------------------------------------------------------------- tasks

def _init_worker(threads: int) -> None:
    os.environ["FP_THREADS"] = str(threads)


def _task(part: str, kw: dict):
    """One part of the measurement (one province, or one real dataset) in a worker process."""
    work = kw.pop("work", None)
    if part in ("clean", "wide"):
        root = Path(tempfile.mkdtemp(prefix=f"fp_{part}_{kw['seed']}_", dir=work))
        try:
            fn = run_clean_seed if part == "clean" else run_wide_seed
            return part, fn(root, log=lambda s: print(s, flush=True), **kw)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    fn = run_real_olist if part == "olist" else run_real_cfpb
    return part, fn(kw.pop("real"), work, **kw)


def _tasks(args, ids: list[str] | None) -> list[tuple[str, dict]]:
    # the catalogue is read once, here, and handed to every task: one version of every rule for the whole run,
    # even when an indicator's files change while it runs
    cat = _catalogue(ids)
    has = {"clean": bool(cat), "wide": any(i.family in WIDE_FAMILIES for i in cat),
           "olist": any(i.id in OLIST_IDS for i in cat), "cfpb": any(i.id in CFPB_IDS for i in cat)}
    tasks = []
    # longest first, so that two workers finish together
    if "olist" in args.parts and has["olist"] and args.real.exists():
        tasks.append(("olist", {"real": args.real, "work": args.work, "ids": ids, "catalogue": cat}))
    if "clean" in args.parts and has["clean"]:
        tasks += [("clean", {"seed": s, "days": args.days, "scale": args.scale, "history_days": args.history_days,
                             "stages": args.stages, "work": args.work, "ids": ids, "catalogue": cat}) for s in args.seeds]
    if "wide" in args.parts and has["wide"]:
        tasks += [("wide", {"seed": s, "days": args.days, "scale": args.wide_scale,
                            "history_days": args.wide_history_days, "work": args.work, "ids": ids, "catalogue": cat})
                  for s in args.wide_seeds]
    if "cfpb" in args.parts and has["cfpb"] and args.real.exists():
        tasks.append(("cfpb", {"real": args.real, "work": args.work, "ids": ids, "catalogue": cat}))
    return tasks


def run_tasks(tasks: list[tuple[str, dict]], jobs: int) -> list[tuple[str, tuple]]:
    if jobs <= 1:
        return [_task(p, dict(kw)) for p, kw in tasks]
    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = multiprocessing.get_context("spawn")   # no DuckDB state is inherited by a forked child
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads,)) as ex:
        futures = [ex.submit(_task, p, dict(kw)) for p, kw in tasks]
        return [f.result() for f in futures]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids", nargs="+", default=None, help="measure only these indicator ids (docs are then left alone)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2: one per core of the reference machine)")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--history-days", type=int, default=75,
                    help="history carried by the first drop: 75 so that price.phantom_reference (72 of 90 days) judges")
    ap.add_argument("--wide-seeds", type=int, nargs="*", default=[1, 2, 3])
    ap.add_argument("--wide-scale", type=float, default=2.0,
                    help="scale of the wide provinces (integrity.* and complaints.* only; ~700 shops per 1.0)")
    ap.add_argument("--wide-history-days", type=int, default=35)
    ap.add_argument("--stages", choices=["compute", "all"], default="compute")
    ap.add_argument("--real", type=Path, default=REAL)
    ap.add_argument("--skip-clean", action="store_true", help="= --parts without clean and wide")
    ap.add_argument("--skip-real", action="store_true", help="= --parts without olist and cfpb")
    ap.add_argument("--datasets", nargs="*", default=None, help="real datasets to run (olist, cfpb)")
    ap.add_argument("--work", type=Path, default=None, help="folder for the temporary homes (default: system temp)")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the report (markdown) to this file")
    ap.add_argument("--no-docs", action="store_true", help="print only; leave docs/ACCURACY.md alone")
    args = ap.parse_args(argv)
    if args.skip_clean:
        args.parts = [p for p in args.parts if p not in ("clean", "wide")]
    if args.skip_real:
        args.parts = [p for p in args.parts if p not in ("olist", "cfpb")]
    if args.datasets is not None:
        args.parts = [p for p in args.parts if p not in ("olist", "cfpb") or p in args.datasets]
    ids = None
    if args.ids:
        known = {i.id for i in load_catalogue()}
        unknown = sorted(set(args.ids) - known)
        if unknown:
            ap.error(f"unknown indicator id(s): {', '.join(unknown)}")
        ids = list(args.ids)
    full = ids is None and set(args.parts) == set(PARTS)
    started, cpu0, child0 = time.perf_counter(), _cpu(), children_cpu()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
    tasks = _tasks(args, ids)
    if ("olist" in args.parts or "cfpb" in args.parts) and not args.real.exists():
        print(f"real data folder {args.real} absent: real-data part skipped", flush=True)
    results = run_tasks(tasks, args.jobs)
    wall = time.perf_counter() - started
    cpu = (_cpu() - cpu0) + (children_cpu() - child0)

    out: list[str] = []

    def say(text=""):
        print(text, flush=True)
        out.append(text)

    say(f"*Measured by `python -m benchmarks.false_positives` ({'all parts' if full else 'parts ' + ', '.join(args.parts)}"
        f"{'' if ids is None else '; ids ' + ', '.join(ids)}) on {dt.date.today()}: **{wall:.0f} s wall, {cpu:.0f} s CPU** "
        f"on {args.jobs} worker process(es), {os.cpu_count()} cores.*")
    say()
    clean = [r for p, r in results if p in ("clean", "wide")]
    clean_rows = []
    if clean:
        total = Collected(ids=[], units={})   # the ids in catalogue order: the small provinces' tasks come first
        months: dict[str, float] = {}
        for got, em, _ in clean:
            total.merge(got)
            for k, v in em.items():
                months[k] = months.get(k, 0.0) + v
        say("#### Clean provinces")
        say()
        say(f"Generator clean mode, {args.days} days from {CLEAN_START} (双11 run-in and peak inside). Small provinces "
            f"(every id): seeds {args.seeds}, scale {args.scale}, {args.history_days} days of history, stages "
            f"{args.stages}. Wide provinces (`integrity.*`, `complaints.*` only): seeds {args.wide_seeds}, scale "
            f"{args.wide_scale}, {args.wide_history_days} days of history.")
        say()
        for _, em, n in clean:
            say(f"- {n['part']} seed {n['seed']}: {n['shops']} shops; {n['seconds']} s wall, {n['cpu_s']} s CPU; "
                "entity-months " + ", ".join(f"{k} {v:,.1f}" for k, v in em.items())
                + (f"; published flag rows {n['published_flags']}" if n["published_flags"] is not None else "")
                + (f"; withheld partitions: {', '.join(n['withheld'])}" if n["withheld"] else ""))
        say("- clean entity-months (all provinces): " + ", ".join(f"{k} {v:,.1f}" for k, v in months.items()))
        say()
        clean_rows = fp_rates(total, months)
        say(markdown_table(clean_rows))
        say()
        say("<details><summary>Every flag on the clean provinces (one line per id, entity and month; each one is a "
            "false positive)</summary>")
        say()
        say(flag_list(total))
        say()
        say("</details>")
        say()
    real_rows: dict[str, list[dict]] = {}
    for part, name in (("olist", "Olist sample (orders, reviews)"), ("cfpb", "CFPB complaints sample")):
        for p, (got, em, notes) in results:
            if p != part:
                continue
            say(f"#### Real data: {name}")
            say()
            say(f"{notes['run_dates']} run dates {notes['span']}; {notes['seconds']} s wall, {notes['cpu_s']} s CPU; "
                f"ingest problems: {notes['ingest_problems'] or 'none'}; active entity-months: "
                + ", ".join(f"{k} {v:,.1f}" for k, v in em.items()))
            say()
            rows = fp_rates(got, em)
            real_rows[part] = rows
            say(markdown_table(rows, denominator="active entity-months"))
            say()
            say("Flags (one line per id, entity and month, with a reading of whether it is plausible as a lead):")
            say()
            say(flag_list(got))
            say()
    if clean_rows:
        say("#### Summary against the target (≤ 1 per 1,000 clean entities per month)")
        say()
        say(summary_table(clean_rows, {{"olist": "Olist", "cfpb": "CFPB"}[k]: v for k, v in real_rows.items()}))
        say()
    say("Parts: " + "; ".join(f"{n['part']}{' seed ' + str(n['seed']) if 'seed' in n else ''} "
                              f"{n['seconds']:.0f} s / {n['cpu_s']:.0f} s CPU" for _, (_, _, n) in results)
        + f". Total {wall:.0f} s wall, {cpu:.0f} s CPU.")
    text = "\n".join(out) + "\n"
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if full and not args.no_docs:
        write_doc(text)
        print(f"wrote {DOC} (between the fp markers)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
