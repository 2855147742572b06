"""The lead list: keys, domains, behaviour windows ending by D, evidence as JSON without personal
data, and every flagged shop known to the merchant dimension.

The referential check is a warning, not blocking: a lead computed from observed prices, orders or
complaints is still evidence when the register lags behind (real Olist sellers, a shop registered
later); blocking it would hide every lead of the day because of one missing register row. The
warning is shown in the bulletin's quality section and in Data Docs.
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, day_bounds
from indicators.registry import FAMILIES_ORDER
from pipelines.core import privacy

SUITE = "mart.indicator_flags"
TABLE = "work.mart__indicator_flags"
DATE_COLUMN = "dt"
FAMILIES = list(FAMILIES_ORDER)  # indicators/registry.py: every family an indicator may have
WINDOW_DAYS = 400  # the longest behaviour window an indicator may report, with margin

# personal data that must never reach a published mart (docs/CONTRACT.md §4), by the masker's own rules
# (pipelines.core.privacy): free-text fields of the evidence are scanned; identifier fields (review,
# order, observation ids ...) are validated as identifiers instead, so an id with eleven digits 14… in
# it is not a phone number. The columns name the fields and rules found, never the values.
PERSONAL_DATA_COLUMN = "_evidence_personal_data_fields"
INVALID_ID_COLUMN = "_evidence_invalid_identifier_fields"

BATCH_SQL = f"""
SELECT f.*, (f.shop_id IS NULL OR m.shop_id IS NOT NULL) AS _shop_in_dim_merchant,
       e.personal_data_fields AS {PERSONAL_DATA_COLUMN}, e.invalid_identifier_fields AS {INVALID_ID_COLUMN}
FROM work.mart__indicator_flags f
LEFT JOIN (SELECT DISTINCT shop_id FROM staging.dim_merchant) m ON m.shop_id = f.shop_id
LEFT JOIN LATERAL {privacy.sql_evidence_findings("f.evidence")} AS e ON true
WHERE f.dt = $run_date
"""  # noqa: S608 - SQL from code (pipelines.core.privacy constants); the date is bound


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
        (gxe.ExpectColumnValuesToBeNull(column=PERSONAL_DATA_COLUMN), BLOCKING),
        (gxe.ExpectColumnValuesToBeNull(column=INVALID_ID_COLUMN), BLOCKING),
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
