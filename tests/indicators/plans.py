"""What DuckDB plans for an indicator's SQL, read off EXPLAIN: for plan tests (bounded memory is a property of the
plan, not of a timing)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from pipelines.core.sql import bind


def plan_nodes(con, sql: str, values: dict) -> Iterator[dict]:
    """Every operator of the plan of `sql` bound with `values`, parents before their children."""
    [(_, text)] = con.execute("EXPLAIN (FORMAT json) " + sql, bind(sql, values)).fetchall()
    stack = list(reversed(json.loads(text)))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.get("children", [])))


def materialised_ctes(con, sql: str, values: dict) -> list[str]:
    """The names of the CTEs DuckDB materialises for `sql` bound with `values` (its own common subplans included,
    as `__common_subplan…`), in plan order."""
    return [node.get("extra_info", {}).get("CTE Name", "") for node in plan_nodes(con, sql, values)
            if node["name"] == "CTE"]


HOLISTIC = ("median(", "quantile", "mode(", "mad(")  # aggregates whose state holds every value of its group


def holistic_group_bys(con, sql: str, values: dict) -> list[str]:
    """The holistic aggregates (median, quantiles, mode, MAD) that DuckDB computes in a GROUP BY node for `sql`,
    each as "<function> by <n> key(s)". Such a state keeps every value of its group in memory and is never spilled
    (lists, string_agg and distinct counts are), so one per group of a key that grows with the data runs a big day
    out of memory. DuckDB can also plan a whole-partition window aggregate (`median(x) OVER (PARTITION BY k)` with no
    ordered window beside it) as a GROUP BY joined back, so this is read off the plan, not the SQL."""
    found: list[str] = []
    for node in plan_nodes(con, sql, values):
        if node["name"].endswith("GROUP_BY"):
            info = node.get("extra_info", {})
            aggregates, groups = info.get("Aggregates", []), info.get("Groups", [])
            aggregates = [aggregates] if isinstance(aggregates, str) else aggregates
            groups = [groups] if isinstance(groups, str) else groups
            found.extend(f"{a.split('(')[0]} by {len(groups)} key(s)"  # the function, not its column numbers
                         for a in aggregates if any(h in a for h in HOLISTIC))
    return found
