"""What the bulletin reads: the published parquet marts, the run's bookkeeping tables and the catalogues.

Only published partitions are read, so a lead that failed the quality gate never reaches the page.
Every query here returns plain rows; turning them into page sections is `sections.py`'s job.
"""

from __future__ import annotations

from datetime import date, timedelta

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


# The bulletin reads only what it shows: counts are aggregated here, and only the top leads come back as rows.
# A 100-million-observation day publishes hundreds of thousands of leads; reading them all as Python dicts cost
# gigabytes (docs/BENCHMARKS.md, session 33).
FLAG_GROUPS_SQL = ("SELECT family, region_code, count(*) AS leads, count(*) FILTER (WHERE severity = 'high') AS high "
                   "FROM {src} WHERE dt = $d GROUP BY ALL ORDER BY ALL")
REGION_SHOPS_SQL = ("SELECT CASE WHEN list_contains($cities, region_code) THEN region_code END AS region, "
                    "count(DISTINCT shop_id) FROM {src} WHERE dt = $d GROUP BY 1")
# A lead that continues (the same indicator and entity flagged yesterday, as in the `leads` view) is not new today.
NEW_LEADS_SQL = ("SELECT count(*) FROM (SELECT indicator_id, entity_id FROM {src} WHERE dt = $d) AS t "
                 "ANTI JOIN (SELECT DISTINCT indicator_id, entity_id FROM {src} WHERE dt = $y) AS y "
                 "ON t.indicator_id IS NOT DISTINCT FROM y.indicator_id AND t.entity_id IS NOT DISTINCT FROM y.entity_id")
# The rank of sections.top_leads: most severe first, then furthest beyond the threshold (|value| / |threshold|, or
# |value| without a threshold; a value that is not a finite number ranks as 0), then indicator and entity.
_RATIO = ("CASE WHEN threshold IS NOT NULL AND threshold::DOUBLE <> 0 THEN abs(value::DOUBLE) / abs(threshold::DOUBLE) "
          "ELSE abs(value::DOUBLE) END")
TOP_FLAGS_SQL = ("SELECT * FROM {src} WHERE dt = $d QUALIFY row_number() OVER (PARTITION BY family ORDER BY "  # noqa: S608 - constants only
                 "CASE severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END DESC, "
                 f"CASE WHEN isfinite({_RATIO}) THEN {_RATIO} ELSE 0 END DESC, coalesce(indicator_id, ''), "
                 "coalesce(entity_id, ''), flag_id) <= $n ORDER BY family, indicator_id, entity_id")


def _flags_source(home: Home, day: date) -> str | None:
    src = published_source(home, "indicator_flags")
    return src if src is not None and has_partition(home, "indicator_flags", day) else None


def flag_groups(con, home: Home, day: date) -> list[tuple]:
    """(family, region_code, leads, high-severity leads) of the day's published leads; [] without a partition."""
    src = _flags_source(home, day)
    return con.execute(FLAG_GROUPS_SQL.format(src=src), {"d": day}).fetchall() if src else []


def region_shops(con, home: Home, day: date, cities: list[str]) -> dict[str | None, int]:
    """Distinct shops with a lead on the day per city of `cities` (None: every other region, or none)."""
    src = _flags_source(home, day)
    if src is None:
        return {}
    return dict(con.execute(REGION_SHOPS_SQL.format(src=src), {"d": day, "cities": cities}).fetchall())


def new_leads(con, home: Home, day: date) -> int | None:
    """Leads of the day whose indicator and entity were not flagged the day before (None without yesterday)."""
    src, yesterday = _flags_source(home, day), day - timedelta(days=1)
    if not has_partition(home, "indicator_flags", yesterday):
        return None
    return 0 if src is None else con.execute(NEW_LEADS_SQL.format(src=src), {"d": day, "y": yesterday}).fetchone()[0]


def top_flags(con, home: Home, day: date, per_family: int) -> list[dict]:
    """The day's `per_family` highest-ranked leads of each family (the rows the bulletin shows)."""
    src = _flags_source(home, day)
    return _dicts(con.execute(TOP_FLAGS_SQL.format(src=src), {"d": day, "n": per_family})) if src else []


def _latest_source(home: Home, mart: str, day: date) -> tuple[date | None, str | None]:
    """(the mart's newest partition on or before `day`, the mart as a table expression), or (None, None)."""
    latest = latest_partition(home, mart, day)
    src = published_source(home, mart)
    return (latest, src) if latest is not None and src is not None else (None, None)


def read_latest(con, home: Home, mart: str, day: date) -> tuple[date | None, list[dict]]:
    """The mart's newest partition on or before `day` (a monthly mart is not published every day)."""
    latest, src = _latest_source(home, mart, day)
    if latest is None:
        return None, []
    return latest, _dicts(con.execute(f"SELECT * FROM {src} WHERE dt = $d", {"d": latest}))  # noqa: S608 - path quoted by quote_literal, values bound


def latest_summary(con, home: Home, mart: str, day: date, column: str) -> tuple[date | None, list[tuple]]:
    """(newest partition on or before `day`, [(value of `column`, rows)]) of the mart: counts, not rows."""
    latest, src = _latest_source(home, mart, day)
    if latest is None:
        return None, []
    return latest, con.execute(f'SELECT "{column}", count(*) FROM {src} WHERE dt = $d GROUP BY 1', {"d": latest}).fetchall()  # noqa: S608 - column from the mart catalogue's code, path quoted, values bound


def read_latest_top(con, home: Home, mart: str, day: date, rank, limit: int) -> tuple[date | None, int, list[dict]]:
    """(newest partition on or before `day`, its row count, its first `limit` rows by `rank`): `rank` turns the
    partition's column names into an ORDER BY expression (or None for file order)."""
    latest, src = _latest_source(home, mart, day)
    if latest is None:
        return None, 0, []
    columns = [c[0] for c in con.execute(f"SELECT * FROM {src} LIMIT 0").description]  # noqa: S608 - path quoted by quote_literal
    order = rank(columns)
    n = con.execute(f"SELECT count(*) FROM {src} WHERE dt = $d", {"d": latest}).fetchone()[0]  # noqa: S608 - path quoted by quote_literal, values bound
    cur = con.execute(f"SELECT * FROM {src} WHERE dt = $d {f'ORDER BY {order}' if order else ''} LIMIT $n",  # noqa: S608 - path quoted, order built from the file's own column names
                      {"d": latest, "n": limit})
    return latest, n, _dicts(cur)


def tiers_of(con, home: Home, day: date, usccs: list[str]) -> dict[str, str]:
    """USCC -> tier in the newest merchant_credit_tiers partition on or before `day`, for `usccs` only."""
    latest, src = _latest_source(home, "merchant_credit_tiers", day)
    if latest is None or not usccs:
        return {}
    return dict(con.execute(f"SELECT uscc, tier FROM {src} WHERE dt = $d AND list_contains($u, uscc)",  # noqa: S608 - path quoted by quote_literal, values bound
                            {"d": latest, "u": usccs}).fetchall())


def riskiest_merchants(con, home: Home, day: date, limit: int) -> tuple[list[str], int]:
    """(the `limit` tier D then C merchants with the highest scores, how many tier C/D merchants there are) in the
    newest merchant_credit_tiers partition on or before `day`."""
    latest, src = _latest_source(home, "merchant_credit_tiers", day)
    if latest is None:
        return [], 0
    where = f"FROM {src} WHERE dt = $d AND tier IN ('C', 'D') AND uscc IS NOT NULL"
    total = con.execute(f"SELECT count(*) {where}", {"d": latest}).fetchone()[0]  # noqa: S608 - path quoted by quote_literal, values bound
    rows = con.execute(f"SELECT uscc {where} ORDER BY tier DESC, score DESC NULLS LAST, uscc LIMIT $n",  # noqa: S608 - path quoted by quote_literal, values bound
                       {"d": latest, "n": limit}).fetchall()
    return [str(r[0]) for r in rows], total


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
