import great_expectations.expectations as gxe

from expectations.suites import BLOCKING

SUITE = "staging.olist_order_items"
TABLE = "staging.olist_order_items"
DATE_COLUMN = "_business_date"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="order_id"), BLOCKING),
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["order_id", "order_item_id"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0, strict_min=True), BLOCKING),
    ]
