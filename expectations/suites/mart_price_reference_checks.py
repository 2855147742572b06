import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, day_bounds

SUITE = "mart.price_reference_checks"
TABLE = "work.mart__price_reference_checks"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    _, end = day_bounds(run_date)
    return [
        (gxe.ExpectColumnValuesToBeBetween(column="promo_start", max_value=end), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="first_seen_date", max_value=end), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="lowest_tx_price_7d", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="cn_basis_price", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="true_discount_cn", max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="uscc"), WARNING),  # shop found in the register
        (gxe.ExpectColumnValuesToNotBeNull(column="promotion_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="promotion_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="reference_price_shown", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="promo_price", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="check_status", value_set=["checked", "no_trade", "basis_disclosed"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="cn_basis_source", value_set=["lowest_7d", "last_trade"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="eu_check_status", value_set=["checked", "no_prior_price"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="prior_price_source", value_set=["in_window", "carried_forward"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="prior_price_30d", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="flag_eu_prior_30d"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="implied_discount", min_value=0, max_value=1), WARNING),
        (gxe.ExpectColumnValuesToBeBetween(column="announced_reduction", min_value=0, max_value=1), WARNING),
        # evidence figures as typed columns (schema 3): the prior price was offered before the promotion
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="promo_start", column_B="prior_price_date",
                                                      or_equal=False, ignore_row_if="either_value_is_missing"),
         BLOCKING),
    ]
