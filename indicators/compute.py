"""Compute every indicator for one run date and assemble the run's candidate mart partitions.

Each indicator's SQL writes `work.ind__<id>`; each mart's candidate partition for the date goes to
`work.mart__<mart>` (only the current run's rows: the work schema is scratch space of the single
writer). Nothing here touches published files.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import time
from datetime import date
from importlib import metadata as importlib_metadata
from importlib import resources
from typing import Literal

import duckdb

from indicators.lineage import Lineage, build_lineage
from indicators.registry import Indicator, helper_sql, load_catalogue, mart_sql
from pipelines.core import privacy
from pipelines.core.sql import bind, quote_ident  # used here; also still imported from here by older callers
from pipelines.ingest.yml_spec import StrictSpec, read_yml, validated
from warehouse.db import memory_note

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
    build_order: int = 50  # the order marts are listed in; compute builds them in lineage order
    columns: dict[str, MartColumnSpec]
    # labels of the values of coded columns: {column: {value: {zh, en}}} (published in
    # marts/data_dictionary/value_labels.parquet; quote values YAML would read as booleans or numbers)
    value_labels: dict[str, dict[str, MartColumnSpec]] = {}


def read_mart_file(entry) -> dict:
    raw = read_yml(entry)
    validated(MartSpec, raw, entry)
    return raw


def mart_catalogue() -> dict:
    """{"marts": {name: spec}} from indicators/marts/<mart>.yml, in a stable order."""
    folder = resources.files("indicators") / "marts"
    specs = [read_mart_file(e) for e in folder.iterdir() if e.name.endswith(".yml")]
    specs.sort(key=lambda s: (int(s.get("build_order", 50)), s["mart"]))
    marts = {s["mart"]: s for s in specs}
    # `depends_on` is derived, never written in a yml: the staging tables the mart's lineage reads
    lineage = day_lineage(load_catalogue(), marts)
    for mart, spec in marts.items():
        spec["depends_on"] = staging_inputs(mart, lineage)
    return {"marts": marts}


def staging_inputs(mart: str, lineage: Lineage) -> list[str]:
    """The staging tables (names without the schema) `mart` is computed from, transitively."""
    return sorted(t.split(".", 1)[1] for t in lineage.sources(mart_table(mart)) if t.startswith("staging."))


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The shared "as of D" table macros (indicators/macros.sql), as TEMP macros of this connection. Creating
    them binds every macro (~40 ms), so a connection variable records which text it holds and a second call
    is a no-op (a variable, not a lookup that could fail: a failed statement would abort a transaction)."""
    text = (resources.files("indicators") / "macros.sql").read_text(encoding="utf-8")
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if con.execute("SELECT getvariable('mm_as_of_macros')").fetchall()[0][0] != version:
        con.execute(text)
        # mm_mask: an indicator quoting free text in its evidence (a listing title) masks it with the masker the
        # quality gate checks against (pipelines.core.privacy), so the lead list never carries a phone number
        privacy.register(con)
        con.execute("SET VARIABLE mm_as_of_macros = $v", {"v": version})


def run_indicator(con: duckdb.DuckDBPyConnection, indicator: Indicator, run_date: date, overrides: dict) -> int:
    create_macros(con)  # cheap (no data read); lets a single indicator run on any connection, as tests do
    values = indicator.parameters(overrides) | {"run_date": run_date}
    target = f"work.{quote_ident(indicator.work_table)}"
    con.execute(f"CREATE OR REPLACE TABLE {target} AS {indicator.sql}", bind(indicator.sql, values))
    return con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]  # noqa: S608 - identifiers from our own metadata, quoted; values are bound parameters


def indicator_flags_sql(catalogue: list[Indicator]) -> tuple[str, dict]:
    """The SELECT of work.mart__indicator_flags (union of every indicator's flagged rows, in a stable order)
    and the indicator ids, families and policies it binds ($run_date and the versions are the caller's)."""
    parts, values = [], {}
    for i, ind in enumerate(catalogue):
        values |= {f"id_{i}": ind.id, f"family_{i}": ind.family, f"policy_{i}": ind.policy_ref}
        parts.append(
            f"SELECT $id_{i} AS indicator_id, $family_{i} AS family, {FLAG_COLUMNS}, $policy_{i} AS policy_ref "  # noqa: S608 - identifiers from our own metadata, quoted; values are bound parameters
            f"FROM work.{quote_ident(ind.work_table)} WHERE flagged"
        )
    union = " UNION ALL ".join(parts) if parts else "SELECT NULL LIMIT 0"
    sql = (
        "SELECT $run_date::DATE AS dt, sha256(indicator_id || '|' || entity_id || '|' || window_start::VARCHAR)[1:16] AS flag_id, "  # noqa: S608 - identifiers from our own metadata, quoted; values are bound parameters
        "indicator_id, family, entity_type, entity_id, platform, shop_id, uscc, sku_id, region_code, "
        "window_start::DATE AS window_start, window_end::DATE AS window_end, value::DOUBLE AS value, "
        "threshold::DOUBLE AS threshold, severity, evidence, policy_ref, "
        "$pipeline_version::VARCHAR AS pipeline_version, $schema_version::INTEGER AS schema_version "
        f"FROM ({union}) ORDER BY indicator_id, entity_id, window_start"
    )
    return sql, values


def build_indicator_flags(con: duckdb.DuckDBPyConnection, catalogue: list[Indicator], run_date: date,
                          versions: dict) -> None:
    sql, values = indicator_flags_sql(catalogue)
    sql = f"CREATE OR REPLACE TABLE work.mart__indicator_flags AS {sql}"
    con.execute(sql, bind(sql, values | {"run_date": run_date} | versions))


def mart_table(mart: str) -> str:
    return f"work.mart__{mart}"


def producers(catalogue: list[Indicator] | None = None, marts: dict | None = None) -> dict[str, str]:
    """{work table: the SELECT that builds it} for every indicator, helper query and mart. A mart built in
    Python runs indicators/marts/<mart>.sql (and the helper queries it names, e.g. work.credit__records)."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    marts = mart_catalogue()["marts"] if marts is None else marts
    found = {f"work.{ind.work_table}": ind.sql for ind in catalogue} | helper_sql()
    for mart in marts:
        found[mart_table(mart)] = indicator_flags_sql(catalogue)[0] if mart == "indicator_flags" else mart_sql(mart)
    return found


def day_lineage(catalogue: list[Indicator] | None = None, marts: dict | None = None) -> Lineage:
    """The lineage of every indicator and mart of the catalogue (indicators/lineage.py)."""
    return build_lineage(producers(catalogue, marts))


def compute_day(con: duckdb.DuckDBPyConnection, run_date: date, overrides: dict | None = None) -> dict:
    """Run every indicator and build every mart's candidate partition. Returns row counts."""
    catalogue = load_catalogue()
    marts = mart_catalogue()["marts"]
    create_macros(con)  # the marts (credit records, tiers) read them too
    counts = {}
    # the lineage orders the work: every indicator and mart after the tables it reads
    indicators = {f"work.{ind.work_table}": ind for ind in catalogue}
    mart_tables = {mart_table(mart): mart for mart in marts}
    for table in day_lineage(catalogue, marts).order([*indicators, *mart_tables]):
        t0 = time.perf_counter()
        if table in indicators:
            ind = indicators[table]
            counts[ind.id] = run_indicator(con, ind, run_date, overrides or {})
            # one debug line per step: `market-monitor -v run` shows where a day's compute time goes
            # (benchmarks/run.py reads these lines for its per-indicator profile)
            log.debug("computed indicator %s: %d rows in %.3f s", ind.id, counts[ind.id], time.perf_counter() - t0)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("after %s: %s", ind.id, memory_note(con))
            continue
        mart = mart_tables[table]
        spec = marts[mart]
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
        if log.isEnabledFor(logging.DEBUG):
            log.debug("after mart %s: %s", mart, memory_note(con))
    return counts
