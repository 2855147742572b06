"""Source catalogue: one yml per source in pipelines/ingest/sources/ (read by ingestion, docs, quality, DAGs).

Adding a source = adding `pipelines/ingest/sources/<id>.yml` (plus its Great Expectations suite in
expectations/suites/staging_<table>.py). The source ids are the yml file names; nothing else lists
them. Every yml is checked against pipelines.ingest.source_spec when this module is imported: an
unknown or misspelt key is a UserError naming the file and the key.

Keys of a source yml (required ones marked *):

    id*            the source id; must equal the file name without .yml
    title*         human title (docs/SOURCES.md)
    order*         position among the sources (lower first, ties by id): the order in which a day's
                   landing folders are ingested, the order of docs/SOURCES.md and of the DAG list
    schedule*      cron (five fields, Asia/Shanghai) of the source's ingest_<id> DAG: when the drop for
                   business date D is normally complete, on D+1
    expected*      when a drop for business date D must be there (the freshness check of the gate,
                   pipelines/ingest/freshness.py): daily, weekly:<mon|tue|wed|thu|fri|sat|sun> (D is
                   that weekday), or on_events (never required: sent when something happens)
    publisher      {name, url}
    landing_page   URL of the publisher's page (docs)
    download_url   what `market-monitor fetch` downloads (null: pass --url)
    licence        licence or terms of the data
    refresh        how often the publisher refreshes it (free text)
    ci_test        whether CI tests the adapter on real or generated files
    tables*        one or more tables, each:
      table*           staging/raw table name
      file_patterns    globs on the landed file name (case-insensitive) this table takes; the first
                       table whose pattern matches takes the file (default ["*"])
      formats          [csv] and/or [json] (default [csv])
      columns*         each: name* (canonical snake_case), type (text, free_text, enum, uscc, timestamp,
                       date, integer, boolean, price, decimal; default text), aliases (headers accepted
                       besides the name), required (the header must have it), nullable (default true),
                       scale (decimals of price/decimal, default 2), values (of an enum), null_values
                       (texts read as NULL), strip_decimal_zero ("12.0" -> "12"), description {zh, en}
      key              columns identifying a row: a later row with the key of an earlier one in the
                       same file is quarantined, unless `history`
      history          later rows update earlier ones and every version is kept (<table>_current view)
      current_order    ordering of the _current view (latest first)
      event_column     column that may not lie after the business date (else the row is quarantined)
      row_bounds       {min, max} rows expected per daily file (quality gate)
      versions         header versions: [{name, detect: [headers that identify it]}], first match wins
      derived          extra staging columns computed in SQL: [{name, type, sql}]
      description      {zh, en}
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.errors import UserError
from pipelines.ingest.cyprus import CYPRUS_MAPPING_DOC
from pipelines.ingest.source_spec import ColumnSpec, SourceSpec, TableSpec
from pipelines.ingest.yml_spec import read_yml, validated

SOURCES_DIR = Path(__file__).resolve().parent / "sources"

# column type -> DuckDB type of the staging column
TYPES = {
    "text": "VARCHAR",
    "free_text": "VARCHAR",
    "enum": "VARCHAR",
    "uscc": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
    "price": "DECIMAL(18, {scale})",
    "decimal": "DECIMAL(18, {scale})",
}


def header_key(text: str) -> str:
    """How headers are compared: NFKC (full-width brackets/letters to half-width), trimmed,
    case-folded, inner whitespace collapsed. '挽回经济损失（元）' == '挽回经济损失(元)'."""
    text = unicodedata.normalize("NFKC", text or "").replace("\ufeff", "")
    return " ".join(text.strip().casefold().split())


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    nullable: bool = True
    scale: int = 2
    values: tuple[str, ...] = ()
    null_values: tuple[str, ...] = ()
    strip_decimal_zero: bool = False
    description_zh: str = ""
    description_en: str = ""

    @property
    def sql_type(self) -> str:
        return TYPES[self.type].format(scale=self.scale)

    @property
    def header_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(header_key(a) for a in (self.name, *self.aliases)))


@dataclass(frozen=True)
class Derived:
    name: str
    type: str
    sql: str

    @property
    def sql_type(self) -> str:
        return TYPES.get(self.type, self.type).format(scale=2)


@dataclass(frozen=True)
class Table:
    source: str
    table: str
    file_patterns: tuple[str, ...]
    formats: tuple[str, ...]
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    history: bool = False
    current_order: tuple[str, ...] = ()
    event_column: str | None = None
    row_bounds: dict = field(default_factory=dict)
    versions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    derived: tuple[Derived, ...] = ()
    description_zh: str = ""
    description_en: str = ""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def staging_columns(self) -> list[tuple[str, str]]:
        """(name, DuckDB type) of the staging table, lineage columns excluded."""
        out: list[tuple[str, str]] = []
        for col in self.columns:
            out.append((col.name, col.sql_type))
            if col.type == "uscc":
                out.append((f"{col.name}_valid", "BOOLEAN"))
        for d in self.derived:
            out.append((d.name, d.sql_type))
        if self.versions:
            out.append(("header_version", "VARCHAR"))
        return out


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: dict
    landing_page: str | None
    download_url: str | None
    licence: str
    refresh: str
    ci_test: bool
    tables: tuple[Table, ...]
    order: int
    schedule: str
    expected: str = "on_events"  # daily | weekly:<weekday> | on_events (source_spec.SourceSpec.expected)


def _column(spec: ColumnSpec) -> Column:
    return Column(
        name=spec.name,
        type=spec.type,
        aliases=tuple(spec.aliases),
        required=spec.required,
        nullable=spec.nullable,
        scale=spec.scale,
        values=tuple(spec.values),
        null_values=tuple(spec.null_values),
        strip_decimal_zero=spec.strip_decimal_zero,
        description_zh=spec.description.zh,
        description_en=spec.description.en,
    )


def _table(source_id: str, spec: TableSpec) -> Table:
    return Table(
        source=source_id,
        table=spec.table,
        file_patterns=tuple(spec.file_patterns or ("*",)),
        formats=tuple(spec.formats or ("csv",)),
        columns=tuple(_column(c) for c in spec.columns),
        key=tuple(spec.key),
        history=spec.history,
        current_order=tuple(spec.current_order),
        event_column=spec.event_column,
        row_bounds=spec.row_bounds.model_dump(exclude_unset=True),
        versions=tuple((v.name, tuple(v.detect)) for v in spec.versions),
        derived=tuple(Derived(d.name, d.type, d.sql) for d in spec.derived),
        description_zh=spec.description.zh,
        description_en=spec.description.en,
    )


def read_source_file(path: Path) -> Source:
    """One source yml, validated (UserError naming the file and the key when it is not valid)."""
    spec = validated(SourceSpec, read_yml(path), path)
    if spec.id != path.stem:
        raise UserError(f"{path}: id {spec.id!r} differs from the file name; name the file {spec.id}.yml")
    return Source(
        id=spec.id,
        title=spec.title,
        publisher=spec.publisher.model_dump(exclude_unset=True),
        landing_page=spec.landing_page,
        download_url=spec.download_url,
        licence=spec.licence,
        refresh=spec.refresh,
        ci_test=spec.ci_test,
        tables=tuple(_table(spec.id, t) for t in spec.tables),
        order=spec.order,
        schedule=spec.schedule,
        expected=spec.expected,
    )


def _read_catalogue(folder: Path) -> dict[str, Source]:
    sources = [read_source_file(path) for path in sorted(folder.glob("*.yml"))]
    return {s.id: s for s in sorted(sources, key=lambda s: (s.order, s.id))}


_CATALOGUE = _read_catalogue(SOURCES_DIR)
SOURCE_IDS: tuple[str, ...] = tuple(_CATALOGUE)  # in `order`


def load_source(source_id: str) -> Source:
    if source_id not in _CATALOGUE:
        raise KeyError(f"unknown source id {source_id!r}; known: {', '.join(SOURCE_IDS)}")
    return _CATALOGUE[source_id]


def all_sources() -> list[Source]:
    return list(_CATALOGUE.values())


def all_tables() -> list[Table]:
    return [t for s in all_sources() for t in s.tables]


_TYPE_DOC = {
    "text": "text",
    "free_text": "free text (masked in staging)",
    "enum": "one of",
    "uscc": "统一社会信用代码 (+ `_valid`)",
    "timestamp": "timestamp",
    "date": "date",
    "integer": "integer",
    "boolean": "boolean",
    "price": "price > 0",
    "decimal": "number",
}


def _expected_doc(expected: str) -> str:
    if expected == "daily":
        return "daily: a run for D without a file of this source marks the day incomplete"
    if expected.startswith("weekly:"):
        return f"weekly, for every business date that is a {expected.split(':', 1)[1]}"
    return "on events: never required (a day without a drop is a day without news)"


def _cell(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_sources_md() -> str:
    """docs/SOURCES.md, generated from pipelines/ingest/sources/*.yml (a test keeps the two in step)."""
    out = [
        "# Sources",
        "",
        "Generated from `pipelines/ingest/sources/*.yml` by `pipelines.ingest.catalogue.render_sources_md()`;",
        "do not edit by hand (`python -c \"from pipelines.ingest.catalogue import write_sources_md; write_sources_md()\"`).",
        "",
        "Every file in `landing/<source>/<D>/` ending in `.csv`, `.tsv`, `.txt`, `.json` or `.zip` is read.",
        "Headers are matched by name (NFKC-folded, case-insensitive, so full- and half-width brackets",
        "match); extra columns are not loaded: they stay in the landing file, the raw record (`market-monitor",
        "raw-line` shows a row as it arrived), and are ignored downstream; a missing",
        "required column rejects the file. Encodings: UTF-8 (with or without BOM), GBK/GB18030",
        "(detected with charset-normalizer and transcoded). Delimiter: comma or tab.",
        "",
        "Files as spreadsheets send them: LF, CRLF or CR-only (old Mac) line endings, and a mix of CRLF",
        "and LF in one file (read again from a copy with LF endings when DuckDB's strict parser refuses",
        "it; the ledger message then says \"mixed line endings read as LF\"); a BOM; blank lines at the end;",
        "a last line without a newline; quoted fields with embedded newlines (kept as sent, or with LF",
        "endings in a mixed file). A file DuckDB cannot read as CSV even then is rejected with its reason.",
        "",
        "The same file twice: a file whose content (sha256) was already loaded for the same source and",
        "date under another name (a re-send, a copy in a second zip) is not loaded again: ledger outcome",
        "`duplicate`, 0 rows, the message names the first file. A row whose key (below) was already loaded",
        "from another file of the same source and date is quarantined as a duplicate naming that file and",
        "its row; the rest of the file loads.",
        "",
        "Values: timestamps `YYYY-MM-DD HH:MM[:SS]` local (Asia/Shanghai) or ISO 8601 with an offset",
        "(converted to Asia/Shanghai); dates `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, `YYYY年M月D日`;",
        "booleans `true/false`, `1/0`, `是/否`, `yes/no`; numbers may carry `¥`/`￥` and thousands",
        "separators; prices must be > 0. 统一社会信用代码 are NFKC-folded and upper-cased and get a",
        "companion `<column>_valid` (GB 32100 check, same rule as `stdnum.cn.uscc`). A row whose event",
        "column lies after the business date is quarantined as future. A second row with the key of an",
        "earlier row, in the same file or in another file of the same source and date, is quarantined",
        "(except for tables with history, where later rows update earlier ones).",
        "",
        "When a source is expected (`expected:` in its yml; the freshness check of the quality gate,",
        "docs/RELIABILITY.md): `daily` sources must deliver for every business date, `weekly:<weekday>`",
        "sources on that weekday, `on_events` sources never. A source is expected from its first delivery",
        "in the home on. A run for D where an expected source delivered nothing (no file in",
        "`landing/<source>/<D>/`, or only rejected files) marks the day incomplete: the marts that read it",
        "are not published for D, the bulletin opens with what is missing, `status` says so and `run`",
        "exits 1. Chosen per source by what it is: the price feed, the platforms' order exports and the",
        "12315 registrations come every day (the bundled sample delivers all three on each of its 14 days);",
        "the register, penalties, the two lists, quality-sampling results and spot-check results are",
        "sent when something happens (the sample delivers them on some of its days), and the CFPB and",
        "Online Retail extracts are public datasets loaded when fetched: all of these are `on_events`.",
        "",
    ]
    for src in all_sources():
        pub = src.publisher or {}
        out += [
            f"## `{src.id}` — {src.title}",
            "",
            f"- Publisher: {pub.get('name') or '—'}" + (f" ({pub['url']})" if pub.get("url") else ""),
            f"- Landing page: {src.landing_page or '—'}",
            f"- Download URL (`market-monitor fetch`): {src.download_url or '— (use `--url`)'}",
            f"- Licence: {src.licence}",
            f"- Refresh: {src.refresh}",
            f"- Expected (freshness): {_expected_doc(src.expected)}",
            f"- CI test on real or generated files: {'yes' if src.ci_test else 'no'}",
            "",
        ]
        for t in src.tables:
            out += [
                f"### `staging.{t.table}`",
                "",
                f"{t.description_en}",
                "",
                f"{t.description_zh}",
                "",
                f"- Files: {', '.join('`' + p + '`' for p in t.file_patterns)} ({', '.join(t.formats)})",
                f"- Key: {', '.join(t.key) if t.key else '— (none)'}"
                + (" — later rows update, history kept" if t.history else ""),
                f"- Event column (future check): {t.event_column or '—'}",
                f"- Rows per daily file: {t.row_bounds.get('min', '—')} … {t.row_bounds.get('max', '—')}",
            ]
            if t.versions:
                out.append(
                    "- Header versions: "
                    + "; ".join(f"{n} (detected by {', '.join(d)})" for n, d in t.versions)
                )
            out += [
                "",
                "| column | headers accepted | type | required | null allowed | 说明 | description |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            for c in t.columns:
                typ = _TYPE_DOC[c.type] + (f" {', '.join(c.values)}" if c.values else "")
                heads = ", ".join(f"`{a}`" for a in dict.fromkeys((c.name, *c.aliases)))
                out.append(
                    f"| `{c.name}` | {_cell(heads)} | {_cell(typ)} | {'yes' if c.required else 'no'} | "
                    f"{'yes' if c.nullable else 'no'} | {_cell(c.description_zh)} | {_cell(c.description_en)} |"
                )
            for d in t.derived:
                out.append(f"| `{d.name}` | (derived) | {_cell(d.sql_type)} | — | — | | `{_cell(d.sql)}` |")
            out.append("")
    out += [CYPRUS_MAPPING_DOC.strip(), ""]
    return "\n".join(out)


def write_sources_md(path: Path | None = None) -> Path:
    path = path or SOURCES_DIR.parents[2] / "docs" / "SOURCES.md"  # pipelines/ingest/sources -> the repository
    path.write_text(render_sources_md(), encoding="utf-8")
    return path
