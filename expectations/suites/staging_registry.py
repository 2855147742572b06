"""Merchant register: platform and shop present, region codes of 6 digits, founded not after D.

Generic checks come from pipelines/ingest/sources/registry.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, day_bounds, staging_expectations

SUITE = "staging.registry"
TABLE = "staging.registry"
DATE_COLUMN = "_business_date"
SOURCE = "registry"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "registry", run_date, context)
    _, end = day_bounds(run_date)
    pairs += [
        (gxe.ExpectColumnValuesToBeBetween(column="established_date", max_value=end), WARNING),
        (gxe.ExpectColumnValuesToNotBeNull(column="uscc", mostly=0.95), WARNING),
    ]
    return pairs
