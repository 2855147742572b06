"""The data dictionary (数据字典), generated from the mart metadata, and the pinned schema snapshot.

Sources of truth:

* `indicators/marts/<mart>.yml` documents every column (`zh` label, `en` meaning, optionally `unit` and
  `source`); the indicators that feed a mart (`indicators/<family>/<name>.yml`, `mart:`) and the mart's
  `depends_on` staging tables say where its figures come from;
* the column names and types are what the pipeline actually produces: every mart's candidate partition
  is built on an empty in-memory warehouse (all migrations applied), which yields the exact columns and
  types the publish step writes, in milliseconds and without any data;
* after a run, `write_dictionary_parquet(home)` reads the published parquet, so a column an analyst sees
  is in the dictionary (or listed as undocumented).

The warehouse views that carry the dictionary as column comments are in pipelines/publish/views.py;
the pinned schema snapshot and its change rule in pipelines/publish/snapshot.py.

`python -m pipelines.publish.dictionary --write [--home DIR]` rewrites docs/DATA_DICTIONARY.md,
docs/schema_snapshot.json and (when the home has marts) HOME/marts/data_dictionary/data_dictionary.parquet.
`python -m pipelines.publish.dictionary --check` exits 1 when a column is undocumented or the snapshot
changed without a schema_version bump and a CHANGELOG.md entry.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from indicators.compute import compute_day, mart_catalogue
from indicators.registry import load_catalogue
from pipelines.core.home import DICTIONARY_MART, Home
from pipelines.core.sql import quote_ident
from pipelines.publish.parquet import published_duckdb_type
from pipelines.publish.snapshot import REPO, SNAPSHOT_JSON, render_snapshot, snapshot_drift
from pipelines.publish.views import (
    create_views,
    published_marts,
    read_parquet_sql,
    render_views_section,
    value_labels_file,
)
from warehouse.migrate import apply_migrations

DICTIONARY_MD = REPO / "docs" / "DATA_DICTIONARY.md"

# Columns every mart carries (docs/CONTRACT.md §4): documented here once if a mart yml omits them.
COMMON_COLUMNS = {
    "dt": {"zh": "业务日期（分区）", "en": "Business date of the run that published the row (the partition key)",
           "source": "run"},
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB SQL type, as analysts see it through the views and `query`


# --------------------------------------------------------------------------- schemas


def computed_schemas(run_date=None) -> dict[str, list[Column]]:
    """Every mart's columns and types as the pipeline builds them (empty warehouse, no data)."""
    con = duckdb.connect(":memory:")
    try:
        apply_migrations(con)
        compute_day(con, run_date or date(2000, 1, 1), {})
        out = {}
        for mart in mart_catalogue()["marts"]:
            rows = con.execute(f"DESCRIBE work.{quote_ident('mart__' + mart)}").fetchall()
            # as published: the writer zones naive timestamps (pipelines/publish/parquet.py)
            out[mart] = [Column(r[0], published_duckdb_type(r[1])) for r in rows]
        return out
    finally:
        con.close()


def published_schemas(home, con=None) -> dict[str, list[Column]]:
    """The columns and types of every published mart, as DuckDB reads the parquet (dt from the path)."""
    own = con is None
    con = con or duckdb.connect(":memory:")
    try:
        out = {}
        for mart in published_marts(home):
            rows = con.execute(f"DESCRIBE SELECT * FROM {read_parquet_sql(home, mart)}").fetchall()  # noqa: S608 - path quoted by quote_literal (views.read_parquet_sql), values bound
            cols = [Column(r[0], r[1]) for r in rows]
            # hive puts the partition column last; show it first as in the mart SQL
            out[mart] = sorted(cols, key=lambda c: c.name != "dt")
        return out
    finally:
        if own:
            con.close()


# --------------------------------------------------------------------------- documentation


def _indicators_by_mart() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ind in load_catalogue():
        out.setdefault(ind.mart, []).append(ind.id)
    out.setdefault("indicator_flags", [ind.id for ind in load_catalogue()])
    return out


_UNIT_PATTERNS = [
    (re.compile(r"\(yuan\)|\byuan\b|元"), "元 yuan"),
    (re.compile(r"per 10\s?k|每万"), "每万单 per 10,000 orders"),
    (re.compile(r"\bdays?\b.*\bcount\b|\bnumber of days\b"), "天 days"),
    (re.compile(r"\bshare\b|\bproportion\b|\bratio\b|\bdiscount\b|\bpercentage\b|率"), "比例 ratio (0–1)"),
]


def column_unit(spec: dict, column: Column) -> str:
    """Explicit `unit:` in the yml wins; else read it from the meaning text; else from the type."""
    if spec.get("unit"):
        return str(spec["unit"])
    text = f"{spec.get('en', '')} {spec.get('zh', '')}"
    for pattern, unit in _UNIT_PATTERNS:
        if pattern.search(text):
            return unit
    kind = column.type.upper()
    if kind == "DATE":
        return "日期 date"
    if kind == "TIMESTAMP WITH TIME ZONE":  # naive local times are published zoned (pipelines/publish/parquet.py)
        return "时间 timestamp, Asia/Shanghai"
    if kind.startswith("TIMESTAMP"):
        return "时间 timestamp"
    if kind == "BOOLEAN":
        return "是/否 yes/no"
    if column.name.startswith("n_") or column.name.endswith(("_count", "_n")) or kind in ("BIGINT", "HUGEINT") \
            and "count" in text.lower():
        return "个 count"
    return ""


def column_source(mart_spec: dict, spec: dict, column: Column, feeders: dict[str, list[str]]) -> str:
    if spec.get("source"):
        return str(spec["source"])
    if column.name in ("pipeline_version", "schema_version", "dt"):
        return "run"
    ids = feeders.get(mart_spec.get("mart", ""), [])
    staging = [f"staging.{t}" for t in mart_spec.get("depends_on", [])]
    return ", ".join(ids + staging)


def dictionary_rows(schemas: dict[str, list[Column]]) -> list[dict]:
    """One row per mart column: the data dictionary as a table."""
    catalogue = mart_catalogue()["marts"]
    feeders = _indicators_by_mart()
    rows = []
    for mart, columns in schemas.items():
        mart_spec = catalogue.get(mart, {"mart": mart, "columns": {}})
        documented = (mart_spec.get("columns") or {})
        for position, col in enumerate(columns, start=1):
            spec = documented.get(col.name) or COMMON_COLUMNS.get(col.name) or {}
            rows.append({
                "mart": mart,
                "mart_title_zh": mart_spec.get("title_zh", ""),
                "mart_title_en": mart_spec.get("title_en", ""),
                "schema_version": int(mart_spec.get("schema_version", 0)),
                "ordinal": position,
                "column_name": col.name,
                "data_type": col.type,
                "label_zh": spec.get("zh", ""),
                "meaning_en": spec.get("en", ""),
                "unit": column_unit(spec, col),
                "derived_from": column_source(mart_spec, spec, col, feeders),
                "documented": _well_formed(spec),
            })
    return rows


SPEC_KEYS = {"zh", "en", "unit", "source", "note"}

# Labels of BOOLEAN columns whose yml gives none: a flag or yes/no column reads as 是/否.
BOOLEAN_LABELS = {"true": ("是", "yes"), "false": ("否", "no")}


def value_label_rows(schemas: dict[str, list[Column]]) -> list[dict]:
    """One row per (mart, coded column, value): the `value_labels:` of the mart ymls, the indicator names
    for `indicator_id`, and 是/否 for every BOOLEAN column without labels of its own. Only columns the
    marts really have."""
    catalogue = mart_catalogue()["marts"]
    indicators = {ind.id: (ind.name_zh, ind.name_en) for ind in load_catalogue()}
    rows = []
    for mart, columns in schemas.items():
        given = catalogue.get(mart, {}).get("value_labels") or {}
        for col in columns:
            labels = {str(v): (spec["zh"], spec["en"]) for v, spec in (given.get(col.name) or {}).items()}
            if not labels and col.name == "indicator_id":
                labels = indicators
            if not labels and col.type.upper() == "BOOLEAN":
                labels = BOOLEAN_LABELS
            rows += [{"mart": mart, "column_name": col.name, "value": value, "label_zh": zh, "label_en": en}
                     for value, (zh, en) in labels.items()]
    return rows


def stray_value_labels() -> list[str]:
    """`value_labels:` entries naming a column the mart's `columns:` does not document."""
    return [f"{mart}.{column}" for mart, spec in mart_catalogue()["marts"].items()
            for column in (spec.get("value_labels") or {}) if column not in (spec.get("columns") or {})]


def _well_formed(spec: dict) -> bool:
    """zh and en given as text, and nothing else but known keys (a stray key usually means an unquoted
    comma in a YAML flow mapping cut the meaning short)."""
    return (isinstance(spec.get("zh"), str) and isinstance(spec.get("en"), str) and bool(spec["zh"].strip())
            and bool(spec["en"].strip()) and set(spec) <= SPEC_KEYS)


def undocumented(schemas: dict[str, list[Column]]) -> dict[str, list[str]]:
    """Published columns without a Chinese label and an English meaning in the mart's yml (or whose
    yml entry is malformed)."""
    out: dict[str, list[str]] = {}
    for row in dictionary_rows(schemas):
        if not row["documented"]:
            out.setdefault(row["mart"], []).append(row["column_name"])
    return out


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(schemas: dict[str, list[Column]] | None = None) -> str:
    schemas = schemas if schemas is not None else computed_schemas()
    catalogue = mart_catalogue()["marts"]
    rows = dictionary_rows(schemas)
    labels = value_label_rows(schemas)
    out = [
        "# Data dictionary (数据字典)",
        "",
        "Generated from `indicators/marts/<mart>.yml` and the columns the pipeline produces, by",
        "`python -m pipelines.publish.dictionary --write`; do not edit by hand. The same table is published as",
        "`HOME/marts/data_dictionary/data_dictionary.parquet` and is the view `data_dictionary`. Each mart is",
        "a view of the same name whose view and column comments carry the titles and labels below. Every",
        "publish (`run`, `backfill`, `demo`, the DAGs) refreshes the dictionary files and the views in the",
        "warehouse (`HOME/warehouse.duckdb`, schema `main`, for BI tools that open it read-only);",
        "`market-monitor query` builds the same views in its own session, which holds nothing else",
        "(`market-monitor query \"SELECT view_name, comment FROM duckdb_views() WHERE NOT internal\"` lists",
        "them). Types are DuckDB SQL types as the views show them.",
        "",
        "Coded columns (severity, tier, family, status and source codes, flags) carry value labels: the",
        "table `value_labels` below each mart, published as `HOME/marts/data_dictionary/value_labels.parquet`",
        "(columns `mart, column_name, value, label_zh, label_en`) and the view `value_labels`. Every BOOLEAN",
        "column without labels of its own reads `true` = 是 yes, `false` = 否 no.",
        "",
        "| mart | 中文 | schema version | grain | columns |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mart, cols in schemas.items():
        spec = catalogue.get(mart, {})
        out.append(f"| [`{mart}`](#{mart}) | {_md(spec.get('title_zh', ''))} | {spec.get('schema_version', '')} | "
                   f"{_md(spec.get('grain', ''))} | {len(cols)} |")
    for mart in schemas:
        spec = catalogue.get(mart, {})
        out += ["", f"## {mart}", "", f"**{_md(spec.get('title_zh', ''))}** — {_md(spec.get('title_en', ''))}", "",
                f"Grain: {_md(spec.get('grain', ''))}; key: {', '.join(spec.get('key', []))}; "
                f"schema version {spec.get('schema_version', '')}; partitioned by `dt`.", "",
                "| # | column | type | 中文 | meaning | unit | from |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in (r for r in rows if r["mart"] == mart):
            label = r["label_zh"] or "**UNDOCUMENTED**"
            out.append(f"| {r['ordinal']} | `{r['column_name']}` | {r['data_type']} | {_md(label)} | "
                       f"{_md(r['meaning_en'])} | {_md(r['unit'])} | {_md(r['derived_from'])} |")
        coded = [r for r in labels if r["mart"] == mart and (r["label_zh"], r["label_en"]) not in BOOLEAN_PAIRS]
        if coded:
            out += ["", f"Value labels of `{mart}`:", "", "| column | value | 中文 | English |", "| --- | --- | --- | --- |"]
            out += [f"| `{r['column_name']}` | `{_md(r['value'])}` | {_md(r['label_zh'])} | {_md(r['label_en'])} |"
                    for r in coded]
    return "\n".join(out + render_views_section(list(schemas), _md) + EVIDENCE_AUDIT.split("\n")).rstrip() + "\n"


BOOLEAN_PAIRS = set(BOOLEAN_LABELS.values())


# The audit of issue 21: which figures of each indicator's evidence JSON are typed columns of its family mart.
# Ids (order, observation, review ids) and lists stay in the JSON (indicator_flags.evidence keeps the full record).
EVIDENCE_AUDIT = """
## Evidence figures as columns

`indicator_flags.evidence` keeps every lead's full record as JSON; the figures analysts use most are also
typed columns of the indicator's family mart (join on `dt` and the entity: `promotion_id`, `listing_id`,
`cell_id`, `shop_id` or `entity_id`). Per indicator, the evidence keys and where they are typed
(**bold**: added in 0.2.0; ids and id lists stay in the JSON only):

| indicator | family mart | evidence figures typed (evidence key → column) | left in the JSON |
| --- | --- | --- | --- |
| `price.cn_reference_7d` | price_reference_checks | shown_reference_price → reference_price_shown, promo_price, cn_basis_price, cn_basis_source, trades_in_window → tx_count_7d, rpi → rpi_cn, claimed_discount → implied_discount, true_discount → true_discount_cn | basis_window (= promo_start − 7 … − 1), lowest_trade_order_id, lowest_trade_time, observation_ids |
| `price.eu_prior_30d` | price_reference_checks | shown_reference_price, promo_price, prior_price_30d, prior_price_source, days_observed_in_window → days_observed_30d, announced_reduction, true_reduction_eu, **prior_price_date** | prior_window, prior_price_observation_id, observation_ids |
| `price.phantom_reference` | price_anomalies | days_shown → reference_days_shown_90d, shown_share → reference_shown_share_90d, lowest_reference_price → lowest_reference, trades_at_or_above_reference, **trades_in_window → reference_trades_90d**, **highest_trade_price → reference_highest_trade_price_90d** | window, lowest_reference_observation_id, latest_observation_id, highest_trade_order_id |
| `price.pre_promo_runup` | price_anomalies | promo_start → runup_promo_start, runup, runup_adjusted, claimed_discount → runup_claimed_discount, **market_runup → runup_market**, **true_discount_vs_baseline → runup_true_discount**, **baseline_median_price → runup_baseline_median**, **runup_high_price** | shown_reference_price and promo_price (in price_reference_checks), runup_high_date, baseline_days_observed, observation ids |
| `price.spike_mad` | price_anomalies | price → offered_price, sku_median, sku_mad, scale_used, n_sellers, modified_z, own_median_prior → own_median_28d, own_ratio | own_days_observed, observation_id |
| `price.sustained_below_market` | price_anomalies | days_below_peer_p10 → days_below_peer_p10_28d, median_peer_p10, share_recent → order_share_recent, share_prior → order_share_prior, share_z → order_share_z, **days_with_peers → days_with_peers_28d** | median_price, median_peer_median, max_peers, orders and cell orders |
| `collusion.variance_screen` | collusion_screens | n_sellers, mean_price, sd_price, cv, category, category_cv_low_quantile, category_cv_median, price_level_vs_sku_median → price_level | shop_ids, prices, category_history_cells |
| `collusion.cover_distance` | collusion_screens | diffp, rd, rdnor, spread, skewness, kurtosis, category_rd_high_quantile, **market_rd_median**, **rd_benchmark** | shop_ids, prices, lowest/second shop ids, history cell counts |
| `collusion.parallelism` | collusion_screens | pairs → seller_pairs, parallel_pairs, max_par, max_r, control_pairs, control_par_quantile | window_days, parallel_pair_list |
| `complaints.rate_posterior` | complaint_rates | complaints, orders, raw/posterior/prior rate per 10k, Wilson bounds, prior_alpha, prior_beta, prior_source, **complaints_after_daily_cap → complaints_capped** | month (= month column), complaint_ids |
| `complaints.surge` | complaint_rates | complaints → complaints_today, expected → expected_today, **orders_today**, **baseline_complaints → surge_baseline_complaints**, **baseline_orders → surge_baseline_orders**, **p_value → surge_p_value**, **surge_ratio** | baseline_window, complaint_ids |
| `complaints.untimely_response` | complaint_rates | **complaints → untimely_window_complaints**, **timely_known → untimely_window_timely_known**, **untimely → untimely_window_untimely**, **untimely_share → untimely_window_share** (the 30-day window; timely_* columns are the month to date) | window, untimely_complaint_ids |
| `integrity.concentrate_rate` | marketplace_integrity | concentrate_rate, orders_in_window → concentrate_window_orders, distinct_buyers → concentrate_window_buyers, first/last_order_at → concentrate_window_first_at / _last_at | window_minutes (parameter), anchor order, order_ids, suspicious_buyers |
| `integrity.rating_burst` | marketplace_integrity | five_star_reviews_today → five_star_reviews, reviews_today → reviews_answered, baseline_five_star_mean → rating_baseline_mean, modified_z → rating_modified_z, poisson_tail_p → rating_poisson_p, five_star_share_today → five_star_share, baseline_five_star_share, **share_z → rating_share_z**, **coreviewers → rating_coreviewers** | baseline median and MAD, coreviewed_shops, review_ids |
| `integrity.answer_latency` | marketplace_integrity | category → latency_category, five_star_reviews_delivered → latency_reviews, answered_within_minutes_of_delivery → latency_fast, answered_before_delivery → latency_before_delivery, suspicious_share → latency_share, share_threshold → latency_share_threshold, **category_rate_excluding_seller → latency_category_rate**, **category_sellers → latency_category_sellers** | window, fast_minutes (parameter), suspicious_today, review_ids |
| `integrity.buyer_concentration` | marketplace_integrity | orders → orders_window, distinct_buyers → buyers_window, top_buyer_share, hhi → buyer_hhi, **top_buyer_orders** | window, top_buyer_id, min_orders (parameter), top_buyer_order_ids |
| `discrimination.loyalty_premium` | discrimination_screens | value (= lp), **repeat_orders**, **first_orders**, **repeat_median_price**, **first_median_price** | order id samples |
| `discrimination.paired_probe` | discrimination_screens | value, **noise_gap_quantile**, **control_pairs**, **cohorts_charged_more**, **max_cohort_median_gap**, **max_cohort_rounds**, **max_cohort_rounds_above** | min_gap (parameter), per-cohort rounds and gaps, observation ids |
"""


# --------------------------------------------------------------------------- publish-time outputs


def dictionary_table(schemas: dict[str, list[Column]]) -> pa.Table:
    rows = dictionary_rows(schemas)
    schema = pa.schema([("mart", pa.string()), ("mart_title_zh", pa.string()), ("mart_title_en", pa.string()),
                        ("schema_version", pa.int32()), ("ordinal", pa.int32()), ("column_name", pa.string()),
                        ("data_type", pa.string()), ("label_zh", pa.string()), ("meaning_en", pa.string()),
                        ("unit", pa.string()), ("derived_from", pa.string()), ("documented", pa.bool_())])
    return pa.Table.from_pylist(rows, schema=schema)


def value_labels_table(schemas: dict[str, list[Column]]) -> pa.Table:
    schema = pa.schema([("mart", pa.string()), ("column_name", pa.string()), ("value", pa.string()),
                        ("label_zh", pa.string()), ("label_en", pa.string())])
    return pa.Table.from_pylist(value_label_rows(schemas), schema=schema)


def _write_atomic(table: pa.Table, target: Path, staging: Path) -> None:
    """Write beside the marts (marts/.staging), then rename into place: no reader sees a half file and
    no glob over the data_dictionary folder sees a temp file."""
    staging.mkdir(parents=True, exist_ok=True)
    tmp = staging / f"{target.name}.tmp-{uuid.uuid4().hex}"
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_dictionary_parquet(home, schemas: dict[str, list[Column]] | None = None) -> Path:
    """HOME/marts/data_dictionary/data_dictionary.parquet: every published column, and value_labels.parquet
    beside it: the labels of the coded columns' values (each an atomic replace).

    Published marts are described from their parquet; catalogue marts not yet published from the
    pipeline's own schema, so the dictionary is complete from the first run."""
    if schemas is None:
        schemas = computed_schemas()
        schemas.update(published_schemas(home))
    home.mart_dir(DICTIONARY_MART).mkdir(parents=True, exist_ok=True)
    staging = home.staging_dir / DICTIONARY_MART
    _write_atomic(dictionary_table(schemas), home.dictionary_file, staging)
    _write_atomic(value_labels_table(schemas), value_labels_file(home), staging)
    return home.dictionary_file


def after_publish(con, home) -> dict:
    """Called by the publish stage: refresh the data_dictionary parquet and the warehouse views.

    Returns {view name: number of columns}."""
    schemas = computed_schemas()
    schemas.update(published_schemas(home, con))
    write_dictionary_parquet(home, schemas)
    return create_views(con, home, dictionary_rows(schemas))


# --------------------------------------------------------------------------- command line


def write_docs(schemas: dict[str, list[Column]] | None = None) -> list[str]:
    schemas = schemas if schemas is not None else computed_schemas()
    written = []
    for path, text in ((DICTIONARY_MD, render_markdown(schemas)), (SNAPSHOT_JSON, render_snapshot(schemas))):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(str(path.relative_to(REPO)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.publish.dictionary", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the dictionary, the snapshot and the parquet")
    parser.add_argument("--check", action="store_true", help="exit 1 on undocumented columns or snapshot drift")
    parser.add_argument("--home", help="home whose marts get the data_dictionary parquet (default: "
                                       "$MARKET_MONITOR_HOME, else ./var; skipped when it has no marts)")
    args = parser.parse_args(argv)
    schemas = computed_schemas()
    missing = undocumented(schemas)
    problems = [f"{m}: undocumented column(s) {', '.join(c)} (add them to indicators/marts/{m}.yml)"
                for m, c in missing.items()]
    problems += [f"{c}: value_labels name a column the mart does not document" for c in stray_value_labels()]
    if args.write:
        for issue in snapshot_drift(schemas):
            print(f"warning: {issue}", file=sys.stderr)
        changed = write_docs(schemas)
        print("rewrote " + ", ".join(changed) if changed else "data dictionary and snapshot up to date")
        home = Home.resolve(args.home)
        if home.marts.is_dir():
            print(f"wrote {write_dictionary_parquet(home)}")
    if args.check or not args.write:
        problems += snapshot_drift(schemas)
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
