"""Quality suite of the complaint_categories mart."""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING

SUITE = "mart.complaint_categories"
TABLE = "work.mart__complaint_categories"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "platform", "region_code", "category"]), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="category"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="complaints", min_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="share", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="category_rank", min_value=1, max_value=10), BLOCKING),
    ]
