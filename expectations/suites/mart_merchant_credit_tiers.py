import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.merchant_credit_tiers"
TABLE = "work.mart__merchant_credit_tiers"
DATE_COLUMN = "dt"
TIERS = ["A", "B", "C", "D"]
CONTRIBUTIONS = ["contrib_penalties", "contrib_fines", "contrib_abnormal", "contrib_serious",
                 "contrib_complaints", "contrib_flags", "contrib_inspections"]  # score = their sum


def expectations(run_date, context=None):
    out = [
        (gxe.ExpectColumnValuesToNotBeNull(column="uscc"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="uscc"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="tier", value_set=TIERS), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="tier"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="score_tier", value_set=TIERS), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="previous_tier", value_set=TIERS), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="hard_rule", value_set=["serious_violation", "abnormal_operations"]), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="score"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="evidence"), BLOCKING),
        # the hard rules hold in every published row (the score = sum of contributions is tested in
        # tests/indicators/credit: GX's UnexpectedRowsExpectation needs a SQL data source)
        (gxe.ExpectColumnPairValuesToBeInSet(
            column_A="serious_listed", column_B="tier",
            value_pairs_set=[(True, "D")] + [(False, t) for t in TIERS]), BLOCKING),
        (gxe.ExpectColumnPairValuesToBeInSet(
            column_A="abnormal_listed", column_B="tier",
            value_pairs_set=[(True, "C"), (True, "D")] + [(False, t) for t in TIERS]), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="n_shops", min_value=1), BLOCKING),
        # a code failing its check character is kept and shown, never silently trusted
        (gxe.ExpectColumnValuesToBeInSet(column="uscc_valid", value_set=[True]), WARNING),
    ]
    out += [(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0), BLOCKING) for c in CONTRIBUTIONS]
    out += [(gxe.ExpectColumnValuesToNotBeNull(column=c), BLOCKING) for c in CONTRIBUTIONS]
    return out
