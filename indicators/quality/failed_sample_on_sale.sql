-- quality.failed_sample_on_sale: a product that failed an e-commerce quality sample (抽查结果 = 不合格) still offered
-- on a day after the result was published. One row per listing (shop x SKU) offered after the publication of a
-- failed result for its product, within the $lookback_days days ending on D:
--   * the product: the record's 商品编号 (sku_id) when it has one, else its product name and 规格型号 (model), both
--     folded (mm_fold_text, indicators/macros.sql) and found in the listing's title (a record with neither names
--     no single product and is not matched; the feed has no producer column, so the 标称生产者 cannot be
--     compared: see the yml's pitfalls);
--   * severity high for the sampled shop (the record's 店铺编号, else every shop the register gives the sampled
--     company's USCC), medium for any other shop offering the same product.
-- Parameters: $run_date, $failed_results, $lookback_days, $min_days_offered.
WITH bounds AS (
    SELECT $run_date::DATE AS run_date,
           ($run_date::DATE - CAST($lookback_days AS INTEGER) + 1)::DATE AS lookback_start
),
failed AS (
    SELECT s.sampling_id, s.published_date, s.product_name, s.producer_name, s.model, s.failed_items,
           nullif(trim(s.sku_id), '')  AS sku_id,
           nullif(trim(s.shop_id), '') AS shop_id,
           nullif(trim(s.uscc), '')    AS uscc,
           nullif(mm_fold_text(s.product_name), '') AS name_key,
           nullif(mm_fold_text(s.model), '')        AS model_key
    FROM quality_sampling_as_of($run_date) AS s
    CROSS JOIN bounds AS b
    WHERE list_contains(CAST($failed_results AS VARCHAR[]), trim(s.result))
      AND s.published_date >= b.lookback_start
),
titles AS (
    -- the distinct titles of the window (folded once each, not once per observation), read only when some record
    -- has to be matched by name
    SELECT product_name, mm_fold_text(product_name) AS folded
    FROM (SELECT DISTINCT o.product_name
          FROM price_observations_as_of($run_date) AS o
          CROSS JOIN bounds AS b
          WHERE o.observed_date > b.lookback_start
            AND o.product_name IS NOT NULL
            AND EXISTS (SELECT 1 FROM failed WHERE sku_id IS NULL AND name_key IS NOT NULL AND model_key IS NOT NULL))
),
by_name AS (
    -- records without a sku_id: the titles naming the product and its model (a record with neither a sku_id nor a
    -- model names a kind of product, not one product: matching every 电热水壶 would be a list of the market)
    SELECT f.sampling_id, t.product_name
    FROM failed AS f
    JOIN titles AS t ON contains(t.folded, f.name_key) AND contains(t.folded, f.model_key)
    WHERE f.sku_id IS NULL AND f.name_key IS NOT NULL AND f.model_key IS NOT NULL
),
product_observations AS (
    -- the window's observations of the products the failed records name (by SKU or by a matched title), read once and
    -- filtered before anything is kept: a few rows. Read whole and kept for the two matches below, 180 days of
    -- observations were buffered (0.75 GB at scale 10 with 180 days of history, docs/BENCHMARKS.md "180 days of
    -- history")
    SELECT o.observation_id, o.observed_date, o.platform, o.shop_id, o.sku_id, o.region_code, o.product_name
    FROM price_observations_as_of($run_date) AS o
    CROSS JOIN bounds AS b
    WHERE o.observed_date > b.lookback_start
      AND (o.sku_id IN (SELECT sku_id FROM failed) OR o.product_name IN (SELECT product_name FROM by_name))
),
matched AS (
    -- every observation after a failed record's publication of the product that record names
    SELECT f.sampling_id, 'sku_id' AS matched_by,
           o.observation_id, o.observed_date, o.platform, o.shop_id, o.sku_id, o.region_code
    FROM failed AS f
    JOIN product_observations AS o ON o.sku_id = f.sku_id AND o.observed_date > f.published_date
    UNION ALL
    SELECT f.sampling_id, 'name_model' AS matched_by,
           o.observation_id, o.observed_date, o.platform, o.shop_id, o.sku_id, o.region_code
    FROM by_name AS n
    JOIN failed AS f USING (sampling_id)
    JOIN product_observations AS o ON o.product_name = n.product_name AND o.observed_date > f.published_date
),
registry_asof AS (
    SELECT shop_id, uscc, region_code FROM registry_as_of($run_date)
),
per_record AS (
    SELECT m.shop_id, m.sku_id, m.sampling_id, min(m.matched_by) AS matched_by,
           coalesce(f.shop_id = m.shop_id, f.uscc = min(r.uscc), false) AS sampled_shop,
           min(m.observed_date) AS first_offered, max(m.observed_date) AS last_offered
    FROM matched AS m
    JOIN failed AS f USING (sampling_id)
    LEFT JOIN registry_asof AS r ON r.shop_id = m.shop_id
    GROUP BY m.shop_id, m.sku_id, m.sampling_id, f.shop_id, f.uscc
),
per_listing_records AS (
    SELECT p.shop_id, p.sku_id,
           bool_or(p.sampled_shop) AS sampled_shop,
           list(json_object('sampling_no', f.sampling_id,
                            'published_date', strftime(f.published_date, '%Y-%m-%d'),
                            'failed_items', mm_mask(f.failed_items),
                            'sampled_shop', p.sampled_shop,
                            'matched_by', p.matched_by)
                ORDER BY p.sampled_shop DESC, f.published_date, f.sampling_id) AS records,
           -- the record the lead is read from: the sampled shop's own first, then the earliest published
           arg_min(f.sampling_id, (NOT p.sampled_shop, f.published_date, f.sampling_id))     AS sampling_no,
           arg_min(f.published_date, (NOT p.sampled_shop, f.published_date, f.sampling_id))  AS published_date,
           arg_min(f.failed_items, (NOT p.sampled_shop, f.published_date, f.sampling_id))    AS failed_items,
           arg_min(f.product_name, (NOT p.sampled_shop, f.published_date, f.sampling_id))    AS sampled_product,
           arg_min(p.matched_by, (NOT p.sampled_shop, f.published_date, f.sampling_id))      AS matched_by
    FROM per_record AS p
    JOIN failed AS f USING (sampling_id)
    GROUP BY p.shop_id, p.sku_id
),
per_listing AS (
    -- the listing's observations after publication (an observation matching two records counts once)
    SELECT m.shop_id, m.sku_id,
           arg_max(m.platform, (m.observed_date, m.platform))                          AS platform,
           arg_max(m.region_code, (m.observed_date, m.region_code))                    AS observed_region,
           min(m.observed_date)                                                        AS first_offered,
           max(m.observed_date)                                                        AS last_offered,
           count(DISTINCT m.observed_date)                                             AS days_offered,
           arg_min(m.observation_id, (m.observed_date, m.observation_id))              AS first_observation_id,
           arg_max(m.observation_id, (m.observed_date, m.observation_id))              AS latest_observation_id,
           list(m.observation_id ORDER BY m.observed_date DESC, m.observation_id DESC)
               FILTER (WHERE m.obs_rank <= 20)                                         AS observation_ids
    FROM (SELECT *, row_number() OVER (PARTITION BY shop_id, sku_id ORDER BY observed_date DESC, observation_id DESC) AS obs_rank
          FROM (SELECT DISTINCT shop_id, sku_id, observation_id, observed_date, platform, region_code FROM matched)) AS m
          -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    GROUP BY m.shop_id, m.sku_id
),
judged AS (
    SELECT p.*, r.sampled_shop, r.records, r.sampling_no, r.published_date, r.failed_items, r.sampled_product,
           r.matched_by, g.uscc, coalesce(g.region_code, p.observed_region) AS region_code,
           p.days_offered >= $min_days_offered AS violates
    FROM per_listing AS p
    JOIN per_listing_records AS r USING (shop_id, sku_id)
    LEFT JOIN registry_asof AS g ON g.shop_id = p.shop_id
)
SELECT
    'listing'                                   AS entity_type,
    shop_id || ':' || sku_id                    AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    first_offered                               AS window_start,
    last_offered                                AS window_end,
    days_offered                                AS value,
    $min_days_offered::DOUBLE                   AS threshold,
    CASE WHEN sampled_shop THEN 'high' ELSE 'medium' END AS severity,
    violates                                    AS flagged,
    json_object(
        'sampling_no', sampling_no,
        'published_date', strftime(published_date, '%Y-%m-%d'),
        'failed_items', mm_mask(failed_items),
        'sampled_product', mm_mask(sampled_product),
        'sampled_shop', sampled_shop,
        'matched_by', matched_by,
        'first_offered', strftime(first_offered, '%Y-%m-%d'),
        'last_offered', strftime(last_offered, '%Y-%m-%d'),
        'days_offered', days_offered,
        'samplings', records[1:20],
        'first_observation_id', first_observation_id,
        'latest_observation_id', latest_observation_id,
        'observation_ids', observation_ids
    )::VARCHAR                                  AS evidence,
    -- detail columns
    sampled_shop, sampling_no, published_date, first_offered, last_offered, days_offered
FROM judged
ORDER BY entity_id
