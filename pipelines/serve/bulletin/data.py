"""What the bulletin reads: the published parquet marts, the run's bookkeeping tables and the catalogues.

Only published partitions are read, so a lead that failed the quality gate never reaches the page.
Every query here returns plain rows; turning them into page sections is `sections.py`'s job.
"""

from __future__ import annotations

from datetime import date

from indicators.compute import mart_catalogue
from indicators.registry import load_catalogue
from pipelines.core.home import PARTITION_PREFIX, Home
from pipelines.ingest import freshness
from pipelines.publish.views import read_parquet_sql

# The quality results of a business date come from its latest run only (a rerun replaces them).
_LATEST_QUALITY_RUN = "run_id = (SELECT max(run_id) FROM meta.quality_results WHERE business_date = $d)"
QUALITY_SUITES_SQL = (
    "SELECT suite, count(*) FILTER (WHERE NOT success AND severity = 'blocking') AS blocking_failed, "  # noqa: S608 - constants only
    "count(*) FILTER (WHERE NOT success AND severity = 'warning') AS warnings, count(*) AS checks "
    f"FROM meta.quality_results WHERE business_date = $d AND {_LATEST_QUALITY_RUN} GROUP BY suite ORDER BY suite")
QUALITY_FAILURES_SQL = (
    "SELECT suite, expectation, coalesce(column_name, ''), severity, left(coalesce(observed_value, ''), 80) "  # noqa: S608 - constants only
    f"FROM meta.quality_results WHERE business_date = $d AND NOT success AND {_LATEST_QUALITY_RUN} "
    "ORDER BY severity, suite LIMIT 20")
SOURCE_LEDGER_SQL = (
    "SELECT source, max(business_date) AS latest, sum(rows_loaded) FILTER (WHERE business_date = $d), "
    "sum(rows_quarantined) FILTER (WHERE business_date = $d), count(*) FILTER (WHERE business_date = $d), "
    "max(loaded_at) FROM meta.ingestion_ledger WHERE business_date <= $d GROUP BY source ORDER BY source")
PUBLISHED_PARTITIONS_SQL = (
    "SELECT mart, rows, schema_version FROM meta.published_partitions WHERE dt = $d ORDER BY mart")


def _rows_of_day(con, sql: str, day: date) -> list[tuple]:
    """Run one of the queries above, which all take the business date as $d."""
    return con.execute(sql, {"d": day}).fetchall()


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


# --------------------------------------------------------------------------- the marts


def published_source(home: Home, mart: str) -> str | None:
    """The mart as a DuckDB table expression, or None while it has no partition at all."""
    if not home.partition_files(mart):
        return None
    return read_parquet_sql(home, mart)


def has_partition(home: Home, mart: str, day: date) -> bool:
    return home.partition_file(mart, day).exists()


def partition_days(home: Home, mart: str) -> set[date]:
    """Every business date the mart has a published partition for."""
    days = set()
    for p in home.partition_files(mart):
        try:
            days.add(date.fromisoformat(p.parent.name[len(PARTITION_PREFIX):]))
        except ValueError:
            continue
    return days


def latest_partition(home: Home, mart: str, day: date) -> date | None:
    """The newest published business date of the mart on or before `day`."""
    days = [d for d in partition_days(home, mart) if d <= day]
    return max(days) if days else None


def read_flags(con, home: Home, day: date) -> list[dict]:
    """The day's published leads (indicator_flags), in indicator and entity order."""
    src = published_source(home, "indicator_flags")
    if src is None or not has_partition(home, "indicator_flags", day):
        return []
    return _dicts(con.execute(f"SELECT * FROM {src} WHERE dt = $d ORDER BY indicator_id, entity_id", {"d": day}))  # noqa: S608 - path quoted by quote_literal, values bound


def read_latest(con, home: Home, mart: str, day: date) -> tuple[date | None, list[dict]]:
    """The mart's newest partition on or before `day` (a monthly mart is not published every day)."""
    latest = latest_partition(home, mart, day)
    src = published_source(home, mart)
    if latest is None or src is None:
        return None, []
    return latest, _dicts(con.execute(f"SELECT * FROM {src} WHERE dt = $d", {"d": latest}))  # noqa: S608 - path quoted by quote_literal, values bound


def flag_counts(con, home: Home, first: date, last: date) -> list[tuple]:
    """(family, indicator_id, dt, leads) for every day from `first` to `last` that has leads."""
    src = published_source(home, "indicator_flags")
    if src is None:
        return []
    return con.execute(
        f"SELECT family, indicator_id, dt, count(*) FROM {src} WHERE dt BETWEEN $a AND $b GROUP BY ALL",  # noqa: S608 - path quoted by quote_literal, values bound
        {"a": first, "b": last}).fetchall()


# --------------------------------------------------------------------------- the catalogues


def indicator_names() -> dict[str, str]:
    """Indicator id -> its Chinese name."""
    return {ind.id: ind.name_zh for ind in load_catalogue()}


def indicators_by_family() -> dict[str, list[str]]:
    """Family -> its indicator ids, in catalogue order."""
    known: dict[str, list[str]] = {}
    for ind in load_catalogue():
        known.setdefault(ind.family, []).append(ind.id)
    return known


def column_labels(mart: str, columns: list[str]) -> list[tuple[str, str]]:
    """(Chinese label from the mart catalogue, column name) for each column; unknown columns get ""."""
    spec = (mart_catalogue()["marts"].get(mart) or {}).get("columns") or {}
    return [((spec.get(c) or {}).get("zh", ""), c) for c in columns]


# --------------------------------------------------------------------------- the run's bookkeeping


def quality_suites(con, day: date) -> list[tuple]:
    """(suite, blocking failures, warnings, checks) of the day's latest quality run."""
    return _rows_of_day(con, QUALITY_SUITES_SQL, day)


def quality_failures(con, day: date) -> list[tuple]:
    """The first 20 failed expectations of the day's latest quality run, blocking ones first."""
    return _rows_of_day(con, QUALITY_FAILURES_SQL, day)


def source_ledger(con, day: date) -> list[tuple]:
    """Per source: latest business date loaded, the day's rows, quarantined rows, files and last load time."""
    return _rows_of_day(con, SOURCE_LEDGER_SQL, day)


def published_partitions(con, day: date) -> list[tuple]:
    """(mart, rows, schema_version) of every partition published for the day."""
    return _rows_of_day(con, PUBLISHED_PARTITIONS_SQL, day)


def day_incomplete(con, day: date) -> dict | None:
    """What the day is missing (pipelines/ingest/freshness.py): the gaps in the expected deliveries found by
    the day's latest gate, the files ingest rejected (names only) and the marts not published for the day;
    None when nothing is missing."""
    gaps = freshness.day_gaps(con, day)
    rejected = freshness.rejected_files(con, day, with_reason=False)
    if not gaps and not rejected:
        return None
    published = {m for m, *_ in published_partitions(con, day)}
    return {"gaps": gaps, "rejected": rejected,
            "not_published": [m for m in mart_catalogue()["marts"] if m not in published]}
