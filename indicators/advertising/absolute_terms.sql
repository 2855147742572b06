-- advertising.absolute_terms: a listing's title (product_name in the price feed) uses an absolute term that
-- 《广告法》第九条第（三）项 forbids ("国家级""最高级""最佳" and terms of the same or similar meaning).
-- One row per listing (shop x SKU) whose title carried a term on some day of the $lookback_days days ending on D;
-- flagged when such a title was still seen in the $recent_days days ending on D on at least $min_days_seen days.
-- Titles are compared folded (mm_fold_text, indicators/macros.sql: full-width ASCII and the ideographic space
-- folded as NFKC does, lower case, spaces and zero-width characters removed), so "最　佳", "最 佳" and "ＮＯ．１"
-- count. An exception phrase ($exceptions, e.g. 最新款 naming a model's release order, 最佳赏味期 as a
-- consumption hint) is blanked out before the terms are looked for, so it matches nothing by itself.
-- Parameters: $run_date, $terms, $statutory_terms, $exceptions, $lookback_days, $recent_days, $min_days_seen.
WITH bounds AS (
    SELECT $run_date::DATE                                              AS run_date,
           ($run_date::DATE - CAST($lookback_days AS INTEGER) + 1)::DATE AS lookback_start,
           ($run_date::DATE - CAST($recent_days AS INTEGER) + 1)::DATE   AS recent_start
),
term_list AS (
    SELECT DISTINCT term, mm_fold_text(term) AS folded_term,
           list_contains(CAST($statutory_terms AS VARCHAR[]), term) AS statutory
    FROM (SELECT unnest(CAST($terms AS VARCHAR[])) AS term)
    WHERE nullif(mm_fold_text(term), '') IS NOT NULL
),
exception_pattern AS (
    -- one alternation of the folded exception phrases, longest first (so 最佳赏味期 wins over a shorter one)
    SELECT string_agg(regexp_escape(folded), '|' ORDER BY length(folded) DESC, folded) AS pattern
    FROM (SELECT DISTINCT mm_fold_text(e) AS folded FROM (SELECT unnest(CAST($exceptions AS VARCHAR[])) AS e))
    WHERE nullif(folded, '') IS NOT NULL
),
titles AS (
    -- each distinct title of the window is folded and searched once, however many days and shops show it
    SELECT t.product_name,
           CASE WHEN e.pattern IS NULL THEN mm_fold_text(t.product_name)
                ELSE regexp_replace(mm_fold_text(t.product_name), e.pattern, '□', 'g') END AS searchable
    FROM (SELECT DISTINCT o.product_name
          FROM price_observations_as_of($run_date) AS o
          CROSS JOIN bounds AS b
          WHERE o.observed_date >= b.lookback_start
            AND nullif(trim(o.product_name), '') IS NOT NULL) AS t
    CROSS JOIN exception_pattern AS e
),
title_terms AS (
    SELECT t.product_name, list(DISTINCT tl.term ORDER BY tl.term) AS terms, bool_or(tl.statutory) AS statutory
    FROM titles AS t
    JOIN term_list AS tl ON contains(t.searchable, tl.folded_term)
    GROUP BY t.product_name
),
observed AS (
    -- the window's observations of the titles carrying a term. The window is read a second time, filtered by the
    -- few such titles, rather than kept whole for both reads: kept, 180 days of observations were materialised
    -- (0.8 GB of buffer at scale 10, docs/BENCHMARKS.md "180 days of history")
    SELECT o.observation_id, o.observed_date, o.platform, o.shop_id, o.sku_id, o.region_code, o.product_name
    FROM price_observations_as_of($run_date) AS o
    CROSS JOIN bounds AS b
    WHERE o.observed_date >= b.lookback_start
      AND o.product_name IN (SELECT product_name FROM title_terms)
),
per_listing AS (
    SELECT o.shop_id, o.sku_id,
           arg_max(o.platform, (o.observed_date, o.platform))                           AS platform,
           arg_max(o.region_code, (o.observed_date, o.region_code))                     AS observed_region,
           min(o.observed_date)                                                         AS first_seen,
           max(o.observed_date)                                                         AS last_seen,
           count(DISTINCT o.observed_date)                                              AS days_seen,
           count(DISTINCT o.observed_date) FILTER (WHERE o.observed_date >= b.recent_start) AS recent_days_seen,
           list_sort(list_distinct(flatten(list(tt.terms))))                            AS terms,
           bool_or(tt.statutory)                                                        AS statutory,
           arg_max(o.product_name, (o.observed_date, o.observation_id))                 AS latest_title,
           arg_min(o.observation_id, (o.observed_date, o.observation_id))               AS first_observation_id,
           arg_max(o.observation_id, (o.observed_date, o.observation_id))               AS latest_observation_id,
           list(o.observation_id ORDER BY o.observed_date DESC, o.observation_id DESC)
               FILTER (WHERE o.obs_rank <= 20)                                          AS observation_ids
    FROM (SELECT o.*, row_number() OVER (PARTITION BY o.shop_id, o.sku_id
                                         ORDER BY o.observed_date DESC, o.observation_id DESC) AS obs_rank
          FROM observed AS o JOIN title_terms AS tt USING (product_name)) AS o  -- evidence sample capped inside the aggregate (docs/BENCHMARKS.md, "Bounded plans"): ranked first, listed after
    JOIN title_terms AS tt USING (product_name)
    CROSS JOIN bounds AS b
    GROUP BY o.shop_id, o.sku_id
),
judged AS (
    SELECT p.*, m.uscc, coalesce(m.region_code, p.observed_region) AS region_code,
           coalesce(p.recent_days_seen >= $min_days_seen, false) AS violates
    FROM per_listing AS p
    LEFT JOIN dim_merchant_as_of($run_date) AS m ON m.shop_id = p.shop_id
)
SELECT
    'listing'                                   AS entity_type,
    shop_id || ':' || sku_id                    AS entity_id,
    platform, shop_id, uscc, sku_id, region_code,
    first_seen                                  AS window_start,
    last_seen                                   AS window_end,
    days_seen                                   AS value,
    $min_days_seen::DOUBLE                      AS threshold,
    CASE WHEN statutory THEN 'high' ELSE 'medium' END AS severity,
    violates                                    AS flagged,
    json_object(
        'terms', terms,
        'statutory_term', statutory,
        'title', mm_mask(latest_title),
        'first_seen', strftime(first_seen, '%Y-%m-%d'),
        'last_seen', strftime(last_seen, '%Y-%m-%d'),
        'days_seen', days_seen,
        'lookback_window', json_array(strftime(b.lookback_start, '%Y-%m-%d'), strftime(b.run_date, '%Y-%m-%d')),
        'first_observation_id', first_observation_id,
        'latest_observation_id', latest_observation_id,
        'observation_ids', observation_ids
    )::VARCHAR                                  AS evidence,
    -- detail columns
    terms, statutory, first_seen, last_seen, days_seen, recent_days_seen
FROM judged
CROSS JOIN bounds AS b
ORDER BY entity_id
