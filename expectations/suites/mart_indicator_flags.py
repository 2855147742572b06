import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, day_bounds

SUITE = "mart.indicator_flags"
TABLE = "work.mart__indicator_flags"
DATE_COLUMN = "dt"
FAMILIES = ["price", "collusion", "discrimination", "complaints", "integrity", "credit"]


def expectations(run_date, context=None):
    start, end = day_bounds(run_date, days_before=400)
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="flag_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="flag_id"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="indicator_id"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="entity_id"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="evidence"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="policy_ref"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=["low", "medium", "high"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="family", value_set=FAMILIES), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="window_start", min_value=start, max_value=end), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="window_end", min_value=start, max_value=end), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="window_end", column_B="window_start", or_equal=True), BLOCKING),
    ]
