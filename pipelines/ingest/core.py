"""ingest_day: every file in landing/<source>/<D>/ into raw.*, staging.*, the ledger and quarantine.

One file = one transaction. Every row is accounted for: rows_read = rows_loaded + rows_quarantined.
All parsing and validation is one pass of SQL per file (no Python loop over rows). Values and paths
are always bound as parameters; identifiers come only from pipelines/ingest/sources/*.yml.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath

from pipelines.core.faults import fault_point
from pipelines.ingest import sqlfuncs
from pipelines.ingest.catalogue import SOURCE_IDS, Table, header_key, load_source
from pipelines.ingest.reader import FileRejected, Prepared, prepare, sha256_of

log = logging.getLogger(__name__)

DATA_ENDINGS = (".csv", ".tsv", ".txt", ".json", ".zip")
LINEAGE = ["_business_date", "_file_name", "_sha256", "_row"]
PROBLEMS_PER_FILE = 5


@dataclass
class LedgerEntry:
    source: str
    business_date: dt.date
    file_name: str
    sha256: str | None
    size_bytes: int | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    outcome: str
    message: str | None
    encoding: str | None
    loaded_at: dt.datetime
    table: str | None = field(default=None, compare=False)
    samples: list = field(default_factory=list, compare=False, repr=False)


LEDGER_COLUMNS = [f.name for f in fields(LedgerEntry)][:12]


@dataclass
class IngestReport:
    business_date: dt.date
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def rejected(self) -> list[LedgerEntry]:
        return [e for e in self.entries if e.outcome == "rejected"]

    @property
    def rows_loaded(self) -> int:
        return sum(e.rows_loaded for e in self.entries)

    @property
    def rows_quarantined(self) -> int:
        return sum(e.rows_quarantined for e in self.entries)

    def problems(self) -> list[str]:
        """Messages for a person: rejected files, and quarantined rows (file, row, column, reason)."""
        out = []
        for e in self.entries:
            where = f"landing/{e.source}/{e.business_date}/{e.file_name}"
            if e.outcome == "rejected":
                out.append(f"{where}: file rejected: {e.message}")
            elif e.rows_quarantined:
                out.append(
                    f"{where}: {e.rows_quarantined} of {e.rows_read} rows quarantined "
                    f"(see quarantine/{e.source}/{e.business_date}/)"
                )
                for row, col, reason in e.samples:
                    out.append(f"{where}: row {row}, column {col}: {reason}")
        return out


def _used(sql: str, params: dict) -> dict:
    """Only the parameters the statement names (DuckDB refuses unused ones)."""
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in names}


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# ---------------------------------------------------------------- ledger

def _previous(con, source, d, name):
    rows = con.execute(
        "SELECT sha256, outcome FROM meta.ingestion_ledger "
        "WHERE source = $s AND business_date = $d AND file_name = $f",
        {"s": source, "d": d, "f": name},
    ).fetchall()
    return rows[0] if rows else None


def _write_ledger(con, e: LedgerEntry) -> None:
    params = {c: getattr(e, c) for c in LEDGER_COLUMNS}
    cols = ", ".join(LEDGER_COLUMNS)
    vals = ", ".join(f"${c}" for c in LEDGER_COLUMNS)
    upd = ", ".join(f"{c} = excluded.{c}" for c in LEDGER_COLUMNS[3:])
    con.execute(
        f"INSERT INTO meta.ingestion_ledger ({cols}) VALUES ({vals}) "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
        f"ON CONFLICT (source, business_date, file_name) DO UPDATE SET {upd}",
        params,
    )


def _delete_file_rows(con, source: str, d, name: str) -> None:
    for t in load_source(source).tables:
        for schema in ("staging", "raw"):
            con.execute(
                f"DELETE FROM {schema}.{_q(t.table)} WHERE _business_date = $d AND _file_name = $f",  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
                {"d": d, "f": name},
            )
    con.execute(
        "DELETE FROM meta.quarantine_rows WHERE source = $s AND business_date = $d AND file_name = $f",
        {"s": source, "d": d, "f": name},
    )


def _quarantine_file(home, source, d, name) -> Path:
    safe = name.replace("/", "__").replace("\\", "__")
    return home.quarantine_dir(source, d) / f"{safe}.quarantine.csv"


def _export_quarantine(con, home, source, d, name, count) -> None:
    target = _quarantine_file(home, source, d, name)
    if not count:
        if target.exists():
            target.unlink()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name("." + target.name + ".tmp")
    con.execute(
        "COPY (SELECT row_number, column_name, reason, raw_text FROM meta.quarantine_rows "
        "WHERE source = $s AND business_date = $d AND file_name = $f "
        "ORDER BY row_number NULLS FIRST) TO $p (HEADER, DELIMITER ',')",
        {"s": source, "d": d, "f": name, "p": str(tmp)},
    )
    os.replace(tmp, target)


# ---------------------------------------------------------------- SQL building

def _match_columns(table: Table, header: list[str]):
    """canonical column -> 1-based position in the file; extras = positions not used."""
    keys = [header_key(h) for h in header]
    mapping: dict[str, int] = {}
    for col in table.columns:
        for k in col.header_keys:
            if k in keys:
                mapping[col.name] = keys.index(k) + 1
                break
    missing = [c for c in table.columns if c.required and c.name not in mapping]
    if missing:
        names = ", ".join(
            repr(c.aliases[0] if c.aliases else c.name)
            + (f" (also accepted: {', '.join(c.aliases[1:])})" if len(c.aliases) > 1 else "")
            for c in missing
        )
        raise FileRejected(
            f"required column {names} is missing; the header has: {', '.join(header)}",
            column=missing[0].aliases[0] if missing[0].aliases else missing[0].name,
        )
    twice = [header[p - 1] for p in mapping.values() if keys.count(keys[p - 1]) > 1]
    if twice:  # which of the two is the value? refuse rather than silently take one
        raise FileRejected(f"column {twice[0]!r} appears more than once in the header; keep one",
                           column=twice[0])
    used = set(mapping.values())
    extras = [i for i in range(1, len(header) + 1) if i not in used]
    version = None
    for vname, detect in table.versions:
        if any(header_key(h) in keys for h in detect):
            version = vname
            break
    return mapping, extras, version


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _typed_sql(table: Table, mapping: dict[str, int], with_future: bool):
    """SELECT list pieces: typed columns and their error expressions (reasons) per column."""
    typed, errors = [], []
    for col in table.columns:
        pos = mapping.get(col.name)
        raw = f'i."_c{pos}"' if pos else "CAST(NULL AS VARCHAR)"
        n = f"nullif(trim({raw}), '')"
        if col.null_values:
            n = f"CASE WHEN trim({raw}) IN ({', '.join(_lit(v) for v in col.null_values)}) THEN NULL ELSE {n} END"
        if col.strip_decimal_zero:
            n = f"regexp_replace({n}, '\\.0+$', '')"
        shown = f"left({n}, 80)"
        err = None
        t = col.type
        if t == "text":
            expr = n
        elif t == "free_text":
            expr = f"mm_mask(nullif({raw}, ''))"
        elif t == "enum":
            expr = n
            allowed = ", ".join(_lit(v) for v in col.values)
            err = f"CASE WHEN {n} NOT IN ({allowed}) THEN '\"' || {shown} || '\" is not one of {', '.join(col.values)}' END"
        elif t == "uscc":
            expr = f"mm_uscc_norm({n})"
        elif t == "timestamp":
            expr = f"mm_ts({n})"
            err = (f"CASE WHEN {n} IS NOT NULL AND {expr} IS NULL THEN '\"' || {shown} || "
                   "'\" is not a timestamp (YYYY-MM-DD HH:MM:SS local, or ISO 8601 with offset)' END")
        elif t == "date":
            expr = f"mm_date({n})"
            err = (f"CASE WHEN {n} IS NOT NULL AND {expr} IS NULL THEN '\"' || {shown} || "
                   "'\" is not a date (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年M月D日)' END")
        elif t == "integer":
            expr = f"mm_int({n})"
            err = f"CASE WHEN {n} IS NOT NULL AND {expr} IS NULL THEN '\"' || {shown} || '\" is not a whole number' END"
        elif t == "boolean":
            expr = f"mm_bool({n})"
            err = (f"CASE WHEN {n} IS NOT NULL AND {expr} IS NULL THEN '\"' || {shown} || "
                   "'\" is not a yes/no value (true/false, 1/0, 是/否)' END")
        elif t in ("decimal", "price"):
            expr = f"TRY_CAST(mm_num({n}) AS {col.sql_type})"
            err = f"CASE WHEN {n} IS NOT NULL AND {expr} IS NULL THEN '\"' || {shown} || '\" is not a number' "
            if t == "price":
                err += f"WHEN {expr} <= 0 THEN 'price must be greater than 0 (got \"' || {shown} || '\")' "
            err += "END"
        else:  # pragma: no cover - metadata validated on load
            raise ValueError(t)
        if not col.nullable:
            miss = f"WHEN {n} IS NULL THEN 'missing value' "
            err = f"CASE {miss}ELSE {err} END" if err else f"CASE {miss}END"
        if with_future and col.name == table.event_column:
            fut = (f"CASE WHEN CAST({expr} AS DATE) > CAST($d AS DATE) THEN '\"' || {shown} || "
                   "'\" is after the business date ' || CAST($d AS VARCHAR) || ' (future)' END")
            err = f"coalesce({err}, {fut})" if err else fut
        typed.append(f"{expr} AS {_q(col.name)}")
        if col.type == "uscc":
            typed.append(f"mm_uscc_valid({expr}) AS {_q(col.name + '_valid')}")
        errors.append((col, pos, err))
    return typed, errors


def _build_transform(table: Table, mapping, extras, header, delim, version, row_expr: str):
    """SQL of the per-file transform, built so that a 10-million-row file is read in bounded memory:

    - `dup_sql` builds TEMP TABLE _mm_dup (key -> first row) for keys seen more than once: a narrow
      hash aggregate over the key columns only (a window over the whole row would materialise
      every column of the file at once);
    - `view_sql` is a query (used as a subquery, with bound $parameters): typed columns, per-column
      error reasons, the duplicate reason (LEFT JOIN _mm_dup) and the combined _err/_err_col; it is
      never materialised: the quarantine and staging INSERTs each stream over it.
    Returns (dup_sql or None, view_sql, params, raw_line)."""
    params: dict = {}
    typed, errors = _typed_sql(table, mapping, with_future=True)
    err_cols = []
    for idx, (col, pos, err) in enumerate(errors):
        if err is None:
            continue
        params[f"h{idx}"] = header[pos - 1] if pos else col.name
        err_cols.append((f"_e{idx}", f"h{idx}", err))
    n = len(header)
    raw_select = ", ".join(f'i."_c{k}"' for k in range(1, n + 1))
    select = [f"{row_expr} AS _row", raw_select, *typed]
    select += [f"{err} AS {_q(name)}" for name, _h, err in err_cols]
    derived = [f"{d.sql} AS {_q(d.name)}" for d in table.derived]
    if table.versions:
        params["hv"] = version
        derived.append("CAST($hv AS VARCHAR) AS header_version")
    dup = "NULL"
    dup_sql = None
    join = ""
    if table.key and not table.history:
        keynames = ", ".join(table.key)
        keyvals = " || ', ' || ".join(f"CAST(t.{_q(k)} AS VARCHAR)" for k in table.key)
        params["keyname"] = keynames
        key_expr = []
        for j, k in enumerate(table.key):
            expr = next(x for x in typed if x.endswith(f" AS {_q(k)}"))
            key_expr.append(expr[: -len(f" AS {_q(k)}")] + f" AS _k{j}")
        notnull = " AND ".join(f"_k{j} IS NOT NULL" for j in range(len(table.key)))
        keycols = ", ".join(f"_k{j}" for j in range(len(table.key)))
        dup_sql = (
            "CREATE OR REPLACE TEMP TABLE _mm_dup AS "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
            f"SELECT {keycols}, min(_row) AS _first FROM (SELECT {row_expr} AS _row, {', '.join(key_expr)} "
            f"FROM _mm_in i) WHERE {notnull} GROUP BY {keycols} HAVING count(*) > 1"
        )
        join = "LEFT JOIN _mm_dup k ON " + " AND ".join(
            f"k._k{j} = t.{_q(c)}" for j, c in enumerate(table.key))
        dup = (f"CASE WHEN t._row > k._first THEN "
               f"'duplicate ' || $keyname || ' ' || {keyvals} || ', first seen at row ' || "
               f"CAST(k._first AS VARCHAR) END")
        params["keyhead"] = ", ".join(
            header[mapping[k] - 1] if mapping.get(k) else k for k in table.key
        )
    err_col = "coalesce(" + ", ".join(
        [f"CASE WHEN {_q(name)} IS NOT NULL THEN ${h} END" for name, h, _e in err_cols]
        + ["CASE WHEN _dup IS NOT NULL THEN $keyhead END" if dup != "NULL" else "NULL"]
    ) + ")"
    err_text = "nullif(concat_ws('; ', " + ", ".join(
        [f"CASE WHEN {_q(name)} IS NOT NULL THEN ${h} || ': ' || {_q(name)} END" for name, h, _e in err_cols]
        + ["_dup"]
    ) + "), '')"
    # original text of the row, re-serialised as a CSV line in file order
    quoted = [
        f"CASE WHEN regexp_matches(coalesce(_c{k}, ''), '[\",\\t\\r\\n]') THEN '\"' || replace(_c{k}, '\"', '\"\"') || '\"' "
        f"ELSE coalesce(_c{k}, '') END"
        for k in range(1, n + 1)
    ]
    params["delim"] = delim
    raw_line = "concat_ws($delim, " + ", ".join(quoted) + ")"
    view_sql = (
        f"WITH typed AS (SELECT {', '.join(select)} FROM _mm_in i), "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
        f"dup AS (SELECT t.*, {', '.join(derived + [dup + ' AS _dup'])} FROM typed t {join}) "
        f"SELECT *, {err_col} AS _err_col, {err_text} AS _err FROM dup"
    )
    return dup_sql, view_sql, params, raw_line


# ---------------------------------------------------------------- loading one file

def _read_input(con, prep: Prepared, table: Table) -> tuple[list[str], int]:
    """Create TEMP TABLE _mm_in (_ord, _c1.._cN) and _mm_rej (structurally broken rows).
    Returns the header and the number of rejected rows."""
    con.execute("DROP TABLE IF EXISTS _mm_rej")
    if prep.fmt == "json":
        try:
            desc = con.execute(
                "DESCRIBE SELECT * FROM read_json($p, format='array', sample_size=-1, maximum_object_size=67108864)",
                {"p": str(prep.path)},
            ).fetchall()
        except Exception as exc:
            raise FileRejected(f"not a valid JSON list of objects: {str(exc).splitlines()[0][:200]}") from None
        header = [r[0] for r in desc]
        cols = {h: "VARCHAR" for h in header}
        sel = ", ".join(f"{_q(h)} AS _c{k}" for k, h in enumerate(header, 1))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _mm_in AS SELECT row_number() OVER () AS _ord, {sel} "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
            "FROM read_json($p, format='array', columns=$cols, maximum_object_size=67108864)",
            {"p": str(prep.path), "cols": cols},
        )
        con.execute("CREATE TEMP TABLE _mm_rej (line BIGINT, column_name VARCHAR, error_type VARCHAR, csv_line VARCHAR, error_message VARCHAR)")
        return header, 0
    header = prep.header or []
    cols = ", ".join(f"'_c{k}': 'VARCHAR'" for k in range(1, len(header) + 1))
    con.execute("DROP TABLE IF EXISTS reject_errors")
    con.execute("DROP TABLE IF EXISTS reject_scans")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mm_in AS SELECT row_number() OVER () AS _ord, * FROM read_csv($p, "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
        f"header=true, auto_detect=false, columns={{{cols}}}, delim=$delim, quote='\"', escape='\"', "
        "null_padding=false, store_rejects=true, ignore_errors=true, max_line_size=16777216, "
        "rejects_table='_mm_rejects', rejects_scan='_mm_rejscan')",
        {"p": str(prep.path), "delim": prep.delimiter},
    )
    con.execute(
        "CREATE TEMP TABLE _mm_rej AS SELECT DISTINCT ON (line) line, column_name, error_type, csv_line, "
        "error_message FROM _mm_rejects ORDER BY line"
    )
    n_rej = con.execute("SELECT count(*) FROM _mm_rej").fetchall()[0][0]
    con.execute("DROP TABLE IF EXISTS _mm_rejects")
    con.execute("DROP TABLE IF EXISTS _mm_rejscan")
    return header, n_rej


def _load(con, home, source: str, table: Table, d, name: str, sha: str, prep: Prepared, phases: dict):
    tick = time.perf_counter()

    def phase(what: str) -> None:  # seconds per phase, for the --verbose log and the benchmark's profile
        nonlocal tick
        now = time.perf_counter()
        phases[what] = phases.get(what, 0.0) + now - tick
        tick = now

    header, n_rej = _read_input(con, prep, table)
    phase("read")
    mapping, extras, version = _match_columns(table, header)
    if n_rej:
        # data row of a broken row = line - 1 (DuckDB counts records, header = line 1); a good row's
        # number is its ordinal plus the broken rows before it
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _mm_rt AS SELECT line - 1 - row_number() OVER (ORDER BY line) AS t FROM _mm_rej"
        )
        row_expr = "i._ord + (SELECT count(*) FROM _mm_rt r WHERE r.t < i._ord)"
    else:
        row_expr = "i._ord"
    dup_sql, view, params, raw_line = _build_transform(table, mapping, extras, header, prep.delimiter,
                                                      version, row_expr)
    params["d"] = d
    if dup_sql:
        con.execute(dup_sql, _used(dup_sql, params))
    phase("duplicates")
    base = {"d": d, "f": name, "sha": sha}
    # quarantine first (narrow: the failing rows only), so staging can take the rest by _row
    qparams = dict(params, **base, s=source)
    q_sql = (
        "INSERT INTO meta.quarantine_rows SELECT $s, CAST($d AS DATE), $f, $sha, _row, _err_col, _err, "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
        f"{raw_line} FROM ({view}) v WHERE _err IS NOT NULL"
    )
    con.execute(q_sql, _used(q_sql, qparams))
    bad_rows = con.execute(
        "SELECT count(*) FROM meta.quarantine_rows WHERE source = $s AND business_date = $d AND file_name = $f",
        {"s": source, "d": d, "f": name},
    ).fetchall()[0][0]
    phase("quarantine")
    # staging: one streaming pass over the typed rows (row order inside a table does not matter:
    # every row carries its _row)
    con.execute("SET preserve_insertion_order = false")
    stg_cols = [c for c, _t in table.staging_columns()]
    cl = ", ".join(_q(c) for c in stg_cols + LINEAGE)
    sel = ", ".join(_q(c) for c in stg_cols)
    if bad_rows:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _mm_bad AS SELECT row_number AS _row FROM meta.quarantine_rows "
            "WHERE source = $s AND business_date = $d AND file_name = $f AND row_number IS NOT NULL",
            {"s": source, "d": d, "f": name},
        )
        keep = "WHERE _row NOT IN (SELECT _row FROM _mm_bad)"
    else:
        keep = ""
    s_sql = (
        f"INSERT INTO staging.{_q(table.table)} ({cl}) SELECT {sel}, CAST($d AS DATE), $f, $sha, _row "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
        f"FROM ({view}) v {keep}"
    )
    con.execute(s_sql, _used(s_sql, dict(params, **base)))
    phase("staging")
    # raw: text as it arrived, extra columns as JSON
    raw_cols = [c.name for c in table.columns]
    raw_sel = ", ".join(f'i."_c{mapping[c]}"' if c in mapping else "CAST(NULL AS VARCHAR)" for c in raw_cols)
    xparams = dict(base)
    if extras:
        pairs = []
        for j, k in enumerate(extras):
            xparams[f"x{j}"] = header[k - 1] or f"column{k}"
            pairs.append(f"$x{j}, i.\"_c{k}\"")
        extra_sql = f"CAST(json_object({', '.join(pairs)}) AS VARCHAR)"
    else:
        extra_sql = "CAST(NULL AS VARCHAR)"
    r_sql = (
        f"INSERT INTO raw.{_q(table.table)} ({', '.join(_q(c) for c in raw_cols + ['_extra'] + LINEAGE)}) "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted by _q; values bound as $params
        f"SELECT {raw_sel}, {extra_sql}, CAST($d AS DATE), $f, $sha, {row_expr} FROM _mm_in i"
    )
    con.execute(r_sql, xparams)
    phase("raw")
    con.execute("SET preserve_insertion_order = true")
    # structurally broken rows (read_csv rejects)
    qparams = dict(base, s=source)
    if n_rej:
        con.execute("CREATE OR REPLACE TEMP TABLE _mm_hdr (c VARCHAR, h VARCHAR)")
        con.executemany("INSERT INTO _mm_hdr VALUES ($c, $h)", [{"c": f"_c{k}", "h": h} for k, h in enumerate(header, 1)])
        con.execute(
            "INSERT INTO meta.quarantine_rows SELECT $s, CAST($d AS DATE), $f, $sha, r.line - 1, h.h, "
            "CASE r.error_type WHEN 'MISSING COLUMNS' THEN 'row has fewer fields than the header (truncated row?): ' "
            "WHEN 'TOO MANY COLUMNS' THEN 'row has more fields than the header (unquoted delimiter?): ' "
            "WHEN 'UNQUOTED VALUE' THEN 'unterminated or stray quote: ' "
            "WHEN 'INVALID ENCODING' THEN 'bytes that are not valid UTF-8: ' "
            "WHEN 'INVALID UNICODE' THEN 'bytes that are not valid UTF-8: ' "
            "ELSE 'structurally broken row: ' END || split_part(r.error_message, chr(10), 1), "
            "left(r.csv_line, 10000) FROM _mm_rej r LEFT JOIN _mm_hdr h ON h.c = r.column_name",
            qparams,
        )
    n_in = con.execute("SELECT count(*) FROM _mm_in").fetchall()[0][0]
    samples = con.execute(
        "SELECT row_number, column_name, reason FROM meta.quarantine_rows "
        "WHERE source = $s AND business_date = $d AND file_name = $f ORDER BY row_number LIMIT $n",
        {"s": source, "d": d, "f": name, "n": PROBLEMS_PER_FILE},
    ).fetchall()
    loaded, bad = int(n_in) - int(bad_rows), int(bad_rows) + int(n_rej)
    return loaded + bad, loaded, bad, samples


def _cleanup_temp(con):
    for t in ("_mm_in", "_mm_dup", "_mm_bad", "_mm_rej", "_mm_rt", "_mm_hdr", "_mm_rejects", "_mm_rejscan"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _match_table(source: str, name: str) -> Table | None:
    low = name.lower().rsplit("/", 1)[-1]
    for t in load_source(source).tables:
        if any(fnmatch.fnmatch(low, p.lower()) for p in t.file_patterns):
            return t
    return None


def _entry(source, d, name, sha, size, outcome, message, encoding=None, read=0, loaded=0, bad=0, table=None, samples=()):
    return LedgerEntry(source, d, name, sha, size, read, loaded, bad, outcome, message, encoding, _now(),
                       table, list(samples))


def _record(con, e: LedgerEntry, delete_rows: bool, home) -> LedgerEntry:
    con.execute("BEGIN TRANSACTION")
    try:
        if delete_rows:
            _delete_file_rows(con, e.source, e.business_date, e.file_name)
        if e.outcome == "rejected":
            con.execute(
                "INSERT INTO meta.quarantine_rows VALUES ($s, $d, $f, $sha, NULL, $c, $r, NULL)",
                {"s": e.source, "d": e.business_date, "f": e.file_name, "sha": e.sha256,
                 "c": e.samples[0][1] if e.samples else None, "r": "file rejected: " + (e.message or "")},
            )
        _write_ledger(con, e)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if e.outcome == "rejected":
        _export_quarantine(con, home, e.source, e.business_date, e.file_name, 1)
    elif delete_rows:
        _export_quarantine(con, home, e.source, e.business_date, e.file_name, 0)
    return e


def ingest_file(con, home, source: str, d: dt.date, path: Path, name: str | None = None) -> LedgerEntry:
    """Load one landed file (already known to be a regular data file) of `source` for date `d`."""
    t_file = time.perf_counter()
    name = name or path.name
    size = path.stat().st_size
    sha = sha256_of(path)
    prev = _previous(con, source, d, name)
    if prev and prev[0] == sha and prev[1] in ("loaded", "replaced", "empty", "ignored"):
        return _entry(source, d, name, sha, size, "skipped_same_file",
                      f"same file (sha256 {sha[:12]}…) already loaded; nothing changed")
    had_rows = prev is not None
    if size == 0 or (size < 65536 and not path.read_bytes().replace(b"\xef\xbb\xbf", b"").strip()):
        return _record(con, _entry(source, d, name, sha, size, "empty", "the file is empty"), had_rows, home)
    table = _match_table(source, name)
    if table is None:
        pats = ", ".join(p for t in load_source(source).tables for p in t.file_patterns)
        return _record(con, _entry(source, d, name, sha, size, "ignored",
                                   f"no table of source {source} takes this file name (expected {pats})"),
                       had_rows, home)
    tmp_dir = Path(tempfile.mkdtemp(prefix="mm_ingest_"))
    prep = None
    try:
        try:
            prep = prepare(path, table.formats, tmp_dir)
        except FileRejected as exc:
            e = _entry(source, d, name, sha, size, "rejected", str(exc), table=table.table,
                       samples=[(None, exc.column, str(exc))])
            return _record(con, e, had_rows, home)
        con.execute("SET preserve_insertion_order = true")
        con.execute("BEGIN TRANSACTION")
        try:
            if had_rows:
                _delete_file_rows(con, source, d, name)
            phases: dict[str, float] = {}
            read, loaded, bad, samples = _load(con, home, source, table, d, name, sha, prep, phases)
            outcome = "replaced" if prev and prev[1] in ("loaded", "replaced") else "loaded"
            e = _entry(source, d, name, sha, size, outcome,
                       f"{loaded} rows loaded into staging.{table.table}, {bad} quarantined", prep.encoding,
                       read, loaded, bad, table.table, samples)
            _write_ledger(con, e)
            _cleanup_temp(con)
            fault_point("ingest.before_commit")
            con.execute("COMMIT")
            log.debug("ingested %s %s: %d rows in %.3f s (%s)", source, name, read, time.perf_counter() - t_file,
                      ", ".join(f"{k} {v:.3f} s" for k, v in phases.items()))
        except FileRejected as exc:
            con.execute("ROLLBACK")
            e = _entry(source, d, name, sha, size, "rejected", str(exc), prep.encoding, table=table.table,
                       samples=[(None, exc.column, str(exc))])
            return _record(con, e, had_rows, home)
        except Exception:
            con.execute("ROLLBACK")
            raise
        _export_quarantine(con, home, source, d, name, bad)
        return e
    except FileRejected:
        raise
    except Exception as exc:  # an unexpected failure inside one file never stops the others
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        e = _entry(source, d, name, sha, size, "rejected",
                   f"unexpected error while loading ({type(exc).__name__}: {first})",
                   prep.encoding if prep else None, table=table.table)
        try:
            return _record(con, e, had_rows, home)
        except Exception:
            return e
    finally:
        try:
            con.execute("SET preserve_insertion_order = false")
        except Exception:
            pass
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _safe_member(member: str) -> str | None:
    p = PurePosixPath(member.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts or member.endswith("/"):
        return None
    return str(p)


def _ingest_zip(con, home, source, d, path: Path) -> list[LedgerEntry]:
    out = []
    size = path.stat().st_size
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        sha = sha256_of(path)
        prev = _previous(con, source, d, path.name)
        return [_record(con, _entry(source, d, path.name, sha, size, "rejected",
                                    "not a readable zip archive"), prev is not None, home)]
    with zf, tempfile.TemporaryDirectory(prefix="mm_zip_") as tmp:
        for info in zf.infolist():
            if info.is_dir():
                continue
            member = _safe_member(info.filename)
            name = f"{path.name}/{info.filename}"
            if member is None:
                out.append(_record(con, _entry(source, d, name, None, info.file_size, "ignored",
                                               "zip member path leaves the archive (zip-slip); refused"),
                                   False, home))
                continue
            if not member.lower().endswith(DATA_ENDINGS[:-1]):
                out.append(_record(con, _entry(source, d, name, None, info.file_size, "ignored",
                                               "zip member is not a .csv/.tsv/.txt/.json file"), False, home))
                continue
            target = Path(tmp) / "m" / member
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 4 * 1024 * 1024)
            out.append(ingest_file(con, home, source, d, target, name=f"{path.name}/{member}"))
    return out


def ingest_path(con, home, source: str, d: dt.date, path: Path) -> list[LedgerEntry]:
    name = path.name
    if not path.is_file() or path.is_symlink():
        kind = "a subfolder" if path.is_dir() else "not a regular file"
        prev = _previous(con, source, d, name)
        return [_record(con, _entry(source, d, name, None, None, "ignored",
                                    f"{kind}; only files directly in the date folder are read"),
                        prev is not None, home)]
    if name.startswith(".") or not name.lower().endswith(DATA_ENDINGS):
        prev = _previous(con, source, d, name)
        return [_record(con, _entry(source, d, name, None, path.stat().st_size, "ignored",
                                    "file ending not read (expected .csv, .tsv, .txt, .json or .zip)"),
                        prev is not None, home)]
    if name.lower().endswith(".zip"):
        return _ingest_zip(con, home, source, d, path)
    return [ingest_file(con, home, source, d, path)]


def ingest_day(con, home, business_date: dt.date, sources: list[str] | None = None) -> IngestReport:
    """Read every file in home.landing/<source>/<D>/ for each source id (CONTRACT §3)."""
    if isinstance(business_date, str):
        business_date = dt.date.fromisoformat(business_date)
    sqlfuncs.register(con)
    report = IngestReport(business_date)
    for source in sources or SOURCE_IDS:
        folder = home.landing_dir(source, business_date)
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir(), key=lambda p: p.name):
            report.entries.extend(ingest_path(con, home, source, business_date, path))
    return report
