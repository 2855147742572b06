"""Price observations: ids unique, prices and 原价 > 0, price types, observed_at not after D,
observed_date the day of observed_at.

Generic checks come from pipelines/ingest/sources/price_observations.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, day_bounds, staging_expectations

SUITE = "staging.price_observations"
TABLE = "staging.price_observations"
DATE_COLUMN = "_business_date"
SOURCE = "price_observations"
BATCH_SQL = """
SELECT *, CAST(observed_at AS DATE) AS _observed_day, promo_start > $run_date AS _promo_starts_after_run_date
FROM staging.price_observations WHERE _business_date = $run_date
"""


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "price_observations", run_date, context)
    _, end = day_bounds(run_date)
    pairs += [
        (gxe.ExpectColumnMaxToBeBetween(column="observed_date", max_value=end), BLOCKING),
        (gxe.ExpectColumnPairValuesToBeEqual(column_A="observed_date", column_B="_observed_day"), BLOCKING),
        # computed in SQL: a column maximum fails on an all-null column, a per-value datetime between is slow
        (gxe.ExpectColumnValuesToBeInSet(column="_promo_starts_after_run_date", value_set=[False]), WARNING),
    ]
    return pairs
