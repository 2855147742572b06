"""The data dictionary (数据字典), generated from the mart metadata, and the pinned schema snapshot.

Sources of truth:

* `indicators/marts/<mart>.yml` documents every column (`zh` label, `en` meaning, optionally `unit` and
  `source`); the indicators that feed a mart (`indicators/<family>/<name>.yml`, `mart:`) and the mart's
  `depends_on` staging tables say where its figures come from;
* the column names and types are what the pipeline actually produces: every mart's candidate partition
  is built on an empty in-memory warehouse (all migrations applied), which yields the exact columns and
  types the publish step writes, in milliseconds and without any data;
* after a run, `write_dictionary_parquet(home)` reads the published parquet, so a column an analyst sees
  is in the dictionary (or listed as undocumented).

The warehouse views that carry the dictionary as column comments are in pipelines/publish/views.py;
the pinned schema snapshot and its change rule in pipelines/publish/snapshot.py.

`python -m pipelines.publish.dictionary --write [--home DIR]` rewrites docs/DATA_DICTIONARY.md,
docs/schema_snapshot.json and (when the home has marts) HOME/marts/data_dictionary/data_dictionary.parquet.
`python -m pipelines.publish.dictionary --check` exits 1 when a column is undocumented or the snapshot
changed without a schema_version bump and a CHANGELOG.md entry.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import indicators.compute as compute_module
from indicators.compute import compute_day, mart_catalogue
from indicators.registry import load_catalogue
from pipelines.core.home import DICTIONARY_MART, Home
from pipelines.core.sql import quote_ident
from pipelines.publish.parquet import published_duckdb_type
from pipelines.publish.snapshot import REPO, SNAPSHOT_JSON, render_snapshot, snapshot_drift
from pipelines.publish.views import (
    create_views,
    published_marts,
    read_parquet_sql,
    render_views_section,
    value_labels_file,
)
from warehouse.migrate import apply_migrations, migration_files

DICTIONARY_MD = REPO / "docs" / "DATA_DICTIONARY.md"

# Columns every mart carries (docs/CONTRACT.md §4): documented here once if a mart yml omits them.
COMMON_COLUMNS = {
    "dt": {"zh": "业务日期（分区）", "en": "Business date of the run that published the row (the partition key)",
           "source": "run"},
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB SQL type, as analysts see it through the views and `query`


# --------------------------------------------------------------------------- schemas


_SCHEMAS: dict[str, dict[str, list[Column]]] = {}  # schema_key -> computed_schemas (this process)


def schema_key(run_date=None) -> str:
    """What computed_schemas depends on: the text of every file of the indicators package (indicator and
    mart SQL and yml, macros, Python builders) and of the migrations, the catalogues in use (tests narrow
    them), the DuckDB version and the date. A changed SQL or yml gives another key."""
    digest = hashlib.sha256(f"{duckdb.__version__}|{run_date}".encode())
    root = Path(compute_module.__file__).parent
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".sql", ".yml", ".yaml", ".py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(repr(migration_files()).encode())
    digest.update(repr([(i.id, i.work_table, i.sql) for i in compute_module.load_catalogue()]).encode())
    digest.update(repr(list(compute_module.mart_catalogue()["marts"].items())).encode())
    digest.update(repr(list(mart_catalogue()["marts"])).encode())
    return digest.hexdigest()


def computed_schemas(run_date=None) -> dict[str, list[Column]]:
    """Every mart's columns and types as the pipeline builds them (empty warehouse, no data).

    Building them runs every indicator and mart on an empty warehouse (about a second); every publish
    refreshes the dictionary from them, so they are kept for the process under schema_key (the text of
    the SQL, yml and migrations): a run of many days builds them once, and an edited file rebuilds them."""
    key = schema_key(run_date)
    if key not in _SCHEMAS:
        if len(_SCHEMAS) >= 8:
            _SCHEMAS.clear()
        _SCHEMAS[key] = _build_schemas(run_date)
    return {mart: list(columns) for mart, columns in _SCHEMAS[key].items()}  # callers add to it


def _build_schemas(run_date=None) -> dict[str, list[Column]]:
    con = duckdb.connect(":memory:")
    try:
        apply_migrations(con)
        compute_day(con, run_date or date(2000, 1, 1), {})
        out = {}
        for mart in mart_catalogue()["marts"]:
            rows = con.execute(f"DESCRIBE work.{quote_ident('mart__' + mart)}").fetchall()
            # as published: the writer zones naive timestamps (pipelines/publish/parquet.py)
            out[mart] = [Column(r[0], published_duckdb_type(r[1])) for r in rows]
        return out
    finally:
        con.close()


def published_schemas(home, con=None) -> dict[str, list[Column]]:
    """The columns and types of every published mart, as DuckDB reads the parquet (dt from the path)."""
    own = con is None
    con = con or duckdb.connect(":memory:")
    try:
        out = {}
        for mart in published_marts(home):
            rows = con.execute(f"DESCRIBE SELECT * FROM {read_parquet_sql(home, mart)}").fetchall()  # noqa: S608 - path quoted by quote_literal (views.read_parquet_sql), values bound
            cols = [Column(r[0], r[1]) for r in rows]
            # hive puts the partition column last; show it first as in the mart SQL
            out[mart] = sorted(cols, key=lambda c: c.name != "dt")
        return out
    finally:
        if own:
            con.close()


# --------------------------------------------------------------------------- documentation


def _indicators_by_mart() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ind in load_catalogue():
        out.setdefault(ind.mart, []).append(ind.id)
    out["indicator_flags"] = [ind.id for ind in load_catalogue()]  # every lead, whichever family mart it also feeds
    return out


_UNIT_PATTERNS = [
    (re.compile(r"\(yuan\)|\byuan\b|元"), "元 yuan"),
    (re.compile(r"per 10\s?k|每万"), "每万单 per 10,000 orders"),
    (re.compile(r"\bdays?\b.*\bcount\b|\bnumber of days\b"), "天 days"),
    (re.compile(r"\bshare\b|\bproportion\b|\bratio\b|\bdiscount\b|\bpercentage\b|率"), "比例 ratio (0–1)"),
]


def column_unit(spec: dict, column: Column) -> str:
    """Explicit `unit:` in the yml wins; else read it from the meaning text; else from the type."""
    if spec.get("unit"):
        return str(spec["unit"])
    text = f"{spec.get('en', '')} {spec.get('zh', '')}"
    for pattern, unit in _UNIT_PATTERNS:
        if pattern.search(text):
            return unit
    kind = column.type.upper()
    if kind == "DATE":
        return "日期 date"
    if kind == "TIMESTAMP WITH TIME ZONE":  # naive local times are published zoned (pipelines/publish/parquet.py)
        return "时间 timestamp, Asia/Shanghai"
    if kind.startswith("TIMESTAMP"):
        return "时间 timestamp"
    if kind == "BOOLEAN":
        return "是/否 yes/no"
    if column.name.startswith("n_") or column.name.endswith(("_count", "_n")) or kind in ("BIGINT", "HUGEINT") \
            and "count" in text.lower():
        return "个 count"
    return ""


def column_source(mart_spec: dict, spec: dict, column: Column, feeders: dict[str, list[str]]) -> str:
    if spec.get("source"):
        return str(spec["source"])
    if column.name in ("pipeline_version", "schema_version", "dt"):
        return "run"
    ids = feeders.get(mart_spec.get("mart", ""), [])
    staging = [f"staging.{t}" for t in mart_spec.get("depends_on", [])]
    return ", ".join(ids + staging)


def dictionary_rows(schemas: dict[str, list[Column]]) -> list[dict]:
    """One row per mart column: the data dictionary as a table."""
    catalogue = mart_catalogue()["marts"]
    feeders = _indicators_by_mart()
    rows = []
    for mart, columns in schemas.items():
        mart_spec = catalogue.get(mart, {"mart": mart, "columns": {}})
        documented = (mart_spec.get("columns") or {})
        for position, col in enumerate(columns, start=1):
            spec = documented.get(col.name) or COMMON_COLUMNS.get(col.name) or {}
            rows.append({
                "mart": mart,
                "mart_title_zh": mart_spec.get("title_zh", ""),
                "mart_title_en": mart_spec.get("title_en", ""),
                "schema_version": int(mart_spec.get("schema_version", 0)),
                "ordinal": position,
                "column_name": col.name,
                "data_type": col.type,
                "label_zh": spec.get("zh", ""),
                "meaning_en": spec.get("en", ""),
                "unit": column_unit(spec, col),
                "derived_from": column_source(mart_spec, spec, col, feeders),
                "documented": _well_formed(spec),
            })
    return rows


SPEC_KEYS = {"zh", "en", "unit", "source", "note"}

# Labels of BOOLEAN columns whose yml gives none: a flag or yes/no column reads as 是/否.
BOOLEAN_LABELS = {"true": ("是", "yes"), "false": ("否", "no")}


def value_label_rows(schemas: dict[str, list[Column]]) -> list[dict]:
    """One row per (mart, coded column, value): the `value_labels:` of the mart ymls, the indicator names
    for `indicator_id`, and 是/否 for every BOOLEAN column without labels of its own. Only columns the
    marts really have."""
    catalogue = mart_catalogue()["marts"]
    indicators = {ind.id: (ind.name_zh, ind.name_en) for ind in load_catalogue()}
    rows = []
    for mart, columns in schemas.items():
        given = catalogue.get(mart, {}).get("value_labels") or {}
        for col in columns:
            labels = {str(v): (spec["zh"], spec["en"]) for v, spec in (given.get(col.name) or {}).items()}
            if not labels and col.name == "indicator_id":
                labels = indicators
            if not labels and col.type.upper() == "BOOLEAN":
                labels = BOOLEAN_LABELS
            rows += [{"mart": mart, "column_name": col.name, "value": value, "label_zh": zh, "label_en": en}
                     for value, (zh, en) in labels.items()]
    return rows


def stray_value_labels() -> list[str]:
    """`value_labels:` entries naming a column the mart's `columns:` does not document."""
    return [f"{mart}.{column}" for mart, spec in mart_catalogue()["marts"].items()
            for column in (spec.get("value_labels") or {}) if column not in (spec.get("columns") or {})]


def _well_formed(spec: dict) -> bool:
    """zh and en given as text, and nothing else but known keys (a stray key usually means an unquoted
    comma in a YAML flow mapping cut the meaning short)."""
    return (isinstance(spec.get("zh"), str) and isinstance(spec.get("en"), str) and bool(spec["zh"].strip())
            and bool(spec["en"].strip()) and set(spec) <= SPEC_KEYS)


def undocumented(schemas: dict[str, list[Column]]) -> dict[str, list[str]]:
    """Published columns without a Chinese label and an English meaning in the mart's yml (or whose
    yml entry is malformed)."""
    out: dict[str, list[str]] = {}
    for row in dictionary_rows(schemas):
        if not row["documented"]:
            out.setdefault(row["mart"], []).append(row["column_name"])
    return out


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(schemas: dict[str, list[Column]] | None = None) -> str:
    schemas = schemas if schemas is not None else computed_schemas()
    catalogue = mart_catalogue()["marts"]
    rows = dictionary_rows(schemas)
    labels = value_label_rows(schemas)
    out = [
        "# Data dictionary (数据字典)",
        "",
        "Generated from `indicators/marts/<mart>.yml` and the columns the pipeline produces, by",
        "`python -m pipelines.publish.dictionary --write`; do not edit by hand. The same table is published as",
        "`HOME/marts/data_dictionary/data_dictionary.parquet` and is the view `data_dictionary`. Each mart is",
        "a view of the same name whose view and column comments carry the titles and labels below. Every",
        "publish (`run`, `backfill`, `demo`, the DAGs) refreshes the dictionary files and the views in the",
        "warehouse (`HOME/warehouse.duckdb`, schema `main`, for BI tools that open it read-only);",
        "`market-monitor query` builds the same views in its own session, which holds nothing else",
        "(`market-monitor query \"SELECT view_name, comment FROM duckdb_views() WHERE NOT internal\"` lists",
        "them). Types are DuckDB SQL types as the views show them.",
        "",
        "Coded columns (severity, tier, family, status and source codes, flags) carry value labels: the",
        "table `value_labels` below each mart, published as `HOME/marts/data_dictionary/value_labels.parquet`",
        "(columns `mart, column_name, value, label_zh, label_en`) and the view `value_labels`. Every BOOLEAN",
        "column without labels of its own reads `true` = 是 yes, `false` = 否 no.",
        "",
        "| mart | 中文 | schema version | grain | columns |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mart, cols in schemas.items():
        spec = catalogue.get(mart, {})
        out.append(f"| [`{mart}`](#{mart}) | {_md(spec.get('title_zh', ''))} | {spec.get('schema_version', '')} | "
                   f"{_md(spec.get('grain', ''))} | {len(cols)} |")
    for mart in schemas:
        spec = catalogue.get(mart, {})
        out += ["", f"## {mart}", "", f"**{_md(spec.get('title_zh', ''))}** — {_md(spec.get('title_en', ''))}", "",
                f"Grain: {_md(spec.get('grain', ''))}; key: {', '.join(spec.get('key', []))}; "
                f"schema version {spec.get('schema_version', '')}; partitioned by `dt`.", "",
                "| # | column | type | 中文 | meaning | unit | from |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in (r for r in rows if r["mart"] == mart):
            label = r["label_zh"] or "**UNDOCUMENTED**"
            out.append(f"| {r['ordinal']} | `{r['column_name']}` | {r['data_type']} | {_md(label)} | "
                       f"{_md(r['meaning_en'])} | {_md(r['unit'])} | {_md(r['derived_from'])} |")
        coded = [r for r in labels if r["mart"] == mart and (r["label_zh"], r["label_en"]) not in BOOLEAN_PAIRS]
        if coded:
            out += ["", f"Value labels of `{mart}`:", "", "| column | value | 中文 | English |", "| --- | --- | --- | --- |"]
            out += [f"| `{r['column_name']}` | `{_md(r['value'])}` | {_md(r['label_zh'])} | {_md(r['label_en'])} |"
                    for r in coded]
    return "\n".join(out + render_views_section(list(schemas), _md) + EVIDENCE_AUDIT.split("\n")).rstrip() + "\n"


BOOLEAN_PAIRS = set(BOOLEAN_LABELS.values())


# Which figures of each indicator's evidence JSON are typed columns of its family mart (hand-written, kept
# beside this module; ids and id lists stay in the JSON: indicator_flags.evidence keeps the full record).
EVIDENCE_AUDIT = "\n" + (Path(__file__).parent / "evidence_audit.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- publish-time outputs


def dictionary_table(schemas: dict[str, list[Column]]) -> pa.Table:
    rows = dictionary_rows(schemas)
    schema = pa.schema([("mart", pa.string()), ("mart_title_zh", pa.string()), ("mart_title_en", pa.string()),
                        ("schema_version", pa.int32()), ("ordinal", pa.int32()), ("column_name", pa.string()),
                        ("data_type", pa.string()), ("label_zh", pa.string()), ("meaning_en", pa.string()),
                        ("unit", pa.string()), ("derived_from", pa.string()), ("documented", pa.bool_())])
    return pa.Table.from_pylist(rows, schema=schema)


def value_labels_table(schemas: dict[str, list[Column]]) -> pa.Table:
    schema = pa.schema([("mart", pa.string()), ("column_name", pa.string()), ("value", pa.string()),
                        ("label_zh", pa.string()), ("label_en", pa.string())])
    return pa.Table.from_pylist(value_label_rows(schemas), schema=schema)


def _write_atomic(table: pa.Table, target: Path, staging: Path) -> None:
    """Write beside the marts (marts/.staging), then rename into place: no reader sees a half file and
    no glob over the data_dictionary folder sees a temp file."""
    staging.mkdir(parents=True, exist_ok=True)
    tmp = staging / f"{target.name}.tmp-{uuid.uuid4().hex}"
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_dictionary_parquet(home, schemas: dict[str, list[Column]] | None = None) -> Path:
    """HOME/marts/data_dictionary/data_dictionary.parquet: every published column, and value_labels.parquet
    beside it: the labels of the coded columns' values (each an atomic replace).

    Published marts are described from their parquet; catalogue marts not yet published from the
    pipeline's own schema, so the dictionary is complete from the first run."""
    if schemas is None:
        schemas = computed_schemas()
        schemas.update(published_schemas(home))
    home.mart_dir(DICTIONARY_MART).mkdir(parents=True, exist_ok=True)
    staging = home.staging_dir / DICTIONARY_MART
    _write_atomic(dictionary_table(schemas), home.dictionary_file, staging)
    _write_atomic(value_labels_table(schemas), value_labels_file(home), staging)
    return home.dictionary_file


def after_publish(con, home) -> dict:
    """Called by the publish stage: refresh the data_dictionary parquet and the warehouse views.

    Returns {view name: number of columns}."""
    schemas = computed_schemas()
    schemas.update(published_schemas(home, con))
    write_dictionary_parquet(home, schemas)
    rows = dictionary_rows(schemas)
    # one transaction: readers see the old views or the new ones, never half of them, and the hundreds of
    # COMMENT statements commit once (each alone commits to the warehouse file)
    con.execute("BEGIN TRANSACTION")
    try:
        created = create_views(con, home, rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return created


# --------------------------------------------------------------------------- command line


def write_docs(schemas: dict[str, list[Column]] | None = None) -> list[str]:
    schemas = schemas if schemas is not None else computed_schemas()
    written = []
    for path, text in ((DICTIONARY_MD, render_markdown(schemas)), (SNAPSHOT_JSON, render_snapshot(schemas))):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(str(path.relative_to(REPO)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.publish.dictionary", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the dictionary, the snapshot and the parquet")
    parser.add_argument("--check", action="store_true", help="exit 1 on undocumented columns or snapshot drift")
    parser.add_argument("--home", help="home whose marts get the data_dictionary parquet (default: "
                                       "$MARKET_MONITOR_HOME, else ./var; skipped when it has no marts)")
    args = parser.parse_args(argv)
    schemas = computed_schemas()
    missing = undocumented(schemas)
    problems = [f"{m}: undocumented column(s) {', '.join(c)} (add them to indicators/marts/{m}.yml)"
                for m, c in missing.items()]
    problems += [f"{c}: value_labels name a column the mart does not document" for c in stray_value_labels()]
    if args.write:
        for issue in snapshot_drift(schemas):
            print(f"warning: {issue}", file=sys.stderr)
        changed = write_docs(schemas)
        print("rewrote " + ", ".join(changed) if changed else "data dictionary and snapshot up to date")
        home = Home.resolve(args.home)
        if home.marts.is_dir():
            print(f"wrote {write_dictionary_parquet(home)}")
    if args.check or not args.write:
        problems += snapshot_drift(schemas)
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
