import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.price_reference_checks"
TABLE = "work.mart__price_reference_checks"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="promotion_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="promotion_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="reference_price_shown", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="promo_price", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="check_status", value_set=["checked", "no_trade", "basis_disclosed"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="cn_basis_source", value_set=["lowest_7d", "last_trade"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="implied_discount", min_value=0, max_value=1), WARNING),
    ]
