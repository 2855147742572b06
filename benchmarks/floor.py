"""The floor and the peer of the benchmark (docs/BENCHMARKS.md), each run as its own process.

    python -m benchmarks.floor floor  DAY_DIR HISTORY_DIR OUT_DIR DATE [MEMORY_LIMIT [file]]  # hand-written DuckDB SQL
    python -m benchmarks.floor check  DAY_DIR HISTORY_DIR OUT_DIR DATE   # the 7-day check only, DuckDB
    python -m benchmarks.floor pandas DAY_DIR HISTORY_DIR OUT_DIR DATE   # the 7-day check only, pandas

DAY_DIR is the home's landing/ folder; HISTORY_DIR holds trades.parquet (shop_id, sku_id, order_id,
unit_price, paid_at of the history days, written by benchmarks.history). Deliberately minimal: no
validation, no lineage, no quarantine, no quality gate; the same rule as price.cn_reference_7d
(lowest completed unit price of the shop's SKU in [promo_start - 7 d, promo_start), else the last
trade before it; flag when shown 原价 / basis > 1.02) and the cross-seller modified z-score of
price.spike_mad (median and MAD of the SKU's sellers that day).
"""

# ruff: noqa: S608 - bench-only SQL: paths and dates made by the harness itself, no outside values
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

EXCLUDED = ("canceled", "unavailable", "refunded", "returned")
RPI = 1.02


def _duckdb_inputs(con, landing: Path, hist: Path, d: str) -> None:
    price = str(landing / "price_observations" / d / "*.csv")
    olist = landing / "olist" / d
    con.execute(f"""
        CREATE TABLE obs AS SELECT shop_id, sku_id, observed_at, price_type, price, reference_price, promo_start,
                                   account_cohort
        FROM read_csv('{price}', header=true,
            types={{'reference_price': 'DOUBLE', 'price': 'DOUBLE', 'promo_start': 'DATE'}})""")
    con.execute(f"""
        CREATE TABLE trades AS
        SELECT i.seller_id AS shop_id, i.product_id AS sku_id, i.order_id, i.price::DOUBLE AS unit_price,
               o.order_purchase_timestamp::TIMESTAMP AS paid_at
        FROM read_csv('{olist / "olist_order_items_dataset.csv"}', header=true) i
        JOIN read_csv('{olist / "olist_orders_dataset.csv"}', header=true) o USING (order_id)
        WHERE lower(o.order_status) NOT IN {EXCLUDED} AND i.price > 0
        UNION ALL
        SELECT shop_id, sku_id, order_id, unit_price, paid_at FROM read_parquet('{hist / "trades.parquet"}')""")


CHECK_SQL = """
CREATE TABLE checks AS
WITH promos AS (
    SELECT shop_id, sku_id, promo_start, max(reference_price) AS shown, min(price) AS promo_price
    FROM obs
    WHERE price_type = 'promo' AND reference_price IS NOT NULL AND promo_start IS NOT NULL
      AND observed_at::DATE = $d
    GROUP BY ALL
),
basis AS (
    SELECT p.shop_id, p.sku_id, p.promo_start,
           min(t.unit_price) FILTER (WHERE t.paid_at >= p.promo_start - INTERVAL 7 DAY) AS low7,
           arg_max(t.unit_price, t.paid_at) AS last_price
    FROM promos p JOIN trades t ON t.shop_id = p.shop_id AND t.sku_id = p.sku_id AND t.paid_at < p.promo_start
    GROUP BY ALL
)
SELECT p.*, coalesce(b.low7, b.last_price) AS basis, p.shown / coalesce(b.low7, b.last_price) AS rpi,
       coalesce(p.shown / coalesce(b.low7, b.last_price) > $rpi, false) AS flagged
FROM promos p LEFT JOIN basis b USING (shop_id, sku_id, promo_start)
"""

SPIKE_SQL = """
CREATE TABLE spikes AS
WITH daily AS (
    SELECT shop_id, sku_id, median(price) AS price FROM obs
    WHERE price_type IN ('list', 'promo') AND account_cohort IS NULL AND observed_at::DATE = $d
    GROUP BY ALL
),
cs AS (SELECT sku_id, median(price) AS med, mad(price) AS mad, count(*) AS n FROM daily GROUP BY sku_id)
SELECT d.*, cs.n, 0.6745 * (d.price - cs.med) / nullif(cs.mad, 0) AS z
FROM daily d JOIN cs USING (sku_id)
"""


def floor(landing: Path, hist: Path, out: Path, d: str, spike: bool = True, memory_limit: str | None = None,
          on_file: bool = False) -> None:
    """The floor's SQL. With `memory_limit` (the product's, e.g. 2.5GB) DuckDB is held to it and spills under OUT_DIR,
    as the product is: the same work within the product's memory, so that how time grows with the rows under that
    bound can be told apart from how the product's own plans grow (docs/BENCHMARKS.md, "Scale curve"). `on_file`
    keeps its tables in a database file under OUT_DIR (compressed, as the product's warehouse) instead of memory."""
    # each mode imports only its own engine: the process's peak memory is the measurement
    import duckdb

    con = duckdb.connect(str(out / "floor.duckdb") if on_file else ":memory:")
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{out / '.spill'}'")
        # tables in memory spill uncompressed (57 GB at 100 M observations): stop with DuckDB's own message before the
        # disk is full, leaving 5 GB for others, as the curve caps the product's spill
        cap = max(1, (shutil.disk_usage(out).free - 5 * 2**30) // 2**30)
        con.execute(f"SET max_temp_directory_size = '{cap}GiB'")
    _duckdb_inputs(con, landing, hist, d)
    con.execute(CHECK_SQL, {"d": d, "rpi": RPI})
    con.execute(f"COPY (SELECT *, DATE '{d}' AS dt FROM checks) TO '{out / 'price_reference_checks'}' "
                "(FORMAT parquet, PARTITION_BY (dt), OVERWRITE_OR_IGNORE)")
    if spike:
        con.execute(SPIKE_SQL, {"d": d})
        con.execute(f"COPY (SELECT *, DATE '{d}' AS dt FROM spikes) TO '{out / 'price_anomalies'}' "
                    "(FORMAT parquet, PARTITION_BY (dt), OVERWRITE_OR_IGNORE)")
    n = con.execute("SELECT count(*), count(*) FILTER (WHERE flagged) FROM checks").fetchall()[0]
    print(f"checks={n[0]} flagged={n[1]}")


def pandas_check(landing: Path, hist: Path, out: Path, d: str) -> None:
    """The same 7-day check as an analyst would write it in pandas."""
    import pandas as pd  # only this mode's engine in the process (see floor)

    olist = landing / "olist" / d
    frames = [pd.read_csv(f, usecols=["shop_id", "sku_id", "observed_at", "price_type", "price",
                                      "reference_price", "promo_start"],
                          dtype={"shop_id": str, "sku_id": str})
              for f in sorted((landing / "price_observations" / d).glob("*.csv"))]
    obs = pd.concat(frames, ignore_index=True)
    obs["observed_at"] = pd.to_datetime(obs["observed_at"], format="mixed")
    promo = obs[(obs["price_type"] == "promo") & obs["reference_price"].notna() & obs["promo_start"].notna()
                & (obs["observed_at"].dt.date == pd.Timestamp(d).date())].copy()
    promo["promo_start"] = pd.to_datetime(promo["promo_start"])
    promos = (promo.groupby(["shop_id", "sku_id", "promo_start"], as_index=False)
              .agg(shown=("reference_price", "max"), promo_price=("price", "min")))
    items = pd.read_csv(olist / "olist_order_items_dataset.csv", usecols=["order_id", "product_id", "seller_id", "price"],
                        dtype={"order_id": str, "product_id": str, "seller_id": str})
    orders = pd.read_csv(olist / "olist_orders_dataset.csv",
                         usecols=["order_id", "order_status", "order_purchase_timestamp"], dtype={"order_id": str})
    today = items.merge(orders, on="order_id")
    today = today[~today["order_status"].str.lower().isin(EXCLUDED) & (today["price"] > 0)]
    today = today.rename(columns={"seller_id": "shop_id", "product_id": "sku_id", "price": "unit_price",
                                  "order_purchase_timestamp": "paid_at"})
    today["paid_at"] = pd.to_datetime(today["paid_at"])
    hist_trades = pd.read_parquet(hist / "trades.parquet")
    trades = pd.concat([today[["shop_id", "sku_id", "order_id", "unit_price", "paid_at"]], hist_trades],
                       ignore_index=True)
    m = promos.merge(trades, on=["shop_id", "sku_id"])
    m = m[m["paid_at"] < m["promo_start"]]
    in7 = m[m["paid_at"] >= m["promo_start"] - pd.Timedelta(days=7)]
    low7 = in7.groupby(["shop_id", "sku_id", "promo_start"])["unit_price"].min().rename("low7")
    last = (m.sort_values("paid_at").groupby(["shop_id", "sku_id", "promo_start"])["unit_price"].last()
            .rename("last_price"))
    res = promos.join(low7, on=["shop_id", "sku_id", "promo_start"]).join(last, on=["shop_id", "sku_id", "promo_start"])
    res["basis"] = res["low7"].fillna(res["last_price"])
    res["rpi"] = res["shown"] / res["basis"]
    res["flagged"] = (res["rpi"] > RPI).fillna(False)
    res["dt"] = d
    res.to_parquet(out / "price_reference_checks_pandas", partition_cols=["dt"])
    print(f"checks={len(res)} flagged={int(res['flagged'].sum())}")


def main(argv: list[str]) -> None:
    mode, landing, hist, out, d, *bound = argv
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if mode == "floor":
        floor(Path(landing), Path(hist), out, d, memory_limit=bound[0] if bound else None, on_file=bound[1:] == ["file"])
    elif mode == "check":
        floor(Path(landing), Path(hist), out, d, spike=False)
    elif mode == "pandas":
        pandas_check(Path(landing), Path(hist), out, d)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
    # the answer is written and printed; skip interpreter teardown (pyarrow's thread pools have been seen to
    # abort at exit on this box, which would fail a measurement that already finished)
    sys.stdout.flush()
    os._exit(0)
