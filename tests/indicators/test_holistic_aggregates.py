"""No indicator keeps a median (or quantile, mode, MAD) state per group of a key that grows with the data: the only
one allowed is listed here with why (issue 23, "every indicator's plan is bounded").

A holistic aggregate's state holds every value of its group in memory and DuckDB never spills it, while a window
partition is sorted and spills: `discrimination.paired_probe` took a median per listing x cohort (about 5 M groups on
the 100 M-observation day) and ran that day out of memory alone, at 28 GB spilled (docs/BENCHMARKS.md, "Session
32"); `discrimination.loyalty_premium`'s medians per seller x SKU, `price.pre_promo_runup`'s baseline median per
promotion, `integrity.rating_burst`'s baseline median and MAD per seller and `collusion.parallelism`'s control
quantile per SKU moved to windows in the same session. DuckDB also turns a lone whole-partition window aggregate back
into a GROUP BY joined to its rows, so the plan is read (tests/indicators/plans.py), on the demo warehouse, for every
indicator and every mart built by SQL."""

from __future__ import annotations

import duckdb

from indicators.compute import create_macros, mart_catalogue
from indicators.registry import load_catalogue, mart_sql
from tests.indicators.plans import holistic_group_bys

# what each indicator may keep, and why (anything else found fails the test)
ALLOWED = {
    # bounded: the control-vs-control noise per platform, a handful of groups
    "discrimination.paired_probe": ["quantile_cont by 1 key(s)"],
}


def test_holistic_aggregates_only_over_bounded_groups(demo_home):
    home, days = demo_home
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        create_macros(con)
        found = {}
        for ind in load_catalogue():
            got = holistic_group_bys(con, ind.sql, ind.parameters({}) | {"run_date": days[-1]})
            if got:
                found[ind.id] = got
        # the marts built by SQL too (they read the last run's work tables, which the demo leaves in place)
        for mart, spec in mart_catalogue()["marts"].items():
            if spec.get("built_by") == "sql":
                values = {"run_date": days[-1], "pipeline_version": "test", "schema_version": 1}
                if got := holistic_group_bys(con, mart_sql(mart), values):
                    found[f"mart:{mart}"] = got
    finally:
        con.close()
    assert found == ALLOWED
