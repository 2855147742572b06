"""Loading one prepared file into staging.* and meta.quarantine_rows, inside the caller's transaction:
one pass of SQL per step, never a Python loop over rows.

The file is read once into TEMP TABLE _mm_in: DuckDB's CSV reader types the date columns itself
(`types` from the source yml, pipelines.ingest.transform.native_types; numbers and timestamps stay text,
see NATIVE_COLUMN_TYPES), the transform of pipelines.ingest.transform types and checks the text columns
and applies the project's own rules to the typed ones; the failing rows go to the quarantine, the rest
to staging. There is no text copy of the rows in the warehouse: the landing file, immutable and
identified by its sha256 in the ledger, is the raw record, and a quarantined row's text is read back
from it by row number (pipelines.ingest.landing_lines).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb

from pipelines.core.sql import bind, quote_ident
from pipelines.ingest.catalogue import Table
from pipelines.ingest.landing_lines import record_texts
from pipelines.ingest.match import match_columns
from pipelines.ingest.reader import FileRejected, Prepared, normalise_line_endings
from pipelines.ingest.transform import (
    NATIVE_DATE_FORMAT,
    NATIVE_TIMESTAMP_FORMAT,
    build_transform,
    native_types,
)

log = logging.getLogger(__name__)

LINEAGE = ["_business_date", "_file_name", "_sha256", "_row"]
PROBLEMS_PER_FILE = 5  # quarantined rows quoted per file in the run's problem list
# rows per block of the quarantine pass's superset (load_file): small enough that a file with a few bad rows
# re-checks a few per cent of itself, large enough that the staged rows' count per block is a small aggregate
SHORT_BLOCK = 64
TEMP_TABLES = ("_mm_in", "_mm_dup", "_mm_rej", "_mm_rt", "_mm_hdr", "_mm_rejects", "_mm_rejscan", "_mm_xdup",
               "_mm_lines")


def read_input(con, prep: Prepared, table: Table) -> tuple[list[str], int, dict[int, str]]:
    """Create TEMP TABLE _mm_in (_ord, _c1.._cN) and _mm_rej (structurally broken rows).
    Returns the header, the number of rejected rows and the positions DuckDB's reader typed itself
    (position -> SQL type; the rest are VARCHAR). Run it outside a transaction: a file DuckDB
    cannot parse aborts the statement, and the CSV fallback reads it again on the same connection.
    Raises FileRejected when the content cannot be read as the file's format or its header does not
    fit the table."""
    con.execute("DROP TABLE IF EXISTS _mm_rej")
    if prep.fmt == "json":
        return _read_json(con, prep), 0, {}
    header = prep.header or []
    native = native_types(table, match_columns(table, header).positions)
    try:
        native = _read_csv(con, prep.path, prep.delimiter, len(header), native)
    except duckdb.InvalidInputException as exc:
        # DuckDB's strict parser stops on mixed line endings ("The CSV Parser state machine reached an
        # invalid state"): read a copy with LF line endings instead (a spreadsheet reads such a file)
        first = _first_line_of(exc)
        if prep.tmp_dir is None:
            raise FileRejected(f"not readable as CSV: {first}") from None
        prep.tmp_dir.mkdir(parents=True, exist_ok=True)
        normalised = prep.tmp_dir / "line_endings_normalised.csv"
        normalise_line_endings(prep.path, normalised)
        try:
            native = _read_csv(con, normalised, prep.delimiter, len(header), native)
        except duckdb.InvalidInputException as again:
            raise FileRejected(f"not readable as CSV, even with its line endings normalised to LF: "
                               f"{_first_line_of(again)}") from None
        prep.path = normalised
        prep.line_endings_normalised = True
    con.execute(
        "CREATE TEMP TABLE _mm_rej AS SELECT DISTINCT ON (line) line, column_name, error_type, csv_line, "
        "error_message FROM _mm_rejects ORDER BY line"
    )
    n_rej = con.execute("SELECT count(*) FROM _mm_rej").fetchall()[0][0]
    con.execute("DROP TABLE IF EXISTS _mm_rejects")
    con.execute("DROP TABLE IF EXISTS _mm_rejscan")
    return header, n_rej, native


def _first_line_of(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _read_json(con, prep: Prepared) -> list[str]:
    try:
        desc = con.execute(
            "DESCRIBE SELECT * FROM read_json($p, format='array', sample_size=-1, maximum_object_size=67108864)",
            {"p": str(prep.path)},
        ).fetchall()
        header = [r[0] for r in desc]
        cols = {h: "VARCHAR" for h in header}
        sel = ", ".join(f"{quote_ident(h)} AS _c{k}" for k, h in enumerate(header, 1))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _mm_in AS SELECT row_number() OVER () AS _ord, {sel} "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted; values bound as $params
            "FROM read_json($p, format='array', columns=$cols, maximum_object_size=67108864)",
            {"p": str(prep.path), "cols": cols},
        )
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise FileRejected(f"not a valid JSON list of objects: {_first_line_of(exc)}") from None
    con.execute("CREATE TEMP TABLE _mm_rej (line BIGINT, column_name VARCHAR, error_type VARCHAR, csv_line VARCHAR, error_message VARCHAR)")
    return header


def _read_csv(con, path, delimiter: str, width: int, native: dict[int, str]) -> dict[int, str]:
    """read_csv of `path` into TEMP TABLE _mm_in, broken rows into _mm_rejects (strict parser), the
    positions in `native` typed by the reader. A value the reader cannot cast (a CAST reject: "2026/11/20",
    "2026年11月20日", a timestamp in a date column) sends its column back to VARCHAR and the file is read
    again, so only structurally broken rows are left in _mm_rejects and the project's own parsing and
    reasons apply to that column. Costs one more read of the file per round (at most one per typed
    column; a file in the documented canonical forms is read once). Returns the positions that stayed typed."""
    native = dict(native)
    while True:
        _read_csv_once(con, path, delimiter, width, native)
        if not native:
            return native
        cast = {int(r[0][2:]) for r in con.execute(
            "SELECT DISTINCT column_name FROM _mm_rejects WHERE error_type = 'CAST'").fetchall()}
        cast &= set(native)
        if not cast:
            return native
        log.debug("%s: column(s) %s not in the reader's own forms; read again as text", path,
                  ", ".join(f"_c{k}" for k in sorted(cast)))
        for k in cast:
            del native[k]


def _read_csv_once(con, path, delimiter: str, width: int, native: dict[int, str]) -> None:
    cols = ", ".join(f"'_c{k}': '{native.get(k, 'VARCHAR')}'" for k in range(1, width + 1))
    for t in ("reject_errors", "reject_scans", "_mm_rejects", "_mm_rejscan"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mm_in AS SELECT row_number() OVER () AS _ord, * FROM read_csv($p, "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted; values bound as $params
        f"header=true, auto_detect=false, columns={{{cols}}}, delim=$delim, quote='\"', escape='\"', "
        "null_padding=false, store_rejects=true, ignore_errors=true, max_line_size=16777216, "
        "dateformat=$df, timestampformat=$tf, "
        "rejects_table='_mm_rejects', rejects_scan='_mm_rejscan')",
        {"p": str(path), "delim": delimiter, "df": NATIVE_DATE_FORMAT, "tf": NATIVE_TIMESTAMP_FORMAT},
    )


def load_file(con, source: str, table: Table, d, name: str, sha: str, header: list[str], n_rej: int,
              phases: dict, delimiter: str = ",", native: dict[int, str] | None = None,
              text_path: Path | None = None, cpu: dict | None = None):
    """Load the file read by `read_input` (TEMP TABLEs _mm_in and _mm_rej: the landed file `name` of
    `source`, date `d`, with `header` and `n_rej` structurally broken rows) into `table`; returns
    (rows read, rows loaded, rows quarantined, up to PROBLEMS_PER_FILE quarantine samples).
    `phases` receives the seconds spent per step, `cpu` (when given) the process's CPU seconds per step
    (every DuckDB thread counted: the benchmark's figure on a shared machine); `native`: the positions read_input typed; `text_path`:
    the UTF-8 CSV file DuckDB read (the landed file or its transcoded copy), from which the quarantined
    rows' text is read back (None for JSON: its quarantined records are re-serialised from their fields).
    Raises FileRejected when the header does not fit."""
    native = native or {}
    tick, tick_cpu = time.perf_counter(), time.process_time()

    def phase(what: str) -> None:  # seconds per phase, for the --verbose log and the benchmark's profile
        nonlocal tick, tick_cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        phases[what] = phases.get(what, 0.0) + now - tick
        if cpu is not None:
            cpu[what] = cpu.get(what, 0.0) + now_cpu - tick_cpu
        tick, tick_cpu = now, now_cpu

    mapping, extras, version = match_columns(table, header)
    if n_rej:
        # data row of a broken row = line - 1 (DuckDB counts records, header = line 1); a good row's
        # number is its ordinal plus the broken rows before it
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _mm_rt AS SELECT line - 1 - row_number() OVER (ORDER BY line) AS t FROM _mm_rej"
        )
        row_expr = "i._ord + (SELECT count(*) FROM _mm_rt r WHERE r.t < i._ord)"
    else:
        row_expr = "i._ord"
    other_files = bool(table.key) and not table.history and con.execute(
        f"SELECT EXISTS (SELECT 1 FROM staging.{quote_ident(table.table)} "  # noqa: S608 - identifier from pipelines/ingest/sources/*.yml quoted; values bound as $params
        "WHERE _business_date = CAST($d AS DATE) AND _file_name <> $f)", {"d": d, "f": name}).fetchall()[0][0]
    dup_sql, xdup_sql, view, params, raw_line = build_transform(table, mapping, extras, header, delimiter, version,
                                                                row_expr, other_files, native)
    params["d"] = d
    params["f"] = name
    if dup_sql:
        con.execute(dup_sql, bind(dup_sql, params))
    if xdup_sql:
        con.execute(xdup_sql, bind(xdup_sql, params))
    phase("duplicates")
    base = {"d": d, "f": name, "sha": sha}
    # staging first: one streaming pass that types and checks every row once and stores the rows that break no
    # rule (`_bad`: no reason text is built; row order inside a table does not matter, every row carries its _row)
    con.execute("SET preserve_insertion_order = false")
    staging = f"staging.{quote_ident(table.table)}"
    stg_cols = [c for c, _t in table.staging_columns()]
    cl = ", ".join(quote_ident(c) for c in stg_cols + LINEAGE)
    sel = ", ".join(quote_ident(c) for c in stg_cols)
    s_sql = (
        f"INSERT INTO {staging} ({cl}) SELECT {sel}, CAST($d AS DATE), $f, $sha, _row "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted; values bound as $params
        f"FROM ({view}) v WHERE NOT _bad"
    )
    loaded = con.execute(s_sql, bind(s_sql, dict(params, **base))).fetchall()[0][0]
    phase("staging")
    # quarantine: the same view over the rows staging did not take, with their reasons. The view's `_bad` is a
    # function of the row alone (and of the file's duplicate tables), so running it over any superset of the
    # bad rows and keeping the `_bad` ones gives the same set. The superset is the blocks of SHORT_BLOCK rows
    # where staging holds fewer rows than the file: one aggregate of the staged _row numbers, no join against
    # every staged row (that anti-join's hash table of the whole file spilled and took 111 s of a
    # 100 M-row file's 520 s ingest). With structurally broken rows a row's number is not its ordinal
    # (row_expr): the view then runs over every row. A file that staged every row has nothing to quarantine.
    n_in = con.execute("SELECT count(*) FROM _mm_in").fetchall()[0][0]
    if loaded == n_in:
        bad_rows = 0
    else:
        if n_rej:
            rows = "_mm_in"
        else:
            rows = (f"(SELECT i.* FROM _mm_in i WHERE i._ord // {SHORT_BLOCK} IN ("  # noqa: S608 - identifier from pipelines/ingest/sources/*.yml quoted; values bound as $params
                    f"SELECT b FROM range(0, $n_rows // {SHORT_BLOCK} + 1) AS t(b) LEFT JOIN ("
                    f"SELECT _row // {SHORT_BLOCK} AS b, count(*) AS staged FROM {staging} "
                    "WHERE _business_date = CAST($d AS DATE) AND _file_name = $f GROUP BY b) USING (b) "
                    f"WHERE coalesce(staged, 0) < least($n_rows, {SHORT_BLOCK} * b + {SHORT_BLOCK - 1}) "
                    f"- greatest(1, {SHORT_BLOCK} * b) + 1))")
        _d, _x, q_view, q_params, _r = build_transform(table, mapping, extras, header, delimiter, version,
                                                       row_expr, other_files, native, rows=rows)
        qparams = dict(q_params, **base, s=source, n_rows=n_in)
        q_sql = (
            "INSERT INTO meta.quarantine_rows SELECT $s, CAST($d AS DATE), $f, $sha, _row, _err_col, _err, "  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml quoted; values bound as $params
            f"{'NULL' if text_path else raw_line} FROM ({q_view}) v WHERE _bad"
        )
        bad_rows = con.execute(q_sql, bind(q_sql, qparams)).fetchall()[0][0]
    if loaded + bad_rows != n_in:  # every row is staged or quarantined, never both nor neither
        raise RuntimeError(f"{name}: {n_in} rows read but {loaded} staged and {bad_rows} quarantined")
    if bad_rows and text_path is not None:
        _fill_quarantine_text(con, source, d, name, text_path)
    phase("quarantine")
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
    samples = con.execute(
        "SELECT row_number, column_name, reason FROM meta.quarantine_rows "
        "WHERE source = $s AND business_date = $d AND file_name = $f ORDER BY row_number LIMIT $n",
        {"s": source, "d": d, "f": name, "n": PROBLEMS_PER_FILE},
    ).fetchall()
    loaded, bad = int(loaded), int(bad_rows) + int(n_rej)
    return loaded + bad, loaded, bad, samples


def _fill_quarantine_text(con, source: str, d, name: str, text_path: Path) -> None:
    """raw_text of the file's quarantined rows, read back from the file by row number: one vectorised
    pass over its bytes (pipelines.ingest.landing_lines), then one UPDATE from the (row, text) lists."""
    rows = [r[0] for r in con.execute(
        "SELECT row_number FROM meta.quarantine_rows WHERE source = $s AND business_date = $d AND file_name = $f "
        "AND row_number IS NOT NULL AND raw_text IS NULL", {"s": source, "d": d, "f": name}).fetchall()]
    texts = record_texts(text_path, rows)
    if not texts:
        return
    con.execute("CREATE OR REPLACE TEMP TABLE _mm_lines AS SELECT unnest($r) AS r, unnest($t) AS t",
                {"r": list(texts), "t": list(texts.values())})
    con.execute(
        "UPDATE meta.quarantine_rows q SET raw_text = l.t FROM _mm_lines l WHERE q.source = $s "
        "AND q.business_date = $d AND q.file_name = $f AND q.row_number = l.r",
        {"s": source, "d": d, "f": name})


def drop_temp_tables(con):
    for t in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {t}")
