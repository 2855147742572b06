"""经营异常名录: listed not after D, removed on or after listing.

Generic checks come from pipelines/ingest/sources/abnormal_operations.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, staging_expectations

SUITE = "staging.abnormal_operations"
TABLE = "staging.abnormal_operations"
DATE_COLUMN = "_business_date"
SOURCE = "abnormal_operations"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "abnormal_operations", run_date, context)
    pairs += [
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="removed_date", column_B="listed_date", or_equal=True,
            ignore_row_if="either_value_is_missing"), BLOCKING),
    ]
    return pairs
