import great_expectations.expectations as gxe

from expectations.suites import BLOCKING, WARNING

SUITE = "mart.price_anomalies"
TABLE = "work.mart__price_anomalies"
DATE_COLUMN = "dt"


def expectations(run_date, context=None):
    flags = ["flag_spike_mad", "flag_pre_promo_runup", "flag_phantom_reference", "flag_sustained_below_market"]
    return [
        (gxe.ExpectColumnValuesToNotBeNull(column="listing_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeUnique(column="listing_id"), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="offered_price", min_value=0, strict_min=True), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="n_sellers", min_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeInSet(column="scale_used", value_set=["mad", "meanad", "no_dispersion"]), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="reference_shown_share_90d", min_value=0, max_value=1), BLOCKING),
        (gxe.ExpectColumnValuesToBeBetween(column="below_share", min_value=0, max_value=1), BLOCKING),
        *[(gxe.ExpectColumnValuesToNotBeNull(column=f), BLOCKING) for f in flags],
        (gxe.ExpectColumnValuesToBeBetween(column="runup", min_value=0.2, max_value=5), WARNING),
        # evidence figures as typed columns (schema 2)
        *[(gxe.ExpectColumnValuesToBeBetween(column=f, min_value=0, strict_min=True), BLOCKING)
          for f in ("runup_baseline_median", "runup_high_price", "reference_highest_trade_price_90d")],
        *[(gxe.ExpectColumnValuesToBeBetween(column=f, min_value=0), BLOCKING)
          for f in ("reference_trades_90d", "days_with_peers_28d")],
        (gxe.ExpectColumnValuesToBeBetween(column="days_with_peers_28d", max_value=28), BLOCKING),
        # schema 3: whether price.phantom_reference had the history it needs
        (gxe.ExpectColumnValuesToBeInSet(column="reference_history_status",
                                         value_set=["checked", "insufficient_history", "short_history"]), BLOCKING),
    ]
