"""产品质量监督抽查 results: sampling numbers present, 抽查结果 合格 or 不合格, published not after D, and
a failed sample names its failed items.

Generic checks come from pipelines/ingest/sources/quality_sampling.yml (expectations.suites.staging_expectations):
`result` is an enum of the yml, so a value other than 合格/不合格 never reaches staging (ingest quarantines
the row naming the value) and the in-set check here is blocking. A 不合格 result without 不合格项目 is
loaded (the failure is what was published) but warned about: the bulletin's evidence would lack it.
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.quality_sampling"
TABLE = "staging.quality_sampling"
DATE_COLUMN = "_business_date"
SOURCE = "quality_sampling"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "quality_sampling", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToNotBeNull(column="failed_items", row_condition='result == "不合格"',
                                           condition_parser="pandas"), WARNING),
    ]
    return pairs
