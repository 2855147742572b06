"""Online Retail lines: invoice date not after D, cancellations exactly the 'C' invoices,
unit prices not negative (warning: the public files carry bad-debt adjustments).

Generic checks come from pipelines/ingest/sources/online_retail.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, staging_expectations

SUITE = "staging.online_retail_lines"
TABLE = "staging.online_retail_lines"
DATE_COLUMN = "_business_date"
SOURCE = "online_retail"
BATCH_SQL = """
SELECT *, coalesce(starts_with(upper(invoice_no), 'C'), false) AS _c_invoice
FROM staging.online_retail_lines WHERE _business_date = $run_date
"""


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "online_retail_lines", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeBetween(column="unit_price", min_value=0), WARNING),
        (gxe.ExpectColumnPairValuesToBeEqual(column_A="is_cancellation", column_B="_c_invoice"), BLOCKING),
    ]
    return pairs
