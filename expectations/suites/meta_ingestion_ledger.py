"""The ingestion ledger's cross-table identities for the day's files (docs/CONTRACT.md §3).

For every file of the day: rows read = rows loaded + rows quarantined; rows loaded = the rows of
that file now in staging (all tables of its source); rows quarantined = the distinct quarantined
row numbers of that file in meta.quarantine_rows. Counts are computed in SQL; GX checks the columns.
A broken identity means the warehouse no longer matches its own ledger, so it blocks every mart.
A rejected file is a warning here (every mart would be too much): it is counted by its table's row
bounds (expectations/gate.py ROW_BOUND_OUTCOMES), which block the marts that read that table.
A `duplicate` file (the same content already loaded under another name) reads and loads 0 rows.
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING
from pipelines.ingest.catalogue import all_tables

SUITE = "meta.ingestion_ledger"
TABLE = "meta.ingestion_ledger"
DATE_COLUMN = "business_date"
BLOCKS = "all"
OUTCOMES = ["loaded", "skipped_same_file", "replaced", "rejected", "ignored", "empty", "duplicate"]


def _staged_sql() -> str:
    # identifiers and literals come from pipelines/ingest/sources/*.yml only (never from files or users)
    template = ("SELECT '{source}' AS source, _file_name AS file_name, count(*) AS n "
                'FROM staging."{table}" WHERE _business_date = $run_date GROUP BY ALL')
    parts = [template.format(source=t.source, table=t.table) for t in all_tables()]
    return "\n    UNION ALL ".join(parts)


BATCH_SQL = f"""
WITH staged AS (
    {_staged_sql()}
), staged_by_file AS (
    SELECT source, file_name, sum(n) AS n FROM staged GROUP BY ALL
), quarantined AS (
    SELECT source, file_name, count(DISTINCT row_number) AS n FROM meta.quarantine_rows
    WHERE business_date = $run_date AND row_number IS NOT NULL GROUP BY ALL
)
SELECT l.source, l.business_date, l.file_name, l.outcome, l.rows_read, l.rows_loaded, l.rows_quarantined,
       l.rows_loaded + l.rows_quarantined AS rows_accounted,
       coalesce(s.n, 0) AS rows_staged, coalesce(q.n, 0) AS rows_in_quarantine
FROM meta.ingestion_ledger l
LEFT JOIN staged_by_file s ON s.source = l.source AND s.file_name = l.file_name
LEFT JOIN quarantined q ON q.source = l.source AND q.file_name = l.file_name
WHERE l.business_date = $run_date
"""  # noqa: S608 - table names and source ids from pipelines/ingest/sources/*.yml only


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="file_name"), BLOCKING),
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "file_name"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="outcome", value_set=OUTCOMES), BLOCKING),
        (gxe.ExpectColumnPairValuesToBeEqual(column_A="rows_read", column_B="rows_accounted"), BLOCKING),
        (gxe.ExpectColumnPairValuesToBeEqual(column_A="rows_loaded", column_B="rows_staged"), BLOCKING),
        (gxe.ExpectColumnPairValuesToBeEqual(column_A="rows_quarantined", column_B="rows_in_quarantine"), BLOCKING),
        # "not rejected", written as an in-set check so the suite keeps its DuckDB SQL engine
        (gxe.ExpectColumnValuesToBeInSet(column="outcome", value_set=[o for o in OUTCOMES if o != "rejected"]),
         WARNING),
    ]
