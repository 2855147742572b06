import great_expectations.expectations as gxe

from expectations.suites import BLOCKING

SUITE = "mart.inspection_sample"
TABLE = "work.mart__inspection_sample"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="uscc"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="uscc"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="tier", value_set=["A", "B", "C", "D"]), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="seed"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="draw_key"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="sampling_ratio", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="draw_order", min_value=1), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="stratum_sample_size", column_B="draw_order", or_equal=True), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="stratum_size", column_B="stratum_sample_size", or_equal=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="seed_source", value_set=["derived_from_date", "seed_by_date"]),
         BLOCKING),
        # one seed per draw (一公开: the whole list is audited from it)
        (gxe.ExpectColumnUniqueValueCountToBeBetween(column="seed", min_value=0, max_value=1), BLOCKING),
    ]
