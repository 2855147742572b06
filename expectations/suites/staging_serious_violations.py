"""严重违法失信名单: listed not after D, removed on or after listing.

Generic checks come from pipelines/ingest/sources/serious_violations.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, staging_expectations

SUITE = "staging.serious_violations"
TABLE = "staging.serious_violations"
DATE_COLUMN = "_business_date"
SOURCE = "serious_violations"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "serious_violations", run_date, context)
    pairs += [
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="removed_date", column_B="listed_date", or_equal=True,
            ignore_row_if="either_value_is_missing"), BLOCKING),
    ]
    return pairs
