"""The ingestion ledger (meta.ingestion_ledger) and the quarantine of a file (meta.quarantine_rows and
quarantine/<source>/<D>/<file>.quarantine.csv): one ledger row per landed file and business date."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from pipelines.core.sql import quote_ident
from pipelines.ingest.catalogue import load_source


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


LEDGER_COLUMNS = [f.name for f in fields(LedgerEntry)][:12]  # the columns of meta.ingestion_ledger


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
            elif e.outcome == "duplicate":
                out.append(f"{where}: not loaded: {e.message}")
            elif e.rows_quarantined:
                out.append(
                    f"{where}: {e.rows_quarantined} of {e.rows_read} rows quarantined "
                    f"(see quarantine/{e.source}/{e.business_date}/)"
                )
                for row, col, reason in e.samples:
                    out.append(f"{where}: row {row}, column {col}: {reason}")
        return out


def new_entry(source, d, name, sha, size, outcome, message, encoding=None, read=0, loaded=0, bad=0, table=None,
              samples=()) -> LedgerEntry:
    return LedgerEntry(source, d, name, sha, size, read, loaded, bad, outcome, message, encoding,
                       dt.datetime.now().replace(microsecond=0), table, list(samples))


def previous_load(con, source, d, name):
    """(sha256, outcome) the ledger holds for this file and date, or None."""
    rows = con.execute(
        "SELECT sha256, outcome FROM meta.ingestion_ledger "
        "WHERE source = $s AND business_date = $d AND file_name = $f",
        {"s": source, "d": d, "f": name},
    ).fetchall()
    return rows[0] if rows else None


def content_loaded_as(con, source, d, sha: str, name: str) -> str | None:
    """The first other file of this source and date whose identical content (sha256) is loaded, or None."""
    rows = con.execute(
        "SELECT file_name FROM meta.ingestion_ledger WHERE source = $s AND business_date = $d AND sha256 = $h "
        "AND file_name <> $f AND outcome IN ('loaded', 'replaced') ORDER BY loaded_at, file_name LIMIT 1",
        {"s": source, "d": d, "h": sha, "f": name},
    ).fetchall()
    return rows[0][0] if rows else None


def write_ledger(con, e: LedgerEntry) -> None:
    params = {c: getattr(e, c) for c in LEDGER_COLUMNS}
    cols = ", ".join(LEDGER_COLUMNS)
    vals = ", ".join(f"${c}" for c in LEDGER_COLUMNS)
    upd = ", ".join(f"{c} = excluded.{c}" for c in LEDGER_COLUMNS[3:])
    con.execute(
        f"INSERT INTO meta.ingestion_ledger ({cols}) VALUES ({vals}) "  # noqa: S608 - column names from LedgerEntry; values bound as $params
        f"ON CONFLICT (source, business_date, file_name) DO UPDATE SET {upd}",
        params,
    )


def delete_file_rows(con, source: str, d, name: str) -> None:
    """Forget what an earlier load of this file put into staging and the quarantine."""
    for t in load_source(source).tables:
        con.execute(
            f"DELETE FROM staging.{quote_ident(t.table)} WHERE _business_date = $d AND _file_name = $f",  # noqa: S608 - identifiers from pipelines/ingest/sources/*.yml, quoted; values bound as $params
            {"d": d, "f": name},
        )
    con.execute(
        "DELETE FROM meta.quarantine_rows WHERE source = $s AND business_date = $d AND file_name = $f",
        {"s": source, "d": d, "f": name},
    )


def quarantine_file(home, source, d, name) -> Path:
    """quarantine/<source>/<D>/<name>.quarantine.csv; a zip member's slashes become `__`, so a hostile
    member name cannot leave the folder."""
    safe = name.replace("/", "__").replace("\\", "__")
    return home.quarantine_dir(source, d) / f"{safe}.quarantine.csv"


def export_quarantine(con, home, source, d, name, count) -> None:
    """Write the file's quarantined rows to its quarantine CSV (or remove the CSV when there are none)."""
    target = quarantine_file(home, source, d, name)
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


def record(con, e: LedgerEntry, delete_rows: bool, home) -> LedgerEntry:
    """Record a file that loads no rows (empty, ignored, rejected) in one transaction; `delete_rows`
    first removes what an earlier load of the same file name left."""
    con.execute("BEGIN TRANSACTION")
    try:
        if delete_rows:
            delete_file_rows(con, e.source, e.business_date, e.file_name)
        if e.outcome == "rejected":
            con.execute(
                "INSERT INTO meta.quarantine_rows VALUES ($s, $d, $f, $sha, NULL, $c, $r, NULL)",
                {"s": e.source, "d": e.business_date, "f": e.file_name, "sha": e.sha256,
                 "c": e.samples[0][1] if e.samples else None, "r": "file rejected: " + (e.message or "")},
            )
        write_ledger(con, e)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if e.outcome == "rejected":
        export_quarantine(con, home, e.source, e.business_date, e.file_name, 1)
    elif delete_rows:
        export_quarantine(con, home, e.source, e.business_date, e.file_name, 0)
    return e
