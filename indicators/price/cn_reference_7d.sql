-- price.cn_reference_7d: shown 原价 against the 7-day lowest transaction price (CN rule).
-- Parameters: $run_date DATE, $rpi_threshold, $disc_gap_threshold, $excluded_order_statuses LIST.
-- Every source row is restricted to dates <= $run_date so a rerun of an old date gives the same answer.
WITH usable_observations AS (
    -- Scraping errors never produce price flags: used/refurbished items, other currencies, failed scrapes.
    SELECT *
    FROM price_observations_as_of($run_date)
    WHERE coalesce(lower(condition), 'new') = 'new'
      AND coalesce(upper(currency), 'CNY') = 'CNY'
),
promotion_observations AS (
    SELECT *
    FROM usable_observations
    WHERE price_type = 'promo' AND reference_price IS NOT NULL AND promo_start IS NOT NULL
),
promotions_today AS (
    -- One row per promotion seen on the run date; the most severe shown 原价 is the one checked.
    SELECT
        shop_id, sku_id, promo_start,
        -- min(), not any_value(): the same platform and region on every rerun when a listing's observations disagree
        min(platform)                          AS platform,
        min(region_code)                       AS region_code,
        max(reference_price)                         AS reference_price_shown,
        arg_max(price, (reference_price, price))              AS promo_price,
        bool_or(coalesce(basis_disclosed, false))    AS basis_disclosed,
        list(DISTINCT observation_id ORDER BY observation_id) AS observation_ids
    FROM promotion_observations
    WHERE observed_date = $run_date
    GROUP BY shop_id, sku_id, promo_start
),
first_seen AS (
    -- Kept as evidence: a running promotion is flagged each day it is seen, with the same flag_id
    -- (indicator, promotion, window start), so the bulletin can tell new leads from continuing ones.
    SELECT shop_id, sku_id, promo_start, min(observed_date) AS first_seen_date
    FROM promotion_observations
    GROUP BY shop_id, sku_id, promo_start
),
completed_trades AS (
    -- Olist: seller_id is the shop, product_id the SKU, one item row per unit sold.
    SELECT i.seller_id AS shop_id, i.product_id AS sku_id, i.price AS unit_price,
           o.order_purchase_timestamp AS paid_at, o.order_id, i.order_item_id
    FROM order_items_as_of($run_date) AS i
    JOIN orders_as_of($run_date) AS o USING (order_id)   -- purchased by the end of the run date
    WHERE NOT list_contains($excluded_order_statuses, lower(o.order_status))
      AND i.price > 0
),
promotions_of_traded_skus AS (
    SELECT p.* FROM promotions_today AS p
    WHERE EXISTS (SELECT 1 FROM completed_trades AS t WHERE t.shop_id = p.shop_id AND t.sku_id = p.sku_id)
),
lowest_7d AS (
    SELECT p.shop_id, p.sku_id, p.promo_start,
           min(t.unit_price)                           AS lowest_tx_price_7d,
           arg_min(t.order_id, (t.unit_price, t.paid_at, t.order_id)) AS lowest_tx_order_id,
           arg_min(t.paid_at, (t.unit_price, t.paid_at))               AS lowest_tx_paid_at,
           count(*)                                    AS tx_count_7d
    FROM promotions_of_traded_skus AS p
    JOIN completed_trades AS t
      ON t.shop_id = p.shop_id AND t.sku_id = p.sku_id
     AND t.paid_at >= (p.promo_start - INTERVAL 7 DAY) AND t.paid_at < p.promo_start
    GROUP BY p.shop_id, p.sku_id, p.promo_start
),
last_trade AS (
    SELECT p.shop_id, p.sku_id, p.promo_start,
           arg_max(t.unit_price, (t.paid_at, t.order_id)) AS last_tx_price,
           arg_max(t.order_id, (t.paid_at, t.order_id))   AS last_tx_order_id,
           max(t.paid_at)                                 AS last_tx_paid_at
    FROM promotions_of_traded_skus AS p
    JOIN completed_trades AS t
      ON t.shop_id = p.shop_id AND t.sku_id = p.sku_id AND t.paid_at < p.promo_start
    GROUP BY p.shop_id, p.sku_id, p.promo_start
),
checked AS (
    SELECT
        p.*,
        f.first_seen_date,
        l.lowest_tx_price_7d, l.lowest_tx_order_id, l.lowest_tx_paid_at, coalesce(l.tx_count_7d, 0) AS tx_count_7d,
        lt.last_tx_price, lt.last_tx_order_id, lt.last_tx_paid_at,
        coalesce(l.lowest_tx_price_7d, lt.last_tx_price) AS cn_basis_price,
        CASE WHEN l.lowest_tx_price_7d IS NOT NULL THEN 'lowest_7d'
             WHEN lt.last_tx_price IS NOT NULL THEN 'last_trade' END AS cn_basis_source,
        m.uscc
    FROM promotions_today AS p
    JOIN first_seen AS f USING (shop_id, sku_id, promo_start)
    LEFT JOIN lowest_7d AS l USING (shop_id, sku_id, promo_start)
    LEFT JOIN last_trade AS lt USING (shop_id, sku_id, promo_start)
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = p.shop_id
),
scored AS (
    SELECT *,
        reference_price_shown / cn_basis_price                                 AS rpi,
        (1 - promo_price / reference_price_shown) - (1 - promo_price / cn_basis_price) AS disc_gap,
        CASE WHEN basis_disclosed THEN 'basis_disclosed'
             WHEN cn_basis_price IS NULL THEN 'no_trade'
             ELSE 'checked' END AS check_status
    FROM checked
),
judged AS (
    SELECT *, coalesce(check_status = 'checked' AND (rpi > $rpi_threshold OR disc_gap >= $disc_gap_threshold), false) AS violates
    FROM scored
)
SELECT
    'promotion'                                            AS entity_type,
    shop_id || ':' || sku_id || ':' || strftime(promo_start, '%Y-%m-%d') AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    promo_start                                            AS window_start,
    $run_date::DATE                                        AS window_end,
    round(rpi, 4)                                          AS value,
    $rpi_threshold::DOUBLE                                 AS threshold,
    CASE WHEN promo_price >= cn_basis_price THEN 'high' ELSE 'medium' END AS severity,
    violates                                               AS flagged,  -- every day the promotion is seen
    json_object(
        'shown_reference_price', reference_price_shown,
        'promo_price', promo_price,
        'cn_basis_price', cn_basis_price,
        'cn_basis_source', cn_basis_source,
        'basis_window', json_array(strftime(promo_start - INTERVAL 7 DAY, '%Y-%m-%d'), strftime(promo_start - INTERVAL 1 DAY, '%Y-%m-%d')),
        'trades_in_window', tx_count_7d,
        'lowest_trade_order_id', coalesce(lowest_tx_order_id, last_tx_order_id),
        'lowest_trade_time', strftime(coalesce(lowest_tx_paid_at, last_tx_paid_at), '%Y-%m-%d %H:%M:%S'),
        'rpi', round(rpi, 4),
        'claimed_discount', round(1 - promo_price / reference_price_shown, 4),
        'true_discount', round(1 - promo_price / cn_basis_price, 4),
        'observation_ids', observation_ids
    )::VARCHAR                                             AS evidence,
    -- mart detail columns
    promo_start, first_seen_date, reference_price_shown, promo_price, basis_disclosed,
    lowest_tx_price_7d, tx_count_7d, last_tx_price, cn_basis_price, cn_basis_source,
    round(1 - promo_price / reference_price_shown, 4)      AS implied_discount,
    round(1 - promo_price / cn_basis_price, 4)             AS true_discount_cn,
    round(rpi, 4)                                          AS rpi_cn,
    round(disc_gap, 4)                                     AS disc_gap_cn,
    check_status, violates
FROM judged
ORDER BY entity_id
