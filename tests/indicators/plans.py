"""What DuckDB plans for an indicator's SQL, read off EXPLAIN: for plan tests (bounded memory is a property of the
plan, not of a timing)."""

from __future__ import annotations

import json

from pipelines.core.sql import bind


def materialised_ctes(con, sql: str, values: dict) -> list[str]:
    """The names of the CTEs DuckDB materialises for `sql` bound with `values` (its own common subplans included,
    as `__common_subplan…`), in plan order."""
    [(_, text)] = con.execute("EXPLAIN (FORMAT json) " + sql, bind(sql, values)).fetchall()
    names: list[str] = []

    def walk(node):
        if node["name"] == "CTE":
            names.append(node.get("extra_info", {}).get("CTE Name", ""))
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(text):
        walk(node)
    return names
