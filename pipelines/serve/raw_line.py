"""`market-monitor raw-line`: the original text of one data row, read back from its landing file.

The landing file is the raw record (issue 23): it is never modified (docs/CONTRACT.md §1) and the ledger
keeps its sha256, so the warehouse holds no text copy of the rows. Every staging row and every quarantined
row carries (_business_date, _file_name, _row) = (--date, --file, --row); this command finds the file
(or the zip member of that name), checks its sha256 against the ledger (a file that changed since it was
loaded is reported, never silently read) and prints its header and the row as written, in the file's
own text (a GBK file is shown in UTF-8; a record with a quoted line break spans several lines). A JSON
file's record is shown as DuckDB reads the object. Read-only: it opens the warehouse as a reader.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.core.errors import UserError
from pipelines.core.home import Home
from pipelines.core.sql import sha256_file
from pipelines.ingest.catalogue import SOURCE_IDS
from pipelines.ingest.files import is_archive, safe_member
from pipelines.ingest.landing_lines import header_text, record_texts
from pipelines.ingest.match import table_for_file
from pipelines.ingest.reader import FileRejected, prepare
from warehouse.db import connect_reader


@dataclass
class RawLine:
    where: str                # landing/<source>/<D>/<file> (or <zip>!<member>)
    sha256: str
    header: str | None
    text: str
    status: str               # what ingest did with the row: loaded, or quarantined with its reason

    def render(self) -> str:
        return (f"{self.where} row {self.status}; sha256 {self.sha256[:12]}… as in the ledger\n"
                + (f"{self.header}\n" if self.header is not None else "") + self.text)


def _ledger(home: Home, source: str, d: dt.date, name: str, row: int, con=None) -> tuple[str | None, str, str | None]:
    """(sha256 in the ledger, outcome, quarantine reason of the row or None); `con`: an open connection to
    the warehouse (else it is opened read-only)."""
    own = con is None
    if own and not home.db_path.exists():
        raise UserError(f"no warehouse at {home.db_path}: nothing was ingested in this home")
    con = connect_reader(home.db_path) if own else con
    try:
        found = con.execute(
            "SELECT sha256, outcome FROM meta.ingestion_ledger WHERE source = $s AND business_date = $d "
            "AND file_name = $f", {"s": source, "d": d, "f": name}).fetchall()
        if not found:
            raise UserError(f"the ingestion ledger has no file {name!r} of source {source} on {d} "
                            "(`market-monitor status` lists the ledger)")
        reason = con.execute(
            "SELECT string_agg(coalesce(column_name || ': ', '') || reason, '; ') FROM meta.quarantine_rows "
            "WHERE source = $s AND business_date = $d AND file_name = $f AND row_number = $r",
            {"s": source, "d": d, "f": name, "r": row}).fetchall()[0][0]
    finally:
        if own:
            con.close()
    return found[0][0], found[0][1], reason


def _landed(home: Home, source: str, d: dt.date, name: str, tmp: Path) -> tuple[Path, str]:
    """The landed file `name`, or for a zip member (ledger name `<archive>/<member>`) the member extracted
    into `tmp`, and where it is, in words."""
    folder = home.landing_dir(source, d)
    where = f"landing/{source}/{d}/{name}"
    archive_name, _, member = name.partition("/")
    if not member and (folder / name).is_file():
        return folder / name, where
    archive = folder / archive_name
    if member and is_archive(archive) and archive.is_file():
        try:
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    if not info.is_dir() and safe_member(info.filename) == member:
                        out = tmp / hashlib.sha1(name.encode()).hexdigest()
                        with z.open(info) as src, open(out, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                        return out, where
        except zipfile.BadZipFile:
            pass
    raise UserError(f"{where} is no longer in the landing folder (deleted by retention: `market-monitor "
                    "maintain`, retention.landing_days / raw_text_days in HOME/config.yml?); the ledger keeps "
                    "its sha256, the warehouse keeps no copy of its text")


def raw_line(home: Home, source: str, d: dt.date, name: str, row: int, con=None) -> RawLine:
    """Data row `row` of the landed file `name` of `source` on `d`, as written (see the module docstring)."""
    if source not in SOURCE_IDS:
        raise UserError(f"unknown source {source!r} (one of {', '.join(SOURCE_IDS)})")
    if row < 1:
        raise UserError(f"--row {row}: data rows are numbered from 1 (the header is not a row)")
    sha, outcome, reason = _ledger(home, source, d, name, row, con)
    table = table_for_file(source, name)
    if table is None or outcome not in ("loaded", "replaced"):
        raise UserError(f"landing/{source}/{d}/{name} was not loaded (ledger outcome: {outcome}): it has no rows")
    tmp = Path(tempfile.mkdtemp(prefix="mm_rawline_"))
    try:
        path, where = _landed(home, source, d, name, tmp)
        actual = sha256_file(path)
        if actual != sha:
            raise UserError(f"{where} changed since it was loaded (sha256 {actual[:12]}…, the ledger has "
                            f"{(sha or '')[:12]}…): landing files must never be modified; its rows in the "
                            "warehouse come from the earlier content")
        try:
            prep = prepare(path, table.formats, tmp)
        except FileRejected as exc:  # pragma: no cover - it was loaded, so it reads
            raise UserError(f"{where}: {exc}") from None
        if prep.fmt == "json":
            header, text = None, _json_record(prep.path, row)
        else:
            header, text = header_text(prep.path), record_texts(prep.path, [row], limit=None).get(row)
        if text is None:
            raise UserError(f"{where} has no data row {row}")
        status = f"{row}, quarantined ({reason})" if reason else f"{row}, loaded into staging.{table.table}"
        return RawLine(where, sha, header, text, status)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _json_record(path: Path, row: int) -> str | None:
    con = duckdb.connect()
    try:
        found = con.execute(
            "SELECT to_json(j) FROM (SELECT row_number() OVER () AS n, j FROM read_json($p, format='array', "
            "records=false, maximum_object_size=67108864) t(j)) WHERE n = $r", {"p": str(path), "r": row}).fetchall()
    finally:
        con.close()
    return str(found[0][0]) if found else None
