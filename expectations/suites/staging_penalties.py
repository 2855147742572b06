"""双公示 penalties: decision numbers present, decided not after D, fines >= 0, a known header version.

Generic checks come from pipelines/ingest/sources/penalties.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, staging_expectations

SUITE = "staging.penalties"
TABLE = "staging.penalties"
DATE_COLUMN = "_business_date"
SOURCE = "penalties"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "penalties", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeBetween(column="fine_amount_yuan", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="confiscated_amount_yuan", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="header_version", value_set=["v1", "v2"]), BLOCKING),
    ]
    return pairs
