-- price_anomalies: one row per seller x SKU observed on the run date (offered price), with the spike score and
-- Hampel view, the pre-promotion run-up of a promotion first seen that day, the phantom-reference check and the
-- sustained below-market share. Parameters: $run_date, $pipeline_version, $schema_version.
WITH spike AS (
    SELECT * FROM work.ind__price__spike_mad
),
runup AS (
    SELECT shop_id, sku_id,
           arg_max(promo_start, (runup_adjusted, promo_start)) AS runup_promo_start,
           max(runup) AS runup, max(runup_adjusted) AS runup_adjusted,
           arg_max(claimed_discount, (runup_adjusted, claimed_discount)) AS runup_claimed_discount,
           -- the other figures of the same promotion as runup_promo_start (the evidence's figures, typed)
           arg_max(market_runup, (runup_adjusted, promo_start)) AS runup_market,
           arg_max(true_discount_vs_baseline, (runup_adjusted, promo_start)) AS runup_true_discount,
           arg_max(baseline_median, (runup_adjusted, promo_start)) AS runup_baseline_median,
           arg_max(runup_high, (runup_adjusted, promo_start)) AS runup_high_price,
           bool_or(flagged) AS flag_pre_promo_runup
    FROM work.ind__price__pre_promo_runup
    GROUP BY shop_id, sku_id
),
phantom AS (
    SELECT shop_id, sku_id, days_shown, shown_share, lowest_reference, trades_at_or_above, trades_in_window,
           (evidence ->> 'highest_trade_price')::DOUBLE AS highest_trade_price, flagged AS flag_phantom_reference,
           history_status, history_days, history_required_days
    FROM work.ind__price__phantom_reference
),
below AS (
    SELECT shop_id, sku_id, days_below, days_with_peers, below_share, median_peer_p10, share_recent, share_prior, share_z,
           flagged AS flag_sustained_below_market
    FROM work.ind__price__sustained_below_market
)
SELECT
    $run_date::DATE                                        AS dt,
    s.shop_id || ':' || s.sku_id                           AS listing_id,
    s.platform, s.shop_id, s.uscc, s.sku_id, s.region_code,
    s.price                                                AS offered_price,
    s.n_sellers, s.sku_median, s.sku_mad, s.scale_used, s.modified_z,
    s.own_median                                           AS own_median_28d,
    s.own_ratio,
    s.hampel_median, s.hampel_mad, s.hampel_outlier,
    s.flagged                                              AS flag_spike_mad,
    r.runup_promo_start, r.runup, r.runup_adjusted, r.runup_claimed_discount,
    coalesce(r.flag_pre_promo_runup, false)                AS flag_pre_promo_runup,
    p.days_shown                                           AS reference_days_shown_90d,
    p.shown_share                                          AS reference_shown_share_90d,
    p.lowest_reference, p.trades_at_or_above               AS trades_at_or_above_reference,
    coalesce(p.flag_phantom_reference, false)              AS flag_phantom_reference,
    b.days_below                                           AS days_below_peer_p10_28d,
    b.below_share, b.median_peer_p10, b.share_recent       AS order_share_recent,
    b.share_prior                                          AS order_share_prior,
    b.share_z                                              AS order_share_z,
    coalesce(b.flag_sustained_below_market, false)         AS flag_sustained_below_market,
    -- schema 2: more of the indicators' evidence figures as typed columns
    r.runup_market, r.runup_true_discount, r.runup_baseline_median, r.runup_high_price,
    p.trades_in_window::BIGINT                             AS reference_trades_90d,
    p.highest_trade_price                                  AS reference_highest_trade_price_90d,
    b.days_with_peers::BIGINT                              AS days_with_peers_28d,
    -- schema 3: whether price.phantom_reference could be applied (insufficient history: N of M days)
    p.history_status::VARCHAR                              AS reference_history_status,
    p.history_days::INTEGER                                AS reference_history_days,
    p.history_required_days::INTEGER                       AS reference_history_required_days,
    $pipeline_version::VARCHAR                             AS pipeline_version,
    $schema_version::INTEGER                               AS schema_version
FROM spike AS s
LEFT JOIN runup AS r USING (shop_id, sku_id)
LEFT JOIN phantom AS p USING (shop_id, sku_id)
LEFT JOIN below AS b USING (shop_id, sku_id)
ORDER BY listing_id
