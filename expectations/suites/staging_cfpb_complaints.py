"""CFPB complaints: complaint ids unique, received not after D, sent to the company after receipt.

Generic checks come from pipelines/ingest/sources/cfpb_complaints.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.cfpb_complaints"
TABLE = "staging.cfpb_complaints"
DATE_COLUMN = "_business_date"
SOURCE = "cfpb_complaints"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "cfpb_complaints", run_date, context)
    pairs += [
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="date_sent_to_company", column_B="date_received", or_equal=True,
            ignore_row_if="either_value_is_missing"), WARNING),
        (gxe.ExpectColumnValuesToNotBeNull(column="timely", mostly=0.9), WARNING),
    ]
    return pairs
