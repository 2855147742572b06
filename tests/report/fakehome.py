"""A small published home built through the real publish code, for bulletin, view and query tests.

Marts the pipeline ships (indicator_flags) are filled with rows cast to the schema the pipeline
builds (so a schema change flows through); marts other engineers own (complaint_rates,
merchant_credit_tiers, inspection_sample) get plausible contract-shaped columns, which the bulletin
must find by name. Counts are seeded random, never assumed by the tests: they recompute them.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from indicators.compute import compute_day, pipeline_version
from pipelines.core.home import Home
from pipelines.core.regions import LIAONING_CITIES
from pipelines.publish.parquet import publish_partition, update_manifest
from warehouse.db import connect_writer
from warehouse.migrate import apply_migrations

RUN_DATE = date(2026, 3, 31)
DAYS = 12
FAMILIES = {
    "price": ["price.cn_reference_7d", "price.spike_mad"],
    "collusion": ["collusion.variance_screen"],
    "complaints": ["complaints.rate_posterior", "complaints.surge"],
    "integrity": ["integrity.concentrate_rate"],
}


def _flag_schema() -> pa.Schema:
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    compute_day(con, RUN_DATE, {})
    schema = con.sql("SELECT * FROM work.mart__indicator_flags LIMIT 0").to_arrow_table().schema
    con.close()
    return schema


def _flags(day: date, rng: random.Random) -> list[dict]:
    rows = []
    codes = list(LIAONING_CITIES) + [None]
    for family, ids in FAMILIES.items():
        for ind in ids:
            for k in range(rng.randint(0, 6)):
                shop = f"S{rng.randint(1, 40):03d}"
                sku = f"690{rng.randint(1000000000, 9999999999)}"
                start = day - timedelta(days=rng.randint(0, 5))
                if ind == "price.cn_reference_7d":
                    evidence = {"shown_reference_price": 199.0, "promo_price": 129.0, "cn_basis_price": 119.0,
                                "cn_basis_source": "lowest_7d",
                                "basis_window": [str(start - timedelta(days=7)), str(start - timedelta(days=1))],
                                "trades_in_window": 4, "lowest_trade_order_id": f"o{k}{shop}",
                                "lowest_trade_time": f"{start - timedelta(days=3)} 10:11:12", "rpi": 1.6723,
                                "claimed_discount": 0.3518, "true_discount": -0.084,
                                "observation_ids": [f"obs-{k}-1", f"obs-{k}-2"]}
                else:
                    evidence = {"n_sellers": rng.randint(3, 9), "median_price": 42.5, "share": 0.61,
                                "order_ids": [f"o{i}" for i in range(7)], "source_url": "https://example.com/x"}
                rows.append({
                    "dt": day, "flag_id": f"{ind}-{day}-{k}", "indicator_id": ind, "family": family,
                    "entity_type": "shop", "entity_id": f"{shop}:{sku}:{start}", "platform": "tmall",
                    "shop_id": shop, "uscc": "91210100MA0000000X", "sku_id": sku,
                    "region_code": rng.choice(codes), "window_start": start, "window_end": day,
                    "value": round(rng.uniform(1.1, 4.0), 3), "threshold": 1.0,
                    "severity": rng.choice(["low", "medium", "high"]), "evidence": json.dumps(evidence),
                    "policy_ref": "test policy", "pipeline_version": pipeline_version(), "schema_version": 1,
                })
    return rows


def _publish(con, home: Home, mart: str, day: date, table: pa.Table, run_id: str) -> None:
    rows, digest = publish_partition(home.mart_dir(mart), day, table)
    update_manifest(home.mart_dir(mart), mart, 1, pipeline_version(), table.schema, day, rows, digest)
    con.execute("INSERT OR REPLACE INTO meta.published_partitions VALUES ($m, $d, $n, $h, 1, $r, $t)",
                {"m": mart, "d": day, "n": rows, "h": digest, "r": run_id, "t": datetime(2026, 4, 1, 6)})


def build_fake_home(root: Path, seed: int = 7) -> Home:
    from pipelines.publish.dictionary import after_publish

    rng = random.Random(seed)
    home = Home(root).ensure()
    schema = _flag_schema()
    con = connect_writer(home.db_path)
    try:
        for i in range(DAYS):
            day = RUN_DATE - timedelta(days=DAYS - 1 - i)
            run_id = f"{day}__fake"
            _publish(con, home, "indicator_flags", day, pa.Table.from_pylist(_flags(day, rng), schema=schema), run_id)
            for stage, secs in (("ingest", 3), ("compute", 5), ("gate", 2), ("publish", 1), ("report", 1)):
                start = datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(hours=6)
                con.execute("INSERT INTO meta.runs VALUES ($r, $d, $s, $a, $b, $o, NULL, 'test')",
                            {"r": run_id, "d": day, "s": stage, "a": start, "b": start + timedelta(seconds=secs),
                             "o": "failed" if (day == RUN_DATE - timedelta(days=3) and stage == "gate") else "success"})
            for source in ("price_observations", "olist", "complaints_12315"):
                if source == "complaints_12315" and day == RUN_DATE:
                    continue  # one stale source on the run date
                read = rng.randint(50, 500)
                bad = rng.randint(0, 3)
                con.execute("INSERT INTO meta.ingestion_ledger VALUES ($s, $d, $f, 'abc', 1000, $r, $l, $q, "
                            "'loaded', NULL, 'utf-8', $t)",
                            {"s": source, "d": day, "f": f"{source}.csv", "r": read, "l": read - bad, "q": bad,
                             "t": datetime.combine(day, datetime.min.time()) + timedelta(hours=23)})
                for row in range(bad):
                    con.execute("INSERT INTO meta.quarantine_rows VALUES ($s, $d, $f, 'abc', $n, 'price', "
                                "'price is not a number', 'x')",
                                {"s": source, "d": day, "f": f"{source}.csv", "n": row + 2})
            for suite, sev, ok in (("mart.indicator_flags", "blocking", True), ("staging.price_observations", "warning",
                                                                                day != RUN_DATE)):
                con.execute("INSERT INTO meta.quality_results VALUES ($r, $d, $s, 't', 'expect_column_values_to_be_"
                            "between', 'price', $v, $ok, '3 rows', NULL, $t)",
                            {"r": run_id, "d": day, "s": suite, "v": sev, "ok": ok, "t": datetime(2026, 4, 1)})
        shops = [f"S{i:03d}" for i in range(1, 31)]
        complaint_rows = []
        for s in shops:
            n, orders = rng.randint(0, 30), rng.randint(500, 20000)
            post = (n + 2) / (orders + 4000) * 10000
            complaint_rows.append({"dt": RUN_DATE, "month": "2026-03", "platform": "tmall", "shop_id": s,
                                   "uscc": "91210100MA0000000X", "region_code": rng.choice(list(LIAONING_CITIES)),
                                   "complaints": n, "orders": orders, "raw_rate_per_10k": n / orders * 1e4,
                                   "posterior_rate_per_10k": post, "wilson_lower_per_10k": post * 0.6,
                                   "wilson_upper_per_10k": post * 1.5, "timely_response_rate": 0.9,
                                   "surge_flag": n > 25, "pipeline_version": "t", "schema_version": 1})
        _publish(con, home, "complaint_rates", RUN_DATE, pa.Table.from_pylist(complaint_rows), f"{RUN_DATE}__fake")
        tiers = [{"dt": RUN_DATE, "uscc": f"91210100MA{i:07d}", "score": rng.uniform(0, 100),
                  "tier": rng.choice("AABBBCCD"), "pipeline_version": "t", "schema_version": 1} for i in range(60)]
        _publish(con, home, "merchant_credit_tiers", RUN_DATE, pa.Table.from_pylist(tiers), f"{RUN_DATE}__fake")
        draw = [{"dt": RUN_DATE, "uscc": t["uscc"], "tier": t["tier"], "sampling_ratio": 0.1, "seed": 20260331,
                 "draw_order": k + 1, "pipeline_version": "t", "schema_version": 1} for k, t in enumerate(tiers[:9])]
        _publish(con, home, "inspection_sample", RUN_DATE, pa.Table.from_pylist(draw), f"{RUN_DATE}__fake")
        results = home.quality / "results" / RUN_DATE.isoformat()
        results.mkdir(parents=True, exist_ok=True)
        (results / "index.html").write_text("<html><body>ok</body></html>", encoding="utf-8")
        after_publish(con, home)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return home


def fake_home_with_bulletin(root: Path):
    """(home, Bulletin): the fake home with RUN_DATE's bulletin built through the real report code."""
    from pipelines.serve.bulletin import build_bulletin

    home = build_fake_home(root)
    con = connect_writer(home.db_path)
    try:
        return home, build_bulletin(con, home, RUN_DATE)
    finally:
        con.close()
