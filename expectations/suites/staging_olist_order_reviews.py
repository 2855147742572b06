"""Olist reviews: (review, order) unique, scores 1-5, answered after the survey was sent.

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, staging_expectations

SUITE = "staging.olist_order_reviews"
TABLE = "staging.olist_order_reviews"
DATE_COLUMN = "_business_date"
SOURCE = "olist"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_order_reviews", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeBetween(column="review_score", min_value=1, max_value=5), BLOCKING),
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="review_answer_timestamp", column_B="review_creation_date", or_equal=True,
            ignore_row_if="either_value_is_missing"), WARNING),
    ]
    return pairs
