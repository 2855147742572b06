"""Olist payments: (order, sequence) unique, values >= 0, known payment types.

Generic checks come from pipelines/ingest/sources/olist.yml (expectations.suites.staging_expectations).
"""

import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING, staging_expectations

SUITE = "staging.olist_order_payments"
TABLE = "staging.olist_order_payments"
DATE_COLUMN = "_business_date"
SOURCE = "olist"
# Olist (Brazil) and the Chinese platforms of the synthetic province
PAYMENT_TYPES = ["credit_card", "boleto", "voucher", "debit_card", "not_defined", "alipay", "wechat_pay", "union_pay"]


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "olist_order_payments", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeBetween(column="payment_sequential", min_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="payment_value", min_value=0), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="payment_installments", min_value=0), WARNING),
        (gxe.ExpectColumnValuesToBeInSet(column="payment_type", value_set=PAYMENT_TYPES), WARNING),
    ]
    return pairs
