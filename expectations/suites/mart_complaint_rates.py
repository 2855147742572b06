"""Quality suite of the complaint_rates mart (month-to-date rows of the run date's month)."""

from datetime import datetime

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.complaint_rates"
TABLE = "work.mart__complaint_rates"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    month_start = datetime.combine(run_date.replace(day=1), datetime.min.time())  # GX compares datetimes
    return [
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "entity_type", "entity_id"]), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="entity_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["complaints_12315", "cfpb_complaints"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="entity_type", value_set=["shop", "enterprise", "company"]), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="exposure_gate_passed"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="complaints", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="orders", min_value=0), BLOCKING),
        # no denominator, no rate: CFPB rows never carry orders or a rate
        (gxe.ExpectColumnValuesToBeNull(column="orders", row_condition='source == "cfpb_complaints"',
                                        condition_parser="pandas"), BLOCKING),
        (gxe.ExpectColumnValuesToBeNull(column="posterior_rate_per_10k", row_condition='source == "cfpb_complaints"',
                                        condition_parser="pandas"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="posterior_rate_per_10k", min_value=0, max_value=10000), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="wilson_low_per_10k", min_value=0, max_value=10000), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="wilson_high_per_10k", min_value=0, max_value=10000), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="timely_rate", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="relief_rate", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="complaint_share", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="prior_alpha", min_value=0, strict_min=False), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="prior_beta", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="prior_source", value_set=["platform_month", "all_platforms_month", "default"]), BLOCKING),
        # month grain: every row is the month to date of the run date
        (gxe.ExpectColumnValuesToBeBetween(column="month", min_value=month_start, max_value=month_start), BLOCKING),
        # a merchant is never ranked or flagged on the rate below the exposure gate
        (gxe.ExpectColumnValuesToBeNull(column="posterior_rank", row_condition="exposure_gate_passed == False",
                                        condition_parser="pandas"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="flag_rate_posterior", value_set=[False],
                                         row_condition="exposure_gate_passed == False",
                                         condition_parser="pandas"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="timely_rate", min_value=0.8, max_value=1, mostly=0.5), WARNING),
        # evidence figures as typed columns (schema 2)
        *[(gxe.ExpectColumnValuesToBeBetween(column=f, min_value=0), BLOCKING)
          for f in ("complaints_capped", "orders_today", "surge_baseline_complaints", "surge_baseline_orders",
                    "surge_ratio", "untimely_window_complaints", "untimely_window_timely_known",
                    "untimely_window_untimely")],
        (gxe.ExpectColumnValuesToBeBetween(column="surge_p_value", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="untimely_window_share", min_value=0, max_value=1), BLOCKING),
        # schema 3: whether complaints.untimely_response could judge the merchant (coverage note)
        (gxe.ExpectColumnValuesToBeInSet(column="untimely_judgement_status",
                                         value_set=["checked", "insufficient_complaints", "few_complaints"]), BLOCKING),
    ]
