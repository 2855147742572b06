"""Olist customers: customer ids unique, every customer has a buyer (customer_unique_id).

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.olist_customers"
TABLE = "staging.olist_customers"
DATE_COLUMN = "_business_date"
SOURCE = "olist"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_customers", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToMatchRegex(column="customer_zip_code_prefix", regex=r"^\d{5}$"), WARNING),
    ]
    return pairs
