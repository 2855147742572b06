"""12315 complaints: numbers unique, registered not after D, closed after registration, relief >= 0,
no personal data left in the complaint text.

Generic checks come from pipelines/ingest/sources/complaints_12315.yml (expectations.suites.staging_expectations).
The personal-data check runs the masker's own rules (pipelines.core.privacy, one rule set): a text the
masker has masked passes, and the check records which rule matched, never the text.
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, staging_expectations
from pipelines.core import privacy

SUITE = "staging.complaints_12315"
TABLE = "staging.complaints_12315"
DATE_COLUMN = "_business_date"
SOURCE = "complaints_12315"
PERSONAL_DATA_COLUMN = "_complaint_text_personal_data"  # rule names (mobile, resident_id, ...) or NULL

BATCH_SQL = f"""
SELECT c.*, {privacy.sql_personal_data_rules("c.complaint_text")} AS {PERSONAL_DATA_COLUMN}
FROM staging.complaints_12315 c
WHERE c._business_date = $run_date
"""  # noqa: S608 - SQL built from pipelines.core.privacy constants, the date is bound


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "complaints_12315", run_date, context)
    pairs += [
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="closed_date", column_B="registered_date", or_equal=True,
            ignore_row_if="either_value_is_missing"), WARNING),
        (gxe.ExpectColumnValuesToBeBetween(column="economic_loss_recovered_yuan", min_value=0), BLOCKING),
        # unmasked personal data in the complaint text (the masker must have replaced every match)
        (gxe.ExpectColumnValuesToBeNull(column=PERSONAL_DATA_COLUMN), BLOCKING),
    ]
    return pairs
