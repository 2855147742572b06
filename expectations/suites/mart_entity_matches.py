import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.entity_matches"
TABLE = "work.mart__entity_matches"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="record_key"), BLOCKING),
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "record_key"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="source", value_set=["penalties", "abnormal_operations", "serious_violations", "registry"]),
         BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="match_method", value_set=["uscc", "name_exact", "name_normalised", "unmatched"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="match_confidence", min_value=0, max_value=1), BLOCKING),
        # a matched record names its entity; an unmatched one says why (never guessed silently)
        (gxe.ExpectColumnPairValuesToBeInSet(
            column_A="match_method", column_B="unmatched_reason",
            value_pairs_set=[("uscc", None), ("name_exact", None), ("name_normalised", None),
                             ("unmatched", "uscc_not_in_register"), ("unmatched", "ambiguous_name"),
                             ("unmatched", "name_not_in_register"), ("unmatched", "no_uscc_no_name")],
            ignore_row_if="neither"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="match_method", value_set=["uscc"]), WARNING),
    ]
