"""Compute every indicator for one run date and assemble the run's candidate mart partitions.

Each indicator's SQL writes `work.ind__<id>`; each mart's candidate partition for the date goes to
`work.mart__<mart>` (only the current run's rows: the work schema is scratch space of the single
writer). Nothing here touches published files.
"""

from __future__ import annotations

import importlib
import logging
import time
from datetime import date
from importlib import metadata as importlib_metadata
from importlib import resources
from typing import Literal

import duckdb

from indicators.registry import Indicator, load_catalogue, mart_sql
from pipelines.core.sql import bind, quote_ident  # used here; also still imported from here by older callers
from pipelines.ingest.yml_spec import StrictSpec, read_yml, validated

log = logging.getLogger(__name__)

FLAG_COLUMNS = (
    "entity_type, entity_id, platform, shop_id, uscc, sku_id, region_code, "
    "window_start, window_end, value, threshold, severity, evidence"
)


def pipeline_version() -> str:
    try:
        return importlib_metadata.version("market-monitor")
    except importlib_metadata.PackageNotFoundError:  # running from a source tree
        return "0+source"


class MartColumnSpec(StrictSpec):
    zh: str
    en: str


class MartSpec(StrictSpec):
    """The keys of indicators/marts/<mart>.yml; any other key is an error naming the file and the key."""

    mart: str
    schema_version: int
    title_zh: str
    title_en: str
    grain: str = ""
    key: list[str]
    built_by: Literal["sql", "python"]  # sql: indicators/marts/<mart>.sql; python: `builder` (or indicator_flags)
    builder: str | None = None  # "module:function" of a mart built in Python
    build_order: int = 50  # marts built from other marts come later
    depends_on: list[str] = []  # staging tables it reads
    columns: dict[str, MartColumnSpec]


def read_mart_file(entry) -> dict:
    raw = read_yml(entry)
    validated(MartSpec, raw, entry)
    return raw


def mart_catalogue() -> dict:
    """{"marts": {name: spec}} from indicators/marts/<mart>.yml, in a stable order."""
    folder = resources.files("indicators") / "marts"
    specs = [read_mart_file(e) for e in folder.iterdir() if e.name.endswith(".yml")]
    # build_order: marts built from other marts (tiers from flags, the draw from tiers) come later
    specs.sort(key=lambda s: (int(s.get("build_order", 50)), s["mart"]))
    return {"marts": {s["mart"]: s for s in specs}}


def run_indicator(con: duckdb.DuckDBPyConnection, indicator: Indicator, run_date: date, overrides: dict) -> int:
    values = indicator.parameters(overrides) | {"run_date": run_date}
    target = f"work.{quote_ident(indicator.work_table)}"
    con.execute(f"CREATE OR REPLACE TABLE {target} AS {indicator.sql}", bind(indicator.sql, values))
    return con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]  # noqa: S608 - identifiers from our own metadata, quoted; values are bound parameters


def build_indicator_flags(con: duckdb.DuckDBPyConnection, catalogue: list[Indicator], run_date: date,
                          versions: dict) -> None:
    """Union of every indicator's flagged rows, in a stable order."""
    parts, values = [], {"run_date": run_date} | versions
    for i, ind in enumerate(catalogue):
        values |= {f"id_{i}": ind.id, f"family_{i}": ind.family, f"policy_{i}": ind.policy_ref}
        parts.append(
            f"SELECT $id_{i} AS indicator_id, $family_{i} AS family, {FLAG_COLUMNS}, $policy_{i} AS policy_ref "  # noqa: S608 - identifiers from our own metadata, quoted; values are bound parameters
            f"FROM work.{quote_ident(ind.work_table)} WHERE flagged"
        )
    union = " UNION ALL ".join(parts) if parts else "SELECT NULL LIMIT 0"
    sql = (
        "CREATE OR REPLACE TABLE work.mart__indicator_flags AS "  # noqa: S608 - identifiers from our own metadata, quoted; values are bound parameters
        "SELECT $run_date::DATE AS dt, sha256(indicator_id || '|' || entity_id || '|' || window_start::VARCHAR)[1:16] AS flag_id, "
        "indicator_id, family, entity_type, entity_id, platform, shop_id, uscc, sku_id, region_code, "
        "window_start::DATE AS window_start, window_end::DATE AS window_end, value::DOUBLE AS value, "
        "threshold::DOUBLE AS threshold, severity, evidence, policy_ref, "
        "$pipeline_version::VARCHAR AS pipeline_version, $schema_version::INTEGER AS schema_version "
        f"FROM ({union}) ORDER BY indicator_id, entity_id, window_start"
    )
    con.execute(sql, bind(sql, values))


def compute_day(con: duckdb.DuckDBPyConnection, run_date: date, overrides: dict | None = None) -> dict:
    """Run every indicator and build every mart's candidate partition. Returns row counts."""
    catalogue = load_catalogue()
    marts = mart_catalogue()["marts"]
    counts = {}
    for ind in catalogue:
        t0 = time.perf_counter()
        counts[ind.id] = run_indicator(con, ind, run_date, overrides or {})
        # one debug line per step: `market-monitor -v run` shows where a day's compute time goes
        # (benchmarks/run.py reads these lines for its per-indicator profile)
        log.debug("computed indicator %s: %d rows in %.3f s", ind.id, counts[ind.id], time.perf_counter() - t0)
    for mart, spec in marts.items():
        t0 = time.perf_counter()
        versions = {"pipeline_version": pipeline_version(), "schema_version": int(spec["schema_version"])}
        if mart == "indicator_flags":
            build_indicator_flags(con, catalogue, run_date, versions)
        elif spec.get("built_by") == "sql":
            sql = mart_sql(mart)
            con.execute(
                f"CREATE OR REPLACE TABLE work.{quote_ident('mart__' + mart)} AS {sql}",
                bind(sql, {"run_date": run_date} | versions),
            )
        elif spec.get("built_by") == "python" and spec.get("builder"):
            # a mart assembled by a function (e.g. indicators.credit.tiers:build_merchant_credit_tiers) that
            # binds its own configuration and keeps its own history; it returns extra counts to report
            module, _, func = spec["builder"].partition(":")
            builder = getattr(importlib.import_module(module), func)
            counts.update(builder(con, run_date, versions, overrides or {}) or {})
        counts["mart:" + mart] = con.execute(
            f"SELECT count(*) FROM work.{quote_ident('mart__' + mart)}"  # noqa: S608 - identifiers from our own metadata, quoted; values are bound parameters
        ).fetchall()[0][0]
        log.debug("computed mart %s: %d rows in %.3f s", mart, counts["mart:" + mart], time.perf_counter() - t0)
    return counts
