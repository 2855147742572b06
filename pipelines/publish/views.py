"""The views over the published marts: one view per mart (the mart names of docs/CONTRACT.md §4), the
data dictionary and its value labels, and the views that spare double counting of the snapshot marts
(`<mart>_latest`, `complaint_rates_month_final`, `leads`), each a SELECT over the mart's parquet files.

`create_views` makes them, with a comment on every view and every column, in whatever session it is
given: the writer calls it on the warehouse after every publish (BI tools opening warehouse.duckdb see
them), and `market-monitor query` (pipelines/serve/query.py) calls it on its own in-memory session, so a
query sees these views and nothing else of the warehouse. Paths and comments are SQL string literals (DDL
and table functions take no bound parameters), quoted with quote_literal.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from indicators.compute import mart_catalogue
from pipelines.core.home import DICTIONARY_MART, Home
from pipelines.core.sql import quote_ident, quote_literal

VALUE_LABELS_VIEW = "value_labels"
LATEST_SUFFIX = "_latest"


def published_marts(home: Home) -> list[str]:
    """Catalogue marts first (in build order), then any other published mart folder."""
    names = [m for m in mart_catalogue()["marts"] if home.partition_files(m)]
    if home.marts.exists():
        for folder in sorted(p for p in home.marts.iterdir() if p.is_dir()):
            if folder.name not in names and folder.name != DICTIONARY_MART and not folder.name.startswith((".", "_")) \
                    and home.partition_files(folder.name):
                names.append(folder.name)
    return names


def read_parquet_sql(home: Home, mart: str) -> str:
    """The table function reading every partition of a mart (`dt` comes from the folder names)."""
    return (f"read_parquet({quote_literal(home.partition_glob(mart))}, hive_partitioning = true, "
            "union_by_name = true)")


def value_labels_file(home: Home):
    """marts/data_dictionary/value_labels.parquet: the labels of the coded columns' values."""
    return home.mart_dir(DICTIONARY_MART) / "value_labels.parquet"


def column_comment(row: dict) -> str:
    """The comment a view column carries, from its data-dictionary row: 中文 — English [unit] (from …)."""
    text = f"{row['label_zh']} — {row['meaning_en']}"
    if row["unit"]:
        text += f" [{row['unit']}]"
    if row["derived_from"]:
        text += f" (from {row['derived_from']})"
    return text


# --------------------------------------------------------------------------- derived views


@dataclass(frozen=True)
class DerivedView:
    """A view over a published mart's view: what it is (comment) and the columns it adds."""

    name: str
    base: str  # the mart view it reads
    zh: str
    en: str
    select: str  # SQL over the base view; {base} is replaced by the quoted base view name
    columns: tuple[tuple[str, str, str], ...] = ()  # (column, zh, en) of columns the base mart does not have

    @property
    def comment(self) -> str:
        return f"{self.zh} — {self.en}"

    def sql(self) -> str:
        return self.select.format(base=quote_ident(self.base))


# A lead's episode: its business dates minus their rank within (indicator, entity) is constant over a run of
# consecutive dates (gaps and islands). A 28-day rule's window start slides every day, so the flag_id cannot be
# the lead's identity; the `leads` view, the bulletin's new count and the dossiers all use this one.
LEAD_EPISODE = "dt - CAST(dense_rank() OVER (PARTITION BY indicator_id, entity_id ORDER BY dt) AS INTEGER)"

LEADS = DerivedView(
    name="leads", base="indicator_flags",
    zh="线索（去重）：每条线索一行",
    en=("One row per distinct lead across all published days: a lead is an indicator and an entity flagged on "
        "consecutive business dates (an episode), so a running lead is one row whether its behaviour window "
        "grows day by day or slides with the run date (the 28-day rules), with the first and last day it was "
        "published, its earliest window start and latest window end, and the figures and evidence of its last day "
        "(of the later window when that day flagged two); a day without the flag ends the episode. Count leads "
        "here, not in indicator_flags (which repeats a running lead every day)"),
    select=f"""
        -- every figure from one flag row: the latest day's, and on that day the latest window (a day's flags of one
        -- indicator and entity differ by window_start, the mart's key), so a day with two windows is no tie
        WITH flagged AS (SELECT *, {LEAD_EPISODE} AS episode FROM {{base}})
        SELECT indicator_id, arg_max(family, (dt, window_start)) AS family,
               arg_max(entity_type, (dt, window_start)) AS entity_type, entity_id,
               min(window_start) AS window_start, max(window_end) AS window_end,
               min(dt) AS first_seen, max(dt) AS last_seen, count(DISTINCT dt) AS days_seen,
               arg_max(flag_id, (dt, window_start)) AS flag_id, arg_max(platform, (dt, window_start)) AS platform,
               arg_max(shop_id, (dt, window_start)) AS shop_id, arg_max(uscc, (dt, window_start)) AS uscc,
               arg_max(sku_id, (dt, window_start)) AS sku_id, arg_max(region_code, (dt, window_start)) AS region_code,
               arg_max(severity, (dt, window_start)) AS severity, arg_max(value, (dt, window_start)) AS value,
               arg_max(threshold, (dt, window_start)) AS threshold, arg_max(evidence, (dt, window_start)) AS evidence,
               arg_max(policy_ref, (dt, window_start)) AS policy_ref
        FROM flagged
        GROUP BY indicator_id, entity_id, episode""",  # noqa: S608 - LEAD_EPISODE is a constant of this module
    columns=(
        ("window_end", "行为截止日期（最新）", "Last date of the behaviour as of last_seen (a running lead's window grows)"),
        ("first_seen", "首次发布日期", "First business date (dt) on which the lead was published"),
        ("last_seen", "最近发布日期", "Latest business date (dt) on which the lead was published"),
        ("days_seen", "发布天数", "Number of published days (partitions) that carry the lead"),
        ("severity", "严重程度（最新）", "Severity on last_seen: low, medium or high"),
        ("value", "指标值（最新）", "The indicator's value on last_seen"),
        ("threshold", "阈值（最新）", "The threshold on last_seen"),
        ("evidence", "证据（最新）", "JSON evidence of the lead on last_seen"),
    ),
)

COMPLAINT_RATES_MONTH_FINAL = DerivedView(
    name="complaint_rates_month_final", base="complaint_rates",
    zh="投诉率（月度终值）",
    en=("complaint_rates as of each month's last published partition: the month's final figures (the running "
        "month shows its latest partition); sum or compare months here, not over the daily partitions"),
    select="""
        SELECT * FROM {base}
        QUALIFY dt = max(dt) OVER (PARTITION BY month)""",
)


def latest_view(mart: str) -> DerivedView:
    return DerivedView(
        name=f"{mart}{LATEST_SUFFIX}", base=mart,
        zh="最新分区",
        en=f"The newest published partition of {mart} (rows of the latest dt only): the current picture",
        select="SELECT * FROM {base} WHERE dt = (SELECT max(dt) FROM {base})",
    )


def derived_views(marts: list[str]) -> list[DerivedView]:
    """The derived views whose base mart is published, in a stable order."""
    views = [latest_view(m) for m in marts]
    views += [v for v in (LEADS, COMPLAINT_RATES_MONTH_FINAL) if v.base in marts]
    return views


# --------------------------------------------------------------------------- creating the views


def view_sources(home: Home) -> dict[str, str]:
    """{view name: SELECT over its parquet} for every published mart, the data dictionary and the value
    labels (the base views; the derived views read these)."""
    sources = {}
    for mart in published_marts(home):
        sources[mart] = f"SELECT * FROM {read_parquet_sql(home, mart)}"  # noqa: S608 - path quoted by quote_literal, values bound
    for view, path in ((DICTIONARY_MART, home.dictionary_file), (VALUE_LABELS_VIEW, value_labels_file(home))):
        if path.exists():
            sources[view] = f"SELECT * FROM read_parquet({quote_literal(path)})"  # noqa: S608 - path quoted by quote_literal
    return sources


BASE_VIEW_COMMENTS = {
    DICTIONARY_MART: "数据字典 — Every mart column with its Chinese label, English meaning, unit and source",
    VALUE_LABELS_VIEW: "代码值标签 — The Chinese and English label of every value of the coded columns",
}


def _comment(con, kind: str, target: str, text: str) -> None:
    con.execute(f"COMMENT ON {kind} {target} IS {quote_literal(text)}")


def create_views(con: duckdb.DuckDBPyConnection, home: Home, dictionary: list[dict] | None = None,
                 schema: str = "main") -> dict:
    """(Re)create in `con` one view per published mart over its parquet, `data_dictionary`, `value_labels`
    and the derived views, commenting each view and each column from the dictionary rows.
    Returns {view: number of columns}."""
    rows = [r for r in (dictionary or []) if r["label_zh"]]
    comments = {(r["mart"], r["column_name"]): column_comment(r) for r in rows}
    titles = {r["mart"]: f"{r['mart_title_zh']} — {r['mart_title_en']}" for r in rows if r.get("mart_title_zh")}
    created = {}

    def make(view: str, select: str, comment: str, column_comments: dict[str, str]) -> None:
        target = f"{quote_ident(schema)}.{quote_ident(view)}"
        con.execute(f"CREATE OR REPLACE VIEW {target} AS {select}")
        if comment:
            _comment(con, "VIEW", target, comment)
        columns = [r[0] for r in con.execute(f"DESCRIBE {target}").fetchall()]
        for column in columns:
            if text := column_comments.get(column):
                _comment(con, "COLUMN", f"{target}.{quote_ident(column)}", text)
        created[view] = len(columns)

    sources = view_sources(home)
    for view, select in sources.items():
        own = {c: t for (m, c), t in comments.items() if m == view}
        make(view, select, titles.get(view) or BASE_VIEW_COMMENTS.get(view, ""), own)
    for derived in derived_views([m for m in sources if m not in BASE_VIEW_COMMENTS]):
        own = {c: t for (m, c), t in comments.items() if m == derived.base}
        own |= {c: f"{zh} — {en}" for c, zh, en in derived.columns}
        make(derived.name, derived.sql(), derived.comment, own)
    return created


def create_mart_views(con: duckdb.DuckDBPyConnection, home: Home, dictionary: list[dict] | None = None) -> dict:
    """The warehouse's views (kept for callers of the earlier name)."""
    return create_views(con, home, dictionary)


def render_views_section(marts: list[str], md) -> list[str]:
    """The derived views, for docs/DATA_DICTIONARY.md (`md` escapes a table cell)."""
    out = ["", "## Views that spare double counting", "",
           "Snapshot marts repeat the running picture every day (a running lead, a month's complaint rates, a",
           "firm's tier): summing over the `dt` partitions counts them again and again. These views, in the",
           "warehouse and in `market-monitor query`, say what they are; their columns are the mart's, with",
           "the same comments, plus the ones listed.", "",
           "| view | reads | what it is | added columns |", "| --- | --- | --- | --- |"]
    for view in derived_views(marts):
        added = "; ".join(f"`{c}` {zh} — {en}" for c, zh, en in view.columns) or "—"
        out.append(f"| `{view.name}` | `{view.base}` | {md(view.comment)} | {md(added)} |")
    out += ["", f"`{VALUE_LABELS_VIEW}`, `data_dictionary` and `ingestion_ledger` (source, business_date,",
            "file_name, sha256, size_bytes, rows_read, rows_loaded, rows_quarantined, outcome, encoding,",
            "loaded_at) complete what `market-monitor query` sees; raw, staging, work and the quarantined",
            "rows are not reachable from it."]
    return out
