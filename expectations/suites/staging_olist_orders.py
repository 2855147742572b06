import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, day_bounds

SUITE = "staging.olist_orders"
TABLE = "staging.olist_orders"
DATE_COLUMN = "_business_date"


def expectations(run_date, context=None):
    _, end = day_bounds(run_date)
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="order_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="order_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="order_purchase_timestamp", max_value=end), BLOCKING),
    ]
