"""Olist sellers (shops): seller ids unique.

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.olist_sellers"
TABLE = "staging.olist_sellers"
DATE_COLUMN = "_business_date"
SOURCE = "olist"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_sellers", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToMatchRegex(column="seller_zip_code_prefix", regex=r"^\d{5}$"), WARNING),
    ]
    return pairs
