"""Bench-only history: thinned, date-shifted copies of the benchmark day (docs/BENCHMARKS.md).

Generating 30 or 180 full province days at scale 100 is not possible in the bench budget, so the
history is made from the benchmark day itself: for each k = H..1 (oldest first, so the staging tables
are sorted by date and DuckDB's zone maps can skip old row groups), a `density` share of the day's
rows (one block of hash buckets of the id, rotating with k) is copied with every date/timestamp moved back k days, ids
suffixed `-h<k>` (an id form the evidence check accepts), and prices moved by a hashed noise of at most ±2 %. The rows go straight into
staging.price_observations, staging.olist_orders and staging.olist_order_items (vectorised
INSERT ... SELECT, one statement per day and table), plus the history's trades as
HISTORY/trades.parquet for the floor and the pandas peer. Nothing here is used by the product.
"""

# ruff: noqa: S608 - bench-only SQL: paths and dates made by the harness itself, no outside values
from __future__ import annotations

from datetime import date
from pathlib import Path

from warehouse.db import connect_writer

PRICE_COLS = ["observation_id", "observed_at", "observed_date", "platform", "shop_id", "sku_id", "variant",
              "product_name", "category", "region_code", "price_type", "price", "currency", "reference_price",
              "promo_start", "basis_disclosed", "account_cohort", "device", "condition", "url"]


BUCKETS = 100_000


def _keep(density: float, k: int) -> str:
    """History day k takes one block of the seed's hash buckets (`h`, the seed is stored sorted by it), so a
    day reads about `density` of the seed through DuckDB's zone maps instead of hashing all of it; the blocks
    rotate (day k and day k + 1/density take the same rows, moved by different numbers of days)."""
    width = max(1, int(round(density * BUCKETS)))
    lo = ((k - 1) % max(1, BUCKETS // width)) * width
    return f"h >= {lo} AND h < {lo + width}"


def build_history(db_path: Path, landing: Path, hist_dir: Path, d: date, days: int, density: float,
                  have: int = 0) -> dict:
    """Create the warehouse at `db_path` (migrated) holding `days` days of history before `d`; with `have`,
    `db_path` is a copy of the `have`-day history and only days have+1 .. days are added (each day is
    its own run of row groups, so zone maps skip it whatever the order the days were added in)."""
    hist_dir.mkdir(parents=True, exist_ok=True)
    con = connect_writer(db_path)
    con.execute("SET enable_progress_bar = false")  # no bar in the harness's logs
    ds = d.isoformat()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"""
            CREATE TEMP TABLE seed_obs AS SELECT * FROM (SELECT (hash(observation_id) % {BUCKETS})::BIGINT AS h,
                observation_id, TRY_CAST(observed_at AS TIMESTAMP) AS observed_at, platform, shop_id, sku_id, variant,
                product_name, category, region_code, price_type, TRY_CAST(price AS DECIMAL(18,2)) AS price, currency,
                TRY_CAST(reference_price AS DECIMAL(18,2)) AS reference_price, TRY_CAST(promo_start AS DATE) AS promo_start,
                TRY_CAST(basis_disclosed AS BOOLEAN) AS basis_disclosed, account_cohort, device, condition, url
            FROM read_csv('{landing / "price_observations" / ds / "*.csv"}', header=true, all_varchar=true))
            WHERE observation_id IS NOT NULL AND observed_at IS NOT NULL AND platform IS NOT NULL
              AND shop_id IS NOT NULL AND sku_id IS NOT NULL AND price_type IS NOT NULL AND price > 0
            ORDER BY h""")
        olist = landing / "olist" / ds
        con.execute(f"""
            CREATE TEMP TABLE seed_orders AS SELECT (hash(order_id) % {BUCKETS})::BIGINT AS h, order_id, customer_id, order_status,
                TRY_CAST(order_purchase_timestamp AS TIMESTAMP) AS p, TRY_CAST(order_approved_at AS TIMESTAMP) AS a,
                TRY_CAST(order_delivered_carrier_date AS TIMESTAMP) AS c, TRY_CAST(order_delivered_customer_date AS TIMESTAMP) AS dc,
                TRY_CAST(order_estimated_delivery_date AS TIMESTAMP) AS e
            FROM read_csv('{olist / "olist_orders_dataset.csv"}', header=true, all_varchar=true)
            WHERE order_id IS NOT NULL ORDER BY h""")
        con.execute(f"""
            CREATE TEMP TABLE seed_items AS SELECT * FROM (SELECT (hash(order_id) % {BUCKETS})::BIGINT AS h, order_id, TRY_CAST(order_item_id AS INTEGER) AS order_item_id, product_id,
                seller_id, TRY_CAST(shipping_limit_date AS TIMESTAMP) AS s, TRY_CAST(price AS DECIMAL(18,2)) AS price,
                TRY_CAST(freight_value AS DECIMAL(18,2)) AS freight_value
            FROM read_csv('{olist / "olist_order_items_dataset.csv"}', header=true, all_varchar=true))
            WHERE order_id IS NOT NULL AND order_item_id IS NOT NULL AND product_id IS NOT NULL
              AND seller_id IS NOT NULL AND price IS NOT NULL ORDER BY h""")
        noise = "(1 + ((hash(observation_id, k, 'p') % 41)::INTEGER - 20) / 1000.0)"
        for k in range(days, have, -1):
            shift = f"INTERVAL {k} DAY"
            con.execute(f"""
                INSERT INTO staging.price_observations
                SELECT observation_id || '-h{k}', observed_at - {shift}, CAST(observed_at - {shift} AS DATE),
                       platform, shop_id, sku_id, variant, product_name, category, region_code, price_type,
                       round(price * {noise}, 2)::DECIMAL(18,2),
                       currency, round(reference_price * {noise}, 2)::DECIMAL(18,2),
                       CAST(promo_start - {shift} AS DATE), basis_disclosed, account_cohort, device, condition, url,
                       DATE '{ds}' - {k}, 'bench_history.csv', 'bench', row_number() OVER ()
                FROM (SELECT *, {k} AS k FROM seed_obs) WHERE {_keep(density, k)}""")
            con.execute(f"""
                INSERT INTO staging.olist_orders
                SELECT order_id || '-h{k}', customer_id, order_status, p - {shift}, a - {shift}, c - {shift},
                       dc - {shift}, e - {shift}, DATE '{ds}' - {k}, 'bench_history.csv', 'bench', row_number() OVER ()
                FROM (SELECT *, {k} AS k FROM seed_orders) WHERE {_keep(density, k)}""")
            con.execute(f"""
                INSERT INTO staging.olist_order_items
                SELECT order_id || '-h{k}', order_item_id, product_id, seller_id, s - {shift},
                       round(price * (1 + ((hash(order_id, k, 'p') % 41)::INTEGER - 20) / 1000.0), 2)::DECIMAL(18,2),
                       freight_value, DATE '{ds}' - {k}, 'bench_history.csv', 'bench', row_number() OVER ()
                FROM (SELECT *, {k} AS k FROM seed_items) WHERE {_keep(density, k)}""")
        con.execute(f"""
            COPY (SELECT i.seller_id AS shop_id, i.product_id AS sku_id, i.order_id, i.price::DOUBLE AS unit_price,
                         o.order_purchase_timestamp AS paid_at
                  FROM staging.olist_order_items i JOIN staging.olist_orders o USING (order_id)
                  WHERE lower(o.order_status) NOT IN ('canceled', 'unavailable', 'refunded', 'returned')
                    AND i.price > 0 AND i._file_name = 'bench_history.csv')
            TO '{hist_dir / "trades.parquet"}' (FORMAT parquet)""")
        counts = {t: con.execute(f"SELECT count(*) FROM staging.{t}").fetchall()[0][0]  # noqa: S608 (constant names)
                  for t in ("price_observations", "olist_orders", "olist_order_items")}
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts
