import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, day_bounds

SUITE = "staging.price_observations"
TABLE = "staging.price_observations"
DATE_COLUMN = "_business_date"


def expectations(run_date, context=None):
    _, end = day_bounds(run_date)
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="observation_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="observation_id"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="shop_id"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="sku_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="price_type", value_set=["list", "promo", "checkout"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="observed_at", max_value=end), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(
            column="account_cohort", value_set=["new", "existing", "vip", "control"]), WARNING),
        (gxe.ExpectColumnValuesToMatchRegex(column="region_code", regex=r"^\d{6}$"), WARNING),
    ]
