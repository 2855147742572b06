"""The lead list: keys, domains, behaviour windows ending by D, evidence as JSON without personal
data, and every flagged shop known to the merchant dimension.

The referential check is a warning, not blocking: a lead computed from observed prices, orders or
complaints is still evidence when the register lags behind (real Olist sellers, a shop registered
later); blocking it would hide every lead of the day because of one missing register row. The
warning is shown in the bulletin's quality section and in Data Docs.
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, day_bounds

SUITE = "mart.indicator_flags"
TABLE = "work.mart__indicator_flags"
DATE_COLUMN = "dt"
FAMILIES = ["price", "collusion", "discrimination", "complaints", "integrity", "credit"]
WINDOW_DAYS = 400  # the longest behaviour window an indicator may report, with margin

# personal data that must never reach a published mart (docs/CONTRACT.md §4)
PHONE_REGEX = r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"
EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
RESIDENT_ID_REGEX = r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9A-Za-z])"

BATCH_SQL = """
SELECT f.*, (f.shop_id IS NULL OR m.shop_id IS NOT NULL) AS _shop_in_dim_merchant
FROM work.mart__indicator_flags f
LEFT JOIN (SELECT DISTINCT shop_id FROM staging.dim_merchant) m ON m.shop_id = f.shop_id
WHERE f.dt = $run_date
"""


def expectations(run_date, context=None):
    start, end = day_bounds(run_date, days_before=WINDOW_DAYS)
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="flag_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="flag_id"), BLOCKING),
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["indicator_id", "entity_id", "window_start"]), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="indicator_id"), BLOCKING),
        (gxe.ExpectColumnValuesToMatchRegex(column="indicator_id", regex=r"^[a-z]+\.[a-z0-9_]+$"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="entity_type"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="entity_id"), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="evidence"), BLOCKING),
        (gxe.ExpectColumnValuesToBeJsonParseable(column="evidence"), BLOCKING),
        (gxe.ExpectColumnValuesToNotMatchRegex(column="evidence", regex=PHONE_REGEX), BLOCKING),
        (gxe.ExpectColumnValuesToNotMatchRegex(column="evidence", regex=EMAIL_REGEX), BLOCKING),
        (gxe.ExpectColumnValuesToNotMatchRegex(column="evidence", regex=RESIDENT_ID_REGEX), BLOCKING),
        (gxe.ExpectColumnValuesToNotBeNull(column="policy_ref"), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=["low", "medium", "high"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="family", value_set=FAMILIES), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="window_start", min_value=start, max_value=end), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="window_end", min_value=start, max_value=end), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="window_end", column_B="window_start", or_equal=True), BLOCKING),
        (gxe.ExpectColumnValuesToMatchRegex(column="region_code", regex=r"^\d{6}$"), WARNING),
        (gxe.ExpectColumnValuesToBeInSet(column="_shop_in_dim_merchant", value_set=[True]), WARNING),
    ]
