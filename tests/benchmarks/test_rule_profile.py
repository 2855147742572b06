"""benchmarks.rule_profile.daily_sql: the cut of a rule at its `daily` CTE is a statement DuckDB runs with the
rule's own parameters, on an empty warehouse (no rows: the plan and the binding are what is checked)."""

from datetime import date

import duckdb
import pytest

from benchmarks.rule_profile import daily_sql, used_parameters
from indicators.compute import create_macros
from indicators.registry import load_catalogue
from pipelines.core.sql import bind
from warehouse.migrate import apply_migrations

WITH_DAILY = [i for i in load_catalogue() if "\ndaily AS (" in i.sql]


def test_the_rules_that_build_a_listing_day_table_are_found():
    assert {i.id for i in WITH_DAILY} >= {"price.spike_mad", "price.sustained_below_market", "collusion.parallelism"}


@pytest.mark.parametrize("ind", WITH_DAILY, ids=lambda i: i.id)
def test_the_cut_runs_with_the_rules_parameters(ind):
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    create_macros(con)
    part = daily_sql(ind.sql)
    assert part.endswith("FROM daily") and "\n--" not in part
    values = bind(ind.sql, ind.parameters({}) | {"run_date": date(2026, 11, 20)})
    assert con.execute(part, used_parameters(part, values)).fetchone() == (0, None)


def test_a_rule_without_daily_is_not_cut():
    assert daily_sql("WITH x AS (SELECT 1)\nSELECT * FROM x") is None


def test_parameters_are_matched_by_whole_name():
    assert used_parameters("SELECT $own_days_x, $k", {"own_days": 1, "own_days_x": 2, "k": 3, "kk": 4}) == {
        "own_days_x": 2, "k": 3}
