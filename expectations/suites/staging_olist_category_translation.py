"""Olist category names: unique, each translated.

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.olist_category_translation"
TABLE = "staging.olist_category_translation"
DATE_COLUMN = "_business_date"
SOURCE = "olist"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_category_translation", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToNotBeNull(column="product_category_name_english"), WARNING),
    ]
    return pairs
