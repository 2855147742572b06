"""Olist products: product ids unique, sizes and counts not negative.

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.olist_products"
TABLE = "staging.olist_products"
DATE_COLUMN = "_business_date"
SOURCE = "olist"


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_products", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0), WARNING)
        for c in ("product_photos_qty", "product_weight_g", "product_length_cm", "product_height_cm",
                  "product_width_cm")
    ]
    return pairs
