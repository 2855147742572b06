"""mart.discrimination_screens: one row per discrimination check of the day, with its figures typed."""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING

SUITE = "mart.discrimination_screens"
TABLE = "work.mart__discrimination_screens"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="entity_id"), BLOCKING),
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["indicator_id", "entity_id"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="indicator_id", value_set=["discrimination.loyalty_premium", "discrimination.paired_probe"]),
         BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="flagged"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=["high", "medium", "low"]), BLOCKING),
        *[(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0), BLOCKING)
          for c in ("repeat_orders", "first_orders", "repeat_median_price", "first_median_price", "control_pairs",
                    "max_cohort_rounds", "max_cohort_rounds_above")],
    ]
