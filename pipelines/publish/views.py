"""The warehouse's views over the published marts: one view per mart (the mart names of
docs/CONTRACT.md §4) and `data_dictionary`, each a SELECT over the mart's parquet files.

The writer creates them in the warehouse after publish, with every column commented from the data
dictionary (`create_mart_views`); the read-only query session (pipelines/serve/query.py) creates the
same views as temporary ones when the warehouse lacks them (`view_sources`). Paths and comments are SQL
string literals (DDL and table functions take no bound parameters), quoted with quote_literal.
"""

from __future__ import annotations

import duckdb

from indicators.compute import mart_catalogue
from pipelines.core.home import DICTIONARY_MART, Home
from pipelines.core.sql import quote_ident, quote_literal


def published_marts(home: Home) -> list[str]:
    """Catalogue marts first (in build order), then any other published mart folder."""
    names = [m for m in mart_catalogue()["marts"] if home.partition_files(m)]
    if home.marts.exists():
        for folder in sorted(p for p in home.marts.iterdir() if p.is_dir()):
            if folder.name not in names and folder.name != DICTIONARY_MART and home.partition_files(folder.name):
                names.append(folder.name)
    return names


def read_parquet_sql(home: Home, mart: str) -> str:
    """The table function reading every partition of a mart (`dt` comes from the folder names)."""
    return (f"read_parquet({quote_literal(home.partition_glob(mart))}, hive_partitioning = true, "
            "union_by_name = true)")


def column_comment(row: dict) -> str:
    """The comment a view column carries, from its data-dictionary row: 中文 — English [unit] (from …)."""
    text = f"{row['label_zh']} — {row['meaning_en']}"
    if row["unit"]:
        text += f" [{row['unit']}]"
    if row["derived_from"]:
        text += f" (from {row['derived_from']})"
    return text


def view_sources(home: Home) -> dict[str, str]:
    """{view name: SELECT over its parquet} for every published mart and the data dictionary."""
    sources = {}
    for mart in published_marts(home):
        sources[mart] = f"SELECT * FROM {read_parquet_sql(home, mart)}"  # noqa: S608 - path quoted by quote_literal, values bound
    dictionary = home.dictionary_file
    if dictionary.exists():
        sources[DICTIONARY_MART] = f"SELECT * FROM read_parquet({quote_literal(dictionary)})"  # noqa: S608 - path quoted by quote_literal, values bound
    return sources


def create_mart_views(con: duckdb.DuckDBPyConnection, home: Home, dictionary: list[dict] | None = None) -> dict:
    """(Re)create in the warehouse one view per published mart over its parquet, plus `data_dictionary`,
    with each column commented from the dictionary rows. Returns {view: number of columns}."""
    comments = {(r["mart"], r["column_name"]): column_comment(r) for r in (dictionary or []) if r["label_zh"]}
    created = {}
    for view, select in view_sources(home).items():
        con.execute(f"CREATE OR REPLACE VIEW main.{quote_ident(view)} AS {select}")
        columns = [r[0] for r in con.execute(f"DESCRIBE main.{quote_ident(view)}").fetchall()]
        for column in columns:
            text = comments.get((view, column))
            if text:
                con.execute(f"COMMENT ON COLUMN main.{quote_ident(view)}.{quote_ident(column)} IS {quote_literal(text)}")
        created[view] = len(columns)
    return created
