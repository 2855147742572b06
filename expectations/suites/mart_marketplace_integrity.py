import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.marketplace_integrity"
TABLE = "work.mart__marketplace_integrity"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="shop_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="shop_id"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="platform"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="orders_on_day", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="concentrate_rate", min_value=1), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="concentrate_window_orders", column_B="concentrate_window_buyers", or_equal=True,
            ignore_row_if="either_value_is_missing"), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="reviews_answered", column_B="five_star_reviews", or_equal=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="rating_poisson_p", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="latency_share", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="top_buyer_share", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="buyer_hhi", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="five_star_share", min_value=0, max_value=1), WARNING),
        (gxe.ExpectColumnValuesToBeBetween(column="coreviewer_share", min_value=0, max_value=1), WARNING),
        # evidence figures as typed columns (schema 2)
        (gxe.ExpectColumnValuesToBeBetween(column="latency_category_rate", min_value=0, max_value=1), BLOCKING),
        *[(gxe.ExpectColumnValuesToBeBetween(column=f, min_value=0), BLOCKING)
          for f in ("rating_coreviewers", "latency_category_sellers", "top_buyer_orders")],
    ]
