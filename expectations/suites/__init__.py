"""Great Expectations suites as code: one module per staging table and per mart.

Each module defines:
    SUITE        "staging.<table>", "mart.<mart>" or "meta.<table>"
    TABLE        the DuckDB table holding the batch ("staging.<table>" or "work.mart__<mart>")
    DATE_COLUMN  the column selecting the run's batch (`_business_date` for staging, `dt` for marts)
    def expectations(run_date, context) -> list[(expectation, severity)]
and optionally:
    SOURCE       the source id of a staging table (pipelines/ingest/sources/<source>.yml): the gate then
                 puts the day's file count and the table's row bounds into `context`
    BATCH_SQL    a SELECT with the named parameter $run_date giving the batch instead of
                 `SELECT * FROM TABLE WHERE DATE_COLUMN = $run_date` (for referential checks and
                 cross-table identities, computed in SQL and checked by GX as columns)
    BLOCKS       which marts a blocking failure stops: "own" (default: every mart whose lineage reads
                 TABLE, found by parsing the SQL (indicators/lineage.py), and the mart itself) or
                 "all" (e.g. the ledger identity)
`blocking` expectations stop publication of the partition; `warning` ones are recorded and shown.
Validation runs on DataFrames taken from DuckDB (GX cannot validate DuckDB through SQLAlchemy
here), or, for large batches, in DuckDB SQL (expectations/sql_checks.py).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Callable

from pipelines.ingest.catalogue import load_source

# great_expectations is imported inside the functions that use it (marked `# GX: lazy`): it takes ~4 s to
# import (measured), and this module is imported by every stage through pipelines.run.daily, so the
# ingest, publish and report stages, their Airflow tasks and the CLI's other commands do not pay it.

BLOCKING = "blocking"
WARNING = "warning"
SEVERITIES = (BLOCKING, WARNING)

# How far back an event in a day's drop may lie before it is reported (warning): a first drop may
# carry history, but anything older than the longest indicator window plus a year is suspicious.
HISTORY_DAYS = 455
REGION_CODE_REGEX = r"^\d{6}$"
USCC_VALID_SHARE = 0.9  # warning when fewer than 90 % of a day's 统一社会信用代码 pass the check


@dataclass(frozen=True)
class Suite:
    name: str
    table: str
    date_column: str
    build: Callable
    source: str | None = None
    batch_sql: str | None = None
    blocks: str = "own"


def day_bounds(run_date: date, days_before: int = 0, days_after: int = 0) -> tuple[datetime, datetime]:
    """Datetime bounds (GX compares datetime columns with datetimes, not dates)."""
    start = datetime.combine(run_date - timedelta(days=days_before), datetime.min.time())
    end = datetime.combine(run_date + timedelta(days=days_after), datetime.max.time())
    return start, end


@lru_cache(maxsize=1)
def load_suites() -> dict[str, Suite]:
    suites = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        suite = Suite(module.SUITE, module.TABLE, module.DATE_COLUMN, module.expectations,
                      getattr(module, "SOURCE", None), getattr(module, "BATCH_SQL", None),
                      getattr(module, "BLOCKS", "own"))
        if suite.name in suites:
            raise RuntimeError(f"two suite modules define {suite.name}")
        if suite.blocks not in ("own", "all"):
            raise RuntimeError(f"suite {suite.name}: BLOCKS must be 'own' or 'all'")
        suites[suite.name] = suite
    return suites


def source_table(source: str, table: str):
    for t in load_source(source).tables:
        if t.table == table:
            return t
    raise KeyError(f"source {source} has no table {table}")


def row_count_expectations(table, context: dict) -> list:
    """Row-count bounds from the source metadata (`row_bounds`, rows per daily file).

    Blocking minimum: `min` per data file that arrived for the table that day (a day without a
    file needs no rows, so a source with no drop never fails). Warning maximum: `max` per file (at
    least one), which the metadata sets at about twice a healthy day.
    """
    import great_expectations.expectations as gxe  # GX: lazy

    files = int((context or {}).get("files", 0))
    bounds = table.row_bounds or {}
    out = []
    low = int(bounds.get("min", 0) or 0) * files
    if low > 0:
        out.append((gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=None), BLOCKING))
    if bounds.get("max") is not None:
        out.append((gxe.ExpectTableRowCountToBeBetween(
            min_value=None, max_value=int(bounds["max"]) * max(files, 1)), WARNING))
    return out


def staging_expectations(source: str, table_name: str, run_date: date, context: dict | None = None,
                         history_days: int = HISTORY_DAYS) -> list:
    """The checks every staging table gets from its metadata (pipelines/ingest/sources/<source>.yml):
    required columns not null, key unique within the day (tables without history), enum domains,
    prices > 0 (column minimum), the event date not after the run date (column maximum, blocking)
    nor far before it (column minimum, warning),
    region codes of 6 digits and mostly valid 统一社会信用代码 (warnings), row-count bounds."""
    import great_expectations.expectations as gxe  # GX: lazy

    table = source_table(source, table_name)
    start, end = day_bounds(run_date, days_before=history_days)
    pairs: list = []
    for col in table.columns:
        if not col.nullable:
            pairs.append((gxe.ExpectColumnValuesToNotBeNull(column=col.name), BLOCKING))
        if col.values:
            pairs.append((gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(col.values)), BLOCKING))
        if col.type == "price" and not col.nullable:  # a column minimum is a vectorised aggregate: fast
            pairs.append((gxe.ExpectColumnMinToBeBetween(column=col.name, min_value=0, strict_min=True), BLOCKING))
        elif col.type == "price":  # may be all null (the minimum would be None): per value, nulls ignored
            pairs.append((gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=0, strict_min=True),
                          BLOCKING))
        if col.type == "uscc":
            pairs.append((gxe.ExpectColumnValuesToBeInSet(
                column=f"{col.name}_valid", value_set=[True], mostly=USCC_VALID_SHARE), WARNING))
        if col.name == "region_code":
            pairs.append((gxe.ExpectColumnValuesToMatchRegex(column=col.name, regex=REGION_CODE_REGEX), WARNING))
    if table.key and not table.history:
        if len(table.key) == 1:
            pairs.append((gxe.ExpectColumnValuesToBeUnique(column=table.key[0]), BLOCKING))
        else:
            pairs.append((gxe.ExpectCompoundColumnsToBeUnique(column_list=list(table.key)), BLOCKING))
    else:  # history or no key: each source row at most once
        pairs.append((gxe.ExpectCompoundColumnsToBeUnique(column_list=["_file_name", "_row"]), BLOCKING))
    if table.event_column:
        # max/min rather than per-value between: GX compares datetimes value by value (~10 s per 1M rows)
        pairs.append((gxe.ExpectColumnMaxToBeBetween(column=table.event_column, max_value=end), BLOCKING))
        pairs.append((gxe.ExpectColumnMinToBeBetween(column=table.event_column, min_value=start), WARNING))
    pairs += row_count_expectations(table, context or {})
    return pairs
