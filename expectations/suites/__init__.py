"""Great Expectations suites as code: one module per staging table and per mart.

Each module defines:
    SUITE        "staging.<table>" or "mart.<mart>"
    TABLE        the DuckDB table holding the batch ("staging.<table>" or "work.mart__<mart>")
    DATE_COLUMN  the column selecting the run's batch (`_business_date` for staging, `dt` for marts)
    def expectations(run_date, context) -> list[(expectation, severity)]
`blocking` expectations stop publication of the partition; `warning` ones are recorded and shown.
`context` carries what bounds need (e.g. row-count bounds from pipelines/sources/<source>.yml).
Validation runs on DataFrames taken from DuckDB (GX cannot validate DuckDB through SQLAlchemy
here: ../shared/research/stack-feasibility.md §4b).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

BLOCKING = "blocking"
WARNING = "warning"


@dataclass(frozen=True)
class Suite:
    name: str
    table: str
    date_column: str
    build: Callable


def day_bounds(run_date: date, days_before: int = 0, days_after: int = 0) -> tuple[datetime, datetime]:
    """Datetime bounds (GX compares datetime columns with datetimes, not dates)."""
    start = datetime.combine(run_date - timedelta(days=days_before), datetime.min.time())
    end = datetime.combine(run_date + timedelta(days=days_after), datetime.max.time())
    return start, end


def load_suites() -> dict[str, Suite]:
    suites = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        suite = Suite(module.SUITE, module.TABLE, module.DATE_COLUMN, module.expectations)
        if suite.name in suites:
            raise RuntimeError(f"two suite modules define {suite.name}")
        suites[suite.name] = suite
    return suites
