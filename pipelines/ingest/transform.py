"""The SQL that turns one file's columns (text, or typed by DuckDB's CSV reader) into typed staging rows with a reason per bad row.

Built from the table's metadata (pipelines/ingest/sources/*.yml); identifiers are quoted, values and
header names are bound as $parameters. pipelines.ingest.load runs it.
"""

from __future__ import annotations

from pipelines.core.sql import quote_ident, quote_literal
from pipelines.ingest.catalogue import Table

# the formats DuckDB's CSV reader parses itself (read_csv `types`, pipelines.ingest.load.read_input)
NATIVE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
NATIVE_DATE_FORMAT = "%Y-%m-%d"


# column types DuckDB's CSV reader parses itself, in one fixed format each (read_csv `types`). Numbers are
# not among them: DuckDB's number parser also takes `1e3` and `1_000`, which CONTRACT §3 quarantines
# ("anything else non-numeric"); they are read as text and checked by mm_num's regex in the same pass.
# Timestamps are not either: strptime takes `2026-11-20 1:2:3`, which is not `YYYY-MM-DD HH:MM:SS`.
# A date in `%Y-%m-%d` (the reader also takes one-digit months and days, as mm_date does) is typed by
# the reader; a year of fewer than four digits is refused by the typed check below, as mm_date refuses it.
NATIVE_COLUMN_TYPES = ("date",)


def native_types(table: Table, mapping: dict[str, int]) -> dict[int, str]:
    """Positions of the file (1-based) that DuckDB's CSV reader types itself, with their SQL type (the
    column types of NATIVE_COLUMN_TYPES, dates in `NATIVE_DATE_FORMAT`). A column with `null_values` or
    `strip_decimal_zero` is read as text (those rules apply to its text). Every other column is VARCHAR
    and typed by the macros of pipelines.ingest.sqlfuncs. A value the reader cannot cast sends its column
    back to VARCHAR for the whole file (read_input reads again), so 2024/05/08, 20240508, 2024年5月8日 or a
    timestamp in a date column still go through the project's own parsing, with its reasons."""
    out: dict[int, str] = {}
    for col in table.columns:
        pos = mapping.get(col.name)
        if not pos or col.null_values or col.strip_decimal_zero or col.type not in NATIVE_COLUMN_TYPES:
            continue
        out[pos] = {"date": "DATE", "timestamp": "TIMESTAMP"}.get(col.type, col.sql_type)
    return out


# a number in this form is read by a plain cast to the column's type: mm_num's first pattern, for which mm_num is
# the exact DECIMAL(38, 10) value and its cast to DECIMAL(18, s) rounds as the plain cast does (test_typed_read.py
# compares both); anything else (signs, ¥, spaces, thousands separators, and every form CONTRACT §3 refuses)
# goes through mm_num. mm_num's own result, a DECIMAL(38, 10), costs ~0.6 s per 1 M values to cast down.
PLAIN_NUMBER = "[0-9]{1,18}(\\.[0-9]{1,10})?"


def number_expr(n: str, sql_type: str) -> str:
    """The typed value of the normalised text `n` of a number column: TRY_CAST(mm_num(n) AS sql_type), with a plain
    cast for the plain form (PLAIN_NUMBER)."""
    return (f"CASE WHEN regexp_full_match({n}, '{PLAIN_NUMBER}') THEN TRY_CAST({n} AS {sql_type}) "
            f"ELSE TRY_CAST(mm_num({n}) AS {sql_type}) END")


def normalised(col, raw: str) -> str:
    """The value of a text column as every rule sees it: trimmed, '' and the column's null_values as NULL,
    `strip_decimal_zero` applied. Computed once per row in an inner SELECT (transform `_nK`), because
    every rule and the typed value refer to it several times and each trim() copies the string."""
    n = f"mm_trim({raw})"  # = nullif(trim(raw), ''), cheaper (pipelines.ingest.sqlfuncs)
    if col.null_values:  # (a NULL, from '', is NULL either way)
        n = f"CASE WHEN {n} IN ({', '.join(quote_literal(v) for v in col.null_values)}) THEN NULL ELSE {n} END"
    if col.strip_decimal_zero:
        n = f"regexp_replace({n}, '\\.0+$', '')"
    return n


def typed_columns(table: Table, mapping: dict[str, int], with_future: bool, native: dict[int, str] | None = None):
    """SELECT list pieces: typed columns and their error expressions (reasons) per column, and the inner
    SELECT's normalised text columns (`normalised(...) AS _nK`) they refer to as `i._nK`. The reasons are
    evaluated one SELECT above the typed columns and read the typed value by its name (`i."price"`), so a
    value is parsed once per row, not once more per rule.
    `native`: the positions the CSV reader already typed (native_types); their checks run on the
    typed value (missing, price > 0, a year of four digits, the future)."""
    native = native or {}
    typed, errors, norms = [], [], []
    for col in table.columns:
        pos = mapping.get(col.name)
        raw = f'i."_c{pos}"' if pos else "CAST(NULL AS VARCHAR)"
        if pos in native:
            typed_col, err = _native_column(col, raw, table, with_future)
            typed.append(typed_col)
            errors.append((col, pos, err))
            continue
        if pos:
            norms.append(f'{normalised(col, raw)} AS "_n{pos}"')
            n = f'i."_n{pos}"'
        else:
            n = normalised(col, raw)
        shown = f"left({n}, 80)"
        v = f"i.{quote_ident(col.name)}"  # the typed value, in the SELECT above (build_transform)
        err = None
        t = col.type
        if t == "text":
            expr = n
        elif t == "free_text":
            expr = f"mm_mask(nullif({raw}, ''))"
        elif t == "enum":
            expr = n
            allowed = ", ".join(quote_literal(v) for v in col.values)
            err = f"CASE WHEN {n} NOT IN ({allowed}) THEN '\"' || {shown} || '\" is not one of {', '.join(col.values)}' END"
        elif t == "uscc":
            expr = f"mm_uscc_norm({n})"
        elif t == "timestamp":
            expr = f"mm_ts({n})"
            err = (f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN '\"' || {shown} || "
                   "'\" is not a timestamp (YYYY-MM-DD HH:MM:SS local, or ISO 8601 with offset)' END")
        elif t == "date":
            expr = f"mm_date({n})"
            err = (f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN '\"' || {shown} || "
                   "'\" is not a date (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年M月D日)' END")
        elif t == "integer":
            expr = f"mm_int({n})"
            err = f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN '\"' || {shown} || '\" is not a whole number' END"
        elif t == "boolean":
            expr = f"mm_bool({n})"
            err = (f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN '\"' || {shown} || "
                   "'\" is not a yes/no value (true/false, 1/0, 是/否)' END")
        elif t in ("decimal", "price"):
            expr = number_expr(n, col.sql_type)
            err = f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN '\"' || {shown} || '\" is not a number' "
            if t == "price":
                err += f"WHEN {v} <= 0 THEN 'price must be greater than 0 (got \"' || {shown} || '\")' "
            err += "END"
        else:  # pragma: no cover - metadata validated on load
            raise ValueError(t)
        err = _missing_and_future(err, n, v, shown, col, table, with_future)
        typed.append(f"{expr} AS {quote_ident(col.name)}")
        if col.type == "uscc":
            typed.append(f"mm_uscc_valid({expr}) AS {quote_ident(col.name + '_valid')}")
        errors.append((col, pos, err))
    return typed, errors, norms


def _missing_and_future(err, value: str, as_date: str, shown: str, col, table: Table, with_future: bool):
    """`err` with the two rules every column shares: a required value that is missing, and an event date after
    the business date (`value` is tested for NULL, `as_date` cast to a date)."""
    if not col.nullable:
        miss = f"WHEN {value} IS NULL THEN 'missing value' "
        err = f"CASE {miss}ELSE {err} END" if err else f"CASE {miss}END"
    if with_future and col.name == table.event_column:
        fut = (f"CASE WHEN CAST({as_date} AS DATE) > CAST($d AS DATE) THEN '\"' || {shown} || "
               "'\" is after the business date ' || CAST($d AS VARCHAR) || ' (future)' END")
        err = f"coalesce({err}, {fut})" if err else fut
    return err


def _native_column(col, raw: str, table: Table, with_future: bool):
    """The typed column and its reason for a column DuckDB's reader typed: the value is already parsed,
    so only the project's own rules remain. strptime takes years of fewer than four digits ("26-11-20"
    is the year 26): the text path's patterns refuse them, so a year before 1000 is refused here too."""
    shown = f"left(CAST({raw} AS VARCHAR), 80)"
    err = None
    if col.type == "price":
        err = f"CASE WHEN {raw} <= 0 THEN 'price must be greater than 0 (got \"' || {shown} || '\")' END"
    elif col.type == "timestamp":
        err = (f"CASE WHEN year({raw}) < 1000 THEN '\"' || {shown} || "
               "'\" is not a timestamp (YYYY-MM-DD HH:MM:SS local, or ISO 8601 with offset)' END")
    elif col.type == "date":
        err = (f"CASE WHEN year({raw}) < 1000 THEN '\"' || {shown} || "
               "'\" is not a date (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年M月D日)' END")
    err = _missing_and_future(err, raw, raw, shown, col, table, with_future)
    return f"{raw} AS {quote_ident(col.name)}", err


def build_transform(table: Table, mapping, extras, header, delim, version, row_expr: str,
                    other_files: bool = False, native: dict[int, str] | None = None, rows: str = "_mm_in"):
    """SQL of the per-file transform, built so that a 10-million-row file is read in bounded memory:

    - `dup_sql` builds TEMP TABLE _mm_dup (key -> first row) for keys seen more than once: a narrow
      hash aggregate over the key columns only (a window over the whole row would materialise
      every column of the file at once);
    - `xdup_sql` (only when `other_files`: staging already holds rows of other files of this source
      and date) builds TEMP TABLE _mm_xdup: the keys of this file already loaded from another file of
      the same date, with the first such file and its row. Those rows are duplicates too (the same
      export dropped twice, or overlapping exports), quarantined naming where the key was loaded;
    - `view_sql` is a query over the rows of `rows` (_mm_in, or a subquery of it: its columns) (used as a
      subquery, with bound $parameters): typed columns, derived ones, per-column error reasons, the
      duplicate reason (LEFT JOIN _mm_dup / _mm_xdup), `_bad` (a cheap predicate: any rule broken, no text
      built) and the combined _err/_err_col; it is never materialised: the staging INSERT streams over it
      taking the rows that are not `_bad` (DuckDB builds no reason text for a column the INSERT does not
      take), the quarantine INSERT over the same view of the rows staging did not take.
    Returns (dup_sql or None, xdup_sql or None, view_sql, params, raw_line)."""
    params: dict = {}
    native = native or {}
    typed, errors, norms = typed_columns(table, mapping, with_future=True, native=native)
    # the file's rows with each text column's normalised value computed once (typed_columns' `i._nK`)
    src = f"(SELECT *, {', '.join(norms)} FROM {rows} i)" if norms else rows  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted
    err_cols = []
    for idx, (col, pos, err) in enumerate(errors):
        if err is None:
            continue
        params[f"h{idx}"] = header[pos - 1] if pos else col.name
        err_cols.append((f"_e{idx}", f"h{idx}", err))
    n = len(header)
    select = [f"{row_expr} AS _row", "i.*", *typed]  # i.*: _ord, the text columns _cK and their _nK
    checks = [f"{err} AS {quote_ident(name)}" for name, _h, err in err_cols]
    derived = [f"{d.sql} AS {quote_ident(d.name)}" for d in table.derived]
    if table.versions:
        params["hv"] = version
        derived.append("CAST($hv AS VARCHAR) AS header_version")
    dup = "NULL"
    dup_sql = xdup_sql = None
    join = ""
    if table.key and not table.history:
        keynames = ", ".join(table.key)
        keyvals = " || ', ' || ".join(f"CAST(t.{quote_ident(k)} AS VARCHAR)" for k in table.key)
        params["keyname"] = keynames
        key_expr = []
        for j, k in enumerate(table.key):
            expr = next(x for x in typed if x.endswith(f" AS {quote_ident(k)}"))
            key_expr.append(expr[: -len(f" AS {quote_ident(k)}")] + f" AS _k{j}")
        notnull = " AND ".join(f"_k{j} IS NOT NULL" for j in range(len(table.key)))
        keycols = ", ".join(f"_k{j}" for j in range(len(table.key)))
        dup_sql = (
            "CREATE OR REPLACE TEMP TABLE _mm_dup AS "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted; values bound as $params
            f"SELECT {keycols}, min(_row) AS _first FROM (SELECT {row_expr} AS _row, {', '.join(key_expr)} "
            f"FROM {src} i) WHERE {notnull} GROUP BY {keycols} HAVING count(*) > 1"
        )
        join = "LEFT JOIN _mm_dup k ON " + " AND ".join(
            f"k._k{j} = t.{quote_ident(c)}" for j, c in enumerate(table.key))
        dup = (f"CASE WHEN t._row > k._first THEN "
               f"'duplicate ' || $keyname || ' ' || {keyvals} || ', first seen at row ' || "
               f"CAST(k._first AS VARCHAR) END")
        if other_files:
            okeys = ", ".join(f"o._k{j}" for j in range(len(table.key)))
            staged_keys = ", ".join(f"s.{quote_ident(c)} AS _k{j}" for j, c in enumerate(table.key))
            xdup_sql = (
                "CREATE OR REPLACE TEMP TABLE _mm_xdup AS "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted; values bound as $params
                f"SELECT {okeys}, arg_min(o._file, (o._file, o._r)) AS _xfile, "
                "arg_min(o._r, (o._file, o._r)) AS _xrow "
                f"FROM (SELECT {staged_keys}, s._file_name AS _file, s._row AS _r "
                f"FROM staging.{quote_ident(table.table)} s "
                "WHERE s._business_date = CAST($d AS DATE) AND s._file_name <> $f) o "
                f"SEMI JOIN (SELECT {', '.join(key_expr)} FROM {src} i) n ON "
                + " AND ".join(f"o._k{j} = n._k{j}" for j in range(len(table.key)))
                + f" GROUP BY {okeys}"
            )
            join += " LEFT JOIN _mm_xdup x ON " + " AND ".join(
                f"x._k{j} = t.{quote_ident(c)}" for j, c in enumerate(table.key))
            dup = (f"CASE WHEN x._xfile IS NOT NULL THEN "
                   f"'duplicate ' || $keyname || ' ' || {keyvals} || ', already loaded from ' || x._xfile || "
                   f"' row ' || CAST(x._xrow AS VARCHAR) || ' (same source and date)' "
                   f"WHEN t._row > k._first THEN "
                   f"'duplicate ' || $keyname || ' ' || {keyvals} || ', first seen at row ' || "
                   f"CAST(k._first AS VARCHAR) END")
        params["keyhead"] = ", ".join(
            header[mapping[k] - 1] if mapping.get(k) else k for k in table.key
        )
    err_col = "coalesce(" + ", ".join(
        [f"CASE WHEN {quote_ident(name)} IS NOT NULL THEN ${h} END" for name, h, _e in err_cols]
        + ["CASE WHEN _dup IS NOT NULL THEN $keyhead END" if dup != "NULL" else "NULL"]
    ) + ")"
    err_text = "nullif(concat_ws('; ', " + ", ".join(
        [f"CASE WHEN {quote_ident(name)} IS NOT NULL THEN ${h} || ': ' || {quote_ident(name)} END" for name, h, _e in err_cols]
        + ["_dup"]
    ) + "), '')"
    # a JSON record's fields re-serialised as a CSV line in file order (a CSV file's quarantined rows are read
    # back from the landing file itself instead: pipelines.ingest.landing_lines)
    quoted = [
        f"CASE WHEN regexp_matches(coalesce(_c{k}, ''), '[\",\\t\\r\\n]') THEN '\"' || replace(_c{k}, '\"', '\"\"') || '\"' "
        f"ELSE coalesce(_c{k}, '') END"
        for k in range(1, n + 1)
    ]
    params["delim"] = delim
    raw_line = "concat_ws($delim, " + ", ".join(quoted) + ")"
    # _bad: a cheap predicate (no reason text built) that the quarantine INSERT filters on first
    bad = " OR ".join([f"{quote_ident(name)} IS NOT NULL" for name, _h, _e in err_cols] + ["_dup IS NOT NULL"])
    view_sql = (
        f"WITH typed AS (SELECT {', '.join(select)} FROM {src} i), "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted; values bound as $params
        f"checked AS (SELECT i.*{''.join(', ' + c for c in checks)} FROM typed i), "
        f"dup AS (SELECT t.*, {', '.join(derived + [dup + ' AS _dup'])} FROM checked t {join}) "
        f"SELECT *, ({bad}) AS _bad, {err_col} AS _err_col, {err_text} AS _err FROM dup"
    )
    return dup_sql, xdup_sql, view_sql, params, raw_line
