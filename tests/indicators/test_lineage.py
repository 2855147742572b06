"""The lineage is read from the SQL (DuckDB's parser), is complete (every SQL binds on a database holding
only the tables its lineage lists), orders the compute, and decides which marts a failed suite blocks."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest

from expectations.gate import guarding_suites
from indicators import lineage as lineage_mod
from indicators.compute import (
    compute_day,
    day_lineage,
    indicator_flags_sql,
    mart_catalogue,
    producers,
)
from indicators.credit import followup
from indicators.credit.tiers import load_config, sql_parameters
from indicators.registry import load_catalogue
from pipelines.core import privacy
from pipelines.core.sql import bind
from pipelines.ingest import entity
from warehouse.migrate import apply_migrations

D = date(2026, 3, 10)
CREATE_MACRO = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?MACRO\s+(\w+)", re.IGNORECASE)
TABLE_MACRO = re.compile(r"MACRO\s+\w+\s*\([^)]*\)\s+AS\s+TABLE\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A warehouse with every table the pipeline has, empty: migrations plus one compute (work, credit)."""
    path = tmp_path_factory.mktemp("lineage") / "reference.duckdb"
    con = duckdb.connect(str(path))
    apply_migrations(con)
    compute_day(con, D, {})
    con.close()
    return path


def _values(table: str) -> dict:
    """Every parameter the SQL producing `table` may bind (bind keeps those it names)."""
    catalogue = load_catalogue()
    values = {"run_date": D, "pipeline_version": "test", "schema_version": 1}
    values |= sql_parameters(load_config(), D) | indicator_flags_sql(catalogue)[1]
    values |= followup.load_config()  # inspection_followup's days (indicators/credit/config/inspection.yml)
    for ind in catalogue:
        if table == f"work.{ind.work_table}":
            values |= ind.parameters()
    return values


def _bind_alone(reference, table: str, sql: str, omit: str | None = None) -> None:
    """Build `table` from `sql` on a fresh database holding only its direct lineage (empty copies)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{reference}' AS ref (READ_ONLY)")
        for name in sorted(lineage_mod.tables_read(sql, table) - {omit}):
            schema = name.split(".", 1)[0]
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM ref.{name} LIMIT 0")  # noqa: S608 - names from our SQL
        con.execute("DETACH ref")
        con.execute("CREATE SCHEMA IF NOT EXISTS work")
        entity.register(con)
        # DuckDB binds a table macro when it is created: only the macros this SQL uses, whose tables are here
        used = lineage_mod.table_macros_used(sql, table)
        for statement in duckdb.extract_statements(lineage_mod.macros_sql()):
            name = CREATE_MACRO.search(statement.query)
            # scalar macros (mm_fold_text) read no table: always there, as compute creates them
            if name and (name.group(1) in used or not TABLE_MACRO.search(statement.query)):
                con.execute(statement.query)
        privacy.register(con)  # mm_mask, created with the macros by indicators.compute.create_macros
        con.execute(f"CREATE TABLE {table} AS {sql}", bind(sql, _values(table)))
    finally:
        con.close()


def test_every_sql_binds_on_its_lineage_alone(reference):
    """Complete lineage: each indicator, helper query and mart builds where only the tables its lineage
    lists exist. A table read but not listed would be missing and the statement would not bind."""
    found = producers()
    assert len(found) >= len(load_catalogue()) + len(mart_catalogue()["marts"])
    for table, sql in found.items():
        _bind_alone(reference, table, sql)


def test_a_table_left_out_of_the_lineage_fails_to_bind(reference):
    """The check above can fail: drop one listed table and the SQL no longer binds."""
    sql = producers()["work.mart__complaint_rates"]
    left_out = sorted(t for t in lineage_mod.tables_read(sql) if t.startswith("work."))[0]
    with pytest.raises(duckdb.CatalogException, match=left_out.split(".")[1]):
        _bind_alone(reference, "work.mart__complaint_rates", sql, omit=left_out)


def test_parser_sees_ctes_subqueries_and_table_macros():
    sql = ("WITH recent AS (SELECT * FROM staging.penalties) "
           "SELECT * FROM recent JOIN registry_as_of($run_date) r USING (uscc) "
           "WHERE uscc IN (SELECT uscc FROM meta.credit_flag_history)")
    # the macro reads the register and the blocked batches it leaves out (indicators/macros.sql)
    assert lineage_mod.tables_read(sql) == {"staging.penalties", "staging.registry", "meta.credit_flag_history",
                                            "meta.blocked_batches"}
    with pytest.raises(lineage_mod.LineageError, match="without a schema"):
        lineage_mod.tables_read("SELECT * FROM penalties")
    with pytest.raises(lineage_mod.LineageError, match="cannot parse"):
        lineage_mod.tables_read("DELETE FROM staging.penalties")


def test_flags_and_tiers_read_every_source_their_indicators_read():
    lineage = day_lineage()
    flags = lineage.sources("work.mart__indicator_flags")
    for ind in load_catalogue():  # the union of every indicator: all of their inputs
        assert lineage.sources(f"work.{ind.work_table}") <= flags, ind.id
    assert {"staging.complaints_12315", "staging.olist_order_reviews", "staging.price_observations"} <= flags
    tiers = lineage.inputs("work.mart__merchant_credit_tiers")
    assert {"work.mart__indicator_flags", "work.credit__records", "staging.complaints_12315",
            "staging.penalties"} <= tiers


def test_a_failed_complaints_batch_blocks_every_mart_built_from_it():
    lineage = day_lineage()
    blocked = {m for m in mart_catalogue()["marts"] if "staging.complaints_12315" in guarding_suites(m, lineage)}
    assert {"complaint_rates", "indicator_flags", "merchant_credit_tiers", "inspection_sample"} <= blocked
    assert "price_reference_checks" not in blocked and "collusion_screens" not in blocked
    # a blocked lead list blocks the tiers scored from it
    assert "mart.indicator_flags" in guarding_suites("merchant_credit_tiers", lineage)
    assert guarding_suites("collusion_screens", lineage)[0] == "mart.collusion_screens"
    assert "meta.ingestion_ledger" in guarding_suites("collusion_screens", lineage)


def test_build_order_follows_the_lineage():
    lineage = day_lineage()
    tables = [t for t in producers() if t.startswith(("work.ind__", "work.mart__"))]
    order = lineage.order(tables)
    assert sorted(order) == sorted(tables)
    for i, table in enumerate(order):
        later = set(order[i + 1:])
        assert not (lineage.inputs(table) - {table}) & later, f"{table} is built before a table it reads"
    assert order.index("work.mart__indicator_flags") < order.index("work.mart__merchant_credit_tiers") \
        < order.index("work.mart__inspection_sample")


def test_a_cycle_is_an_error():
    cyclic = lineage_mod.Lineage(reads={"work.a": frozenset({"work.b"}), "work.b": frozenset({"work.a"})})
    with pytest.raises(lineage_mod.LineageError, match="cycle"):
        cyclic.order(["work.a", "work.b"])


def test_quality_doc_lists_what_blocks_each_mart():
    """docs/QUALITY.md carries the table generated from the lineage (refresh it with
    `.venv/bin/python -m indicators.lineage --write`)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "QUALITY.md").read_text(encoding="utf-8")
    assert lineage_mod.blocking_section(day_lineage(), list(mart_catalogue()["marts"])) in text
