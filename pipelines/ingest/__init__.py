"""Ingestion layer: source adapters, the ingestion ledger and quarantine (issue 3).

    from pipelines.ingest import ingest_day, IngestReport
    report = ingest_day(con, home, business_date)
"""

from pipelines.ingest.core import IngestReport, LedgerEntry, ingest_day, ingest_file, ingest_path
from pipelines.ingest.reader import FileRejected

__all__ = ["IngestReport", "LedgerEntry", "FileRejected", "ingest_day", "ingest_file", "ingest_path"]
