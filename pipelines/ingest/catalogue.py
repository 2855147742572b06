"""Source metadata: one YAML file per source id in pipelines/ingest/sources/ (read by ingestion, docs, quality).

A source has one or more tables; each table says which files it takes (glob on the file name),
its columns (canonical English snake_case name, header aliases, type, required, nullable), its key,
the event column that may not lie after the business date, and expected row bounds per daily file.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
SOURCE_IDS = (
    "price_observations",
    "olist",
    "online_retail",
    "cfpb_complaints",
    "complaints_12315",
    "penalties",
    "abnormal_operations",
    "serious_violations",
    "registry",
)

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


def _column(raw: dict) -> Column:
    desc = raw.get("description") or {}
    return Column(
        name=raw["name"],
        type=raw.get("type", "text"),
        aliases=tuple(raw.get("aliases") or ()),
        required=bool(raw.get("required", False)),
        nullable=bool(raw.get("nullable", True)),
        scale=int(raw.get("scale", 2)),
        values=tuple(raw.get("values") or ()),
        null_values=tuple(raw.get("null_values") or ()),
        strip_decimal_zero=bool(raw.get("strip_decimal_zero", False)),
        description_zh=str(desc.get("zh", "")),
        description_en=str(desc.get("en", "")),
    )


@lru_cache(maxsize=None)
def load_source(source_id: str) -> Source:
    if source_id not in SOURCE_IDS:
        raise KeyError(f"unknown source id {source_id!r}; known: {', '.join(SOURCE_IDS)}")
    raw = yaml.safe_load((SOURCES_DIR / f"{source_id}.yml").read_text(encoding="utf-8"))
    tables = []
    for t in raw["tables"]:
        cols = tuple(_column(c) for c in t["columns"])
        for c in cols:
            if c.type not in TYPES:
                raise ValueError(f"{source_id}.yml: column {c.name} has unknown type {c.type}")
        desc = t.get("description") or {}
        tables.append(
            Table(
                source=raw["id"],
                table=t["table"],
                file_patterns=tuple(t.get("file_patterns") or ("*",)),
                formats=tuple(t.get("formats") or ("csv",)),
                columns=cols,
                key=tuple(t.get("key") or ()),
                history=bool(t.get("history", False)),
                current_order=tuple(t.get("current_order") or ()),
                event_column=t.get("event_column"),
                row_bounds=dict(t.get("row_bounds") or {}),
                versions=tuple((v["name"], tuple(v["detect"])) for v in t.get("versions") or ()),
                derived=tuple(Derived(d["name"], d["type"], d["sql"]) for d in t.get("derived") or ()),
                description_zh=str(desc.get("zh", "")),
                description_en=str(desc.get("en", "")),
            )
        )
    return Source(
        id=raw["id"],
        title=raw["title"],
        publisher=raw.get("publisher") or {},
        landing_page=raw.get("landing_page"),
        download_url=raw.get("download_url"),
        licence=raw.get("licence", ""),
        refresh=str(raw.get("refresh", "")),
        ci_test=bool(raw.get("ci_test", False)),
        tables=tuple(tables),
    )


def all_sources() -> list[Source]:
    return [load_source(s) for s in SOURCE_IDS]


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


def _cell(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_sources_md() -> str:
    """docs/SOURCES.md, generated from pipelines/ingest/sources/*.yml (a test keeps the two in step)."""
    from pipelines.ingest.cyprus import CYPRUS_MAPPING_DOC

    out = [
        "# Sources",
        "",
        "Generated from `pipelines/ingest/sources/*.yml` by `pipelines.ingest.catalogue.render_sources_md()`;",
        "do not edit by hand (`python -c \"from pipelines.ingest.catalogue import write_sources_md; write_sources_md()\"`).",
        "",
        "Every file in `landing/<source>/<D>/` ending in `.csv`, `.tsv`, `.txt`, `.json` or `.zip` is read.",
        "Headers are matched by name (NFKC-folded, case-insensitive, so full- and half-width brackets",
        "match); extra columns are kept in `raw.<table>._extra` and ignored downstream; a missing",
        "required column rejects the file. Encodings: UTF-8 (with or without BOM), GBK/GB18030",
        "(detected with charset-normalizer and transcoded). Delimiter: comma or tab.",
        "",
        "Values: timestamps `YYYY-MM-DD HH:MM[:SS]` local (Asia/Shanghai) or ISO 8601 with an offset",
        "(converted to Asia/Shanghai); dates `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, `YYYY年M月D日`;",
        "booleans `true/false`, `1/0`, `是/否`, `yes/no`; numbers may carry `¥`/`￥` and thousands",
        "separators; prices must be > 0. 统一社会信用代码 are NFKC-folded and upper-cased and get a",
        "companion `<column>_valid` (GB 32100 check, same rule as `stdnum.cn.uscc`). A row whose event",
        "column lies after the business date is quarantined as future. Inside one file a second row",
        "with the key of an earlier row is quarantined (except for tables with history, where later",
        "rows update earlier ones).",
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
    path = path or SOURCES_DIR.parents[1] / "docs" / "SOURCES.md"
    path.write_text(render_sources_md(), encoding="utf-8")
    return path
