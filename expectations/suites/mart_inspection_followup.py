"""一公开 of the 双随机 draw (indicators/marts/inspection_followup.sql): one row per drawn merchant, a result
class from the known list, an overdue check never carrying a result, dates in order."""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.inspection_followup"
TABLE = "work.mart__inspection_followup"
DATE_COLUMN = "dt"
RESULT_CLASSES = ["pass", "fail", "unreachable", "no_activity", "other", "pending"]


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="uscc"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="uscc"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="draw_dt"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="tier", value_set=["A", "B", "C", "D"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="result_class", value_set=RESULT_CLASSES), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="result_class"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="days_since_draw", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="days_to_result", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="draws_in_check", min_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="followup_days", min_value=1), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="last_draw_dt", column_B="draw_dt", or_equal=True),
         BLOCKING),
        # a result is the first one dated on or after the draw; a pending row has no result, and only a
        # pending row can be overdue
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="result_date", column_B="draw_dt", or_equal=True,
                                                      ignore_row_if="either_value_is_missing"), BLOCKING),
        (gxe.ExpectColumnPairValuesToBeInSet(
            column_A="overdue", column_B="result_class",
            value_pairs_set=[(True, "pending")] + [(False, c) for c in RESULT_CLASSES]), BLOCKING),
        (gxe.ExpectColumnValuesToBeNull(column="result_date", row_condition='result_class == "pending"',
                                        condition_parser="pandas"), BLOCKING),
        # a wording the classes do not know (e.g. 已注销) is kept as `other`: someone should look at it
        (gxe.ExpectColumnValuesToBeInSet(column="result_class", value_set=[c for c in RESULT_CLASSES if c != "other"]),
         WARNING),
    ]
