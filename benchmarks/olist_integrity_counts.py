"""Flag counts of the integrity.* indicators on the real Olist sample (docs/ACCURACY.md, ## Integrity).

    python -m benchmarks.olist_integrity_counts [--real DIR] [--work DIR]

Lays REAL/olist_brazilian_ecommerce/sample_4000_orders (+ full_small_tables/olist_sellers_dataset.csv)
into a temporary home's landing/olist/2018-10-31/ (one first drop carrying the whole history), ingests it, then
runs the four integrity indicators for every date with an order purchased or a review answered, and counts the
flagged rows per indicator id (one flag = one seller on one run date).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from indicators.compute import run_indicator
from indicators.registry import load_catalogue
from pipelines.core.home import Home
from pipelines.ingest import ingest_day
from warehouse.migrate import apply_migrations

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"  # REAL (--real): the folder of real public data beside the checkout
DROP_DATE = date(2018, 10, 31)
OLIST = "olist_brazilian_ecommerce"


def lay_out(real: Path, home_root: Path) -> Path:
    landing = home_root / "landing" / "olist" / DROP_DATE.isoformat()
    landing.mkdir(parents=True, exist_ok=True)
    for f in sorted((real / OLIST / "sample_4000_orders").glob("*.csv")):
        shutil.copyfile(f, landing / f.name)
    shutil.copyfile(real / OLIST / "full_small_tables" / "olist_sellers_dataset.csv",
                    landing / "olist_sellers_dataset.csv")
    return landing


def olist_integrity_counts(real: Path = REAL, work: Path | None = None) -> dict:
    own = work is None
    root = Path(tempfile.mkdtemp(prefix="olist_integrity_")) if own else Path(work)
    try:
        lay_out(real, root)
        home = Home(root)
        con = duckdb.connect(":memory:")  # the home's landing and quarantine folders, the warehouse in memory
        try:
            apply_migrations(con)
            t0 = time.perf_counter()
            report = ingest_day(con, home, DROP_DATE, sources=["olist"])
            ingest_s = time.perf_counter() - t0
            loaded = {t: con.execute(f"SELECT count(*) FROM staging.{t}").fetchall()[0][0]  # noqa: S608 (constant names)
                      for t in ("olist_orders", "olist_order_items", "olist_order_reviews", "olist_customers",
                                "olist_sellers", "olist_products")}
            dups = con.execute(
                "SELECT count(*) - count(DISTINCT review_id), "
                "(SELECT count(*) FROM (SELECT review_id FROM staging.olist_order_reviews GROUP BY review_id "
                " HAVING count(DISTINCT order_id) > 1)) FROM staging.olist_order_reviews").fetchall()[0]
            days = [d for (d,) in con.execute(
                "SELECT DISTINCT d FROM (SELECT order_purchase_timestamp::DATE AS d FROM staging.olist_orders "
                "UNION SELECT review_answer_timestamp::DATE FROM staging.olist_order_reviews) "
                "WHERE d IS NOT NULL AND d <= $drop ORDER BY d", {"drop": DROP_DATE}).fetchall()]
            catalogue = [i for i in load_catalogue() if i.family == "integrity"]
            flags = {i.id: 0 for i in catalogue}
            judged = {i.id: 0 for i in catalogue}
            examples: dict[str, list] = {i.id: [] for i in catalogue}
            max_value: dict[str, float] = {i.id: None for i in catalogue}
            t0 = time.perf_counter()
            for d in days:
                for ind in catalogue:
                    judged[ind.id] += run_indicator(con, ind, d, {})
                    rows = con.execute(
                        f'SELECT shop_id, value FROM work."{ind.work_table}" WHERE flagged ORDER BY shop_id'  # noqa: S608 - table name from the indicator catalogue
                    ).fetchall()
                    flags[ind.id] += len(rows)
                    top = con.execute(f'SELECT max(value) FROM work."{ind.work_table}"').fetchall()[0][0]  # noqa: S608 - table name from the indicator catalogue
                    if top is not None and (max_value[ind.id] is None or top > max_value[ind.id]):
                        max_value[ind.id] = float(top)
                    examples[ind.id] += [(d.isoformat(), s, v) for s, v in rows][: max(0, 3 - len(examples[ind.id]))]
            compute_s = time.perf_counter() - t0
        finally:
            con.close()
        return {"loaded": loaded, "ingest_problems": report.problems(), "duplicate_review_rows": int(dups[0]),
                "reviews_shared_by_orders": int(dups[1]), "run_dates": len(days),
                "first_date": days[0].isoformat() if days else None, "last_date": days[-1].isoformat() if days else None,
                "seller_days_judged": judged, "flags": flags, "max_value": max_value, "examples": examples,
                "ingest_seconds": round(ingest_s, 2), "compute_seconds": round(compute_s, 2)}
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=REAL)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args(argv)
    out = olist_integrity_counts(args.real, args.work)
    for key, value in out.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
