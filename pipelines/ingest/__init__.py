"""Ingestion layer: source adapters, the ingestion ledger and quarantine (issue 3).

    from pipelines.ingest import ingest_day, IngestReport
    report = ingest_day(con, home, business_date)

`table_for_file` and `match_columns` answer, without loading anything, which table of a source takes
a file and whether its header fits (ingestion asks both for every file).
"""

from pipelines.ingest.ledger import IngestReport, LedgerEntry
from pipelines.ingest.match import ColumnMatch, match_columns, table_for_file
from pipelines.ingest.orchestrate import ingest_day, ingest_file, ingest_path
from pipelines.ingest.reader import FileRejected

__all__ = ["IngestReport", "LedgerEntry", "FileRejected", "ingest_day", "ingest_file", "ingest_path",
           "ColumnMatch", "match_columns", "table_for_file"]
