"""Converter: CyBPP (Cyprus Billion Prices Project) scraped price files -> price_observations CSV.

The CyBPP files (`Date, Name, Subclass, Price, Division, Retailer`) are real daily scraped prices
and are used as a real-data test of the price_observations adapter. One DuckDB COPY, no row loop."""

from __future__ import annotations

from pathlib import Path

import duckdb

CYPRUS_MAPPING_DOC = """
## Cyprus CyBPP price files → `price_observations` (test mapping)

`pipelines.ingest.cyprus.cyprus_to_price_observations(src, out)` converts a CyBPP price file
(`Date, Name, Subclass, Price, Division, Retailer`; real scraped prices, EUR) into the
price_observations format, so real prices exercise the adapter. Mapping:

| price_observations | from CyBPP |
| --- | --- |
| `observation_id` | `cybpp-` + the 1-based data row of the source file (the file has no id; (Date, Name, Retailer) is not unique) |
| `observed_at` | `Date` + ` 12:00:00` (the scrape time of day is not published) |
| `platform` | `cybpp` |
| `shop_id` | `cy-` + `Retailer` lower-cased, spaces as `-` |
| `sku_id` | `cy-` + md5 of `Name` lower-cased with all whitespace removed (the product lists drop spaces inconsistently) |
| `product_name` | `Name` |
| `category` | `Subclass` |
| `price_type` | `list` |
| `price` | `Price` (EUR; staging keeps 2 decimals, so 0.0065 is stored as 0.01) |
| `currency` | `EUR` |
| `url` | empty; `region_code`, `variant`, `reference_price`, `promo_start`, `basis_disclosed`, `account_cohort`, `device`, `condition` empty |
| (extra) `division` | `Division` (kept in the landing file only) |
"""


def cyprus_to_price_observations(src: Path, out: Path) -> int:
    """Write `out` (UTF-8 CSV, price_observations headers); return the number of rows written."""
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(
            "CREATE TEMP TABLE cy AS SELECT row_number() OVER () AS r, * FROM read_csv($p, header=true, "
            "all_varchar=true, delim=',', quote='\"', escape='\"')",
            {"p": str(src)},
        )
        con.execute(
            "COPY (SELECT 'cybpp-' || r AS observation_id, \"Date\" || ' 12:00:00' AS observed_at, "
            "'cybpp' AS platform, 'cy-' || replace(lower(trim(\"Retailer\")), ' ', '-') AS shop_id, "
            "'cy-' || md5(lower(regexp_replace(\"Name\", '\\s+', '', 'g'))) AS sku_id, '' AS variant, "
            "\"Name\" AS product_name, \"Subclass\" AS category, '' AS region_code, 'list' AS price_type, "
            "\"Price\" AS price, 'EUR' AS currency, '' AS reference_price, '' AS promo_start, "
            "'' AS basis_disclosed, '' AS account_cohort, '' AS device, '' AS condition, '' AS url, "
            "\"Division\" AS division FROM cy ORDER BY r) TO $o (HEADER, DELIMITER ',')",
            {"o": str(out)},
        )
        return int(con.execute("SELECT count(*) FROM cy").fetchall()[0][0])
    finally:
        con.close()
