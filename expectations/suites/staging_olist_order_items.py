"""Olist order lines: (order, line) unique, price > 0, freight >= 0.

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, staging_expectations

SUITE = "staging.olist_order_items"
TABLE = "staging.olist_order_items"
DATE_COLUMN = "_business_date"
SOURCE = "olist"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_order_items", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeBetween(column="order_item_id", min_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="freight_value", min_value=0), BLOCKING),
    ]
    return pairs
