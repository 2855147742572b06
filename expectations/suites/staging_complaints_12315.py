"""12315 complaints: numbers unique, registered not after D, closed after registration, relief >= 0,
no unmasked mobile number left in the complaint text.

Generic checks come from pipelines/ingest/sources/complaints_12315.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, staging_expectations

SUITE = "staging.complaints_12315"
TABLE = "staging.complaints_12315"
DATE_COLUMN = "_business_date"
SOURCE = "complaints_12315"
# an unmasked mainland mobile number (the privacy masking must have replaced every one)
PHONE_REGEX = r"(?<!\d)1[3-9]\d{9}(?!\d)"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "complaints_12315", run_date, context)
    pairs += [
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="closed_date", column_B="registered_date", or_equal=True,
            ignore_row_if="either_value_is_missing"), WARNING),
        (gxe.ExpectColumnValuesToBeBetween(column="economic_loss_recovered_yuan", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToNotMatchRegex(column="complaint_text", regex=PHONE_REGEX), BLOCKING),
    ]
    return pairs
