"""Olist orders: order ids unique, purchase time not after D, lifecycle after purchase.

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.olist_orders"
TABLE = "staging.olist_orders"
DATE_COLUMN = "_business_date"
SOURCE = "olist"
ORDER_STATUSES = ["created", "approved", "invoiced", "processing", "shipped", "delivered", "canceled",
                  "unavailable"]


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_orders", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeInSet(column="order_status", value_set=ORDER_STATUSES), WARNING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="order_approved_at", column_B="order_purchase_timestamp", or_equal=True,
            ignore_row_if="either_value_is_missing"), WARNING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="order_delivered_customer_date", column_B="order_purchase_timestamp", or_equal=True,
            ignore_row_if="either_value_is_missing"), WARNING),
    ]
    return pairs
