import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.collusion_screens"
TABLE = "work.mart__collusion_screens"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="cell_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="cell_id"), BLOCKING),
        (gxe.ExpectColumnValuesToMatchRegex(column="cell_id", regex=r"^[^:]+:\d{6}:\d{4}-W\d{2}$"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="cv", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="n_sellers", min_value=4), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="max_par", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="diffp", min_value=0), BLOCKING),
        *[(gxe.ExpectColumnValuesToNotBeNull(column=f), BLOCKING)
          for f in ("screen_variance", "screen_cover_distance", "screen_parallelism")],
        (gxe.ExpectColumnValuesToBeBetween(column="price_level", min_value=0.3, max_value=3), WARNING),
        *[(gxe.ExpectColumnValuesToBeBetween(column=f, min_value=0), BLOCKING) for f in ("market_rd_median", "rd_benchmark")],
    ]
