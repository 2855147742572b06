-- The "as of D" rules every indicator and mart shares, as DuckDB table macros (one place, not copied CTEs).
-- Created as TEMP macros on each connection before the indicators run (indicators.compute.create_macros):
-- nothing is stored in the warehouse file, and they work on read-only connections too.
--
-- The as-of rule (docs/ARCHITECTURE.md "As of D"): a computation for the business date D reads only
--   * rows LOADED by D: _business_date <= D (the landing folder's date; a file delivered later never changes D),
--   * whose event date is by D (purchase, answer, registration, decision ...; each macro says which), and
--   * of a keyed source, the LATEST such version of each key: _business_date, then _file_name, then _row,
--     descending (the order of the staging.<table>_current views; penalties put data_updated_at second).
-- A rerun of D therefore gives the same answer whatever was loaded after D (register changes, new reviews,
-- penalties, list entries, order updates).
--
-- Blocked batches (docs/QUALITY.md, "What happens downstream of a blocked batch"): a staging table's batch of
-- an earlier day that failed a blocking check of the gate (meta.blocked_batches, not cleared) is left out,
-- beside the `_business_date <= run_date` filter of every macro, so a bad batch that blocked its own day's
-- marts never reaches a later day's leads, tiers or draw. The batch of D itself is read by the run for D: that
-- run's gate judges it (and blocks D's marts, or clears an earlier block when a corrected rerun passes).
--
-- Optional window bounds (`purchased_from := …`) are applied to each version BEFORE the latest is picked, so a
-- one-day indicator reads one day of rows, not the whole history (a window cannot be pushed below the dedup).

-- ---------------------------------------------------------------- blocked batches

-- The business dates before D whose batch of `source_table` ('staging.<table>') is blocked
-- (meta.blocked_batches, written by the gate: expectations/gate.py). Every macro below skips those rows.
CREATE OR REPLACE TEMP MACRO blocked_batch_dates(source_table, run_date) AS TABLE
SELECT business_date
FROM meta.blocked_batches
WHERE table_name = source_table AND cleared_at IS NULL AND business_date < run_date;

-- ---------------------------------------------------------------- the merchant register

-- The register as it stood on D: the latest row per platform shop loaded by D (every column of staging.registry).
CREATE OR REPLACE TEMP MACRO registry_as_of(run_date) AS TABLE
SELECT *
FROM staging.registry
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.registry', run_date))
QUALIFY row_number() OVER (PARTITION BY shop_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- staging.dim_merchant as of D: platform shop -> legal entity (uscc), name, region, with the same columns as the
-- view (which is the latest register row EVER, for browsing; indicators join this macro instead).
CREATE OR REPLACE TEMP MACRO dim_merchant_as_of(run_date) AS TABLE
SELECT platform, shop_id, shop_name, uscc, uscc_valid, company_name, region_code, established_date,
       _business_date AS registered_as_of
FROM registry_as_of(run_date);

-- ---------------------------------------------------------------- platform orders (Olist format)

-- Orders: latest version per order_id loaded by D, purchased before the end of D (and inside the optional
-- [purchased_from, purchased_before) window).
CREATE OR REPLACE TEMP MACRO orders_as_of(run_date, purchased_from := NULL, purchased_before := NULL) AS TABLE
SELECT *
FROM staging.olist_orders
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.olist_orders', run_date))
  AND order_purchase_timestamp < CAST(run_date AS DATE) + INTERVAL 1 DAY
  AND order_purchase_timestamp >= coalesce(CAST(purchased_from AS TIMESTAMP), '-infinity'::TIMESTAMP)
  AND order_purchase_timestamp < coalesce(CAST(purchased_before AS TIMESTAMP), 'infinity'::TIMESTAMP)
QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- Order lines loaded by D. Lines are appended with their order and never updated, so no version is picked: a
-- version pick over every line (millions at province scale) in ten indicators would cost ten times the read; a
-- line sent twice is the ingest duplicate check's to catch. Which lines count is decided by orders_as_of.
CREATE OR REPLACE TEMP MACRO order_items_as_of(run_date) AS TABLE
SELECT *
FROM staging.olist_order_items
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.olist_order_items', run_date))
  ;

-- Payments: latest version per (order_id, payment_sequential) loaded by D.
CREATE OR REPLACE TEMP MACRO order_payments_as_of(run_date) AS TABLE
SELECT *
FROM staging.olist_order_payments
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.olist_order_payments', run_date))
QUALIFY row_number() OVER (PARTITION BY order_id, payment_sequential ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- Reviews: latest version per (review_id, order_id) loaded by D, answered before the end of D (and inside the
-- optional [answered_from, answered_before) window).
CREATE OR REPLACE TEMP MACRO reviews_as_of(run_date, answered_from := NULL, answered_before := NULL) AS TABLE
SELECT *
FROM staging.olist_order_reviews
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.olist_order_reviews', run_date))
  AND review_answer_timestamp < CAST(run_date AS DATE) + INTERVAL 1 DAY
  AND review_answer_timestamp >= coalesce(CAST(answered_from AS TIMESTAMP), '-infinity'::TIMESTAMP)
  AND review_answer_timestamp < coalesce(CAST(answered_before AS TIMESTAMP), 'infinity'::TIMESTAMP)
QUALIFY row_number() OVER (PARTITION BY review_id, order_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- Customers (customer_id -> customer_unique_id, the person): latest version per customer_id loaded by D.
CREATE OR REPLACE TEMP MACRO customers_as_of(run_date) AS TABLE
SELECT *
FROM staging.olist_customers
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.olist_customers', run_date))
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- Products (category): latest version per product_id loaded by D.
CREATE OR REPLACE TEMP MACRO products_as_of(run_date) AS TABLE
SELECT *
FROM staging.olist_products
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.olist_products', run_date))
QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- ---------------------------------------------------------------- price observations

-- Price observations loaded by D and observed by D. Each row is one observation (an event, not a version of a
-- record), so there is nothing to pick; the callers add their windows and usability rules.
CREATE OR REPLACE TEMP MACRO price_observations_as_of(run_date) AS TABLE
SELECT *
FROM staging.price_observations
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.price_observations', run_date))
  AND observed_date <= run_date;

-- ---------------------------------------------------------------- complaints

-- 12315 complaints: latest version per complaint_no loaded by D, registered (登记日期) by D.
CREATE OR REPLACE TEMP MACRO complaints_12315_as_of(run_date) AS TABLE
SELECT *
FROM staging.complaints_12315
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.complaints_12315', run_date))
  AND registered_date <= run_date
QUALIFY row_number() OVER (PARTITION BY complaint_no ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- CFPB complaints: latest version per complaint_id loaded by D, received by D.
CREATE OR REPLACE TEMP MACRO cfpb_complaints_as_of(run_date) AS TABLE
SELECT *
FROM staging.cfpb_complaints
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.cfpb_complaints', run_date))
  AND date_received <= run_date
QUALIFY row_number() OVER (PARTITION BY complaint_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- ---------------------------------------------------------------- 双公示 penalties and the lists

-- Penalties: latest version per decision_no loaded by D (a later row updates the decision, e.g. 撤销).
CREATE OR REPLACE TEMP MACRO penalties_as_of(run_date) AS TABLE
SELECT *
FROM staging.penalties
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.penalties', run_date))
QUALIFY row_number() OVER (PARTITION BY decision_no
                           ORDER BY _business_date DESC, data_updated_at DESC NULLS LAST, _file_name DESC, _row DESC) = 1;

-- 经营异常名录 entries: latest version per (uscc, listed_date) loaded by D (a later row carries the removal).
CREATE OR REPLACE TEMP MACRO abnormal_operations_as_of(run_date) AS TABLE
SELECT *
FROM staging.abnormal_operations
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.abnormal_operations', run_date))
QUALIFY row_number() OVER (PARTITION BY uscc, listed_date ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- 严重违法失信名单 entries: latest version per (uscc, listed_date) loaded by D.
CREATE OR REPLACE TEMP MACRO serious_violations_as_of(run_date) AS TABLE
SELECT *
FROM staging.serious_violations
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.serious_violations', run_date))
QUALIFY row_number() OVER (PARTITION BY uscc, listed_date ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- ---------------------------------------------------------------- 电子商务产品质量监督抽查 results

-- Quality sampling results: latest version per sampling_id (抽查编号) loaded by D, published (公布日期) by D
-- (a later row corrects the record, e.g. a 复检 result).
CREATE OR REPLACE TEMP MACRO quality_sampling_as_of(run_date) AS TABLE
SELECT *
FROM staging.quality_sampling
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.quality_sampling', run_date))
  AND published_date <= run_date
QUALIFY row_number() OVER (PARTITION BY sampling_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- ---------------------------------------------------------------- 双随机 spot-check results (一公开)

-- Spot-check results: latest version per (task_id, uscc) (检查任务编号, 统一社会信用代码) loaded by D, inspected
-- (检查日期) by D (a later row corrects the result of that task for that firm).
CREATE OR REPLACE TEMP MACRO inspection_results_as_of(run_date) AS TABLE
SELECT *
FROM staging.inspection_results
WHERE _business_date <= run_date
  AND _business_date NOT IN (SELECT business_date FROM blocked_batch_dates('staging.inspection_results', run_date))
  AND inspection_date <= run_date
QUALIFY row_number() OVER (PARTITION BY task_id, uscc ORDER BY _business_date DESC, _file_name DESC, _row DESC) = 1;

-- The class of a 检查结果 in the wording of the 国家企业信用信息公示系统 (docs/CREDIT_TIERS.md, "Spot-check
-- results"), on the text with half- and full-width spaces removed: unreachable (通过登记的住所（经营
-- 场所）无法联系, the ground for 经营异常名录 listing), no_activity (未发现开展本次抽查涉及的经营活动), pass
-- (未发现问题), fail (发现问题已责令改正, 发现问题待后续处理, 未按规定公示…, 隐瞒真实情况/弄虚作假, 不予配合…),
-- other (any other wording, e.g. 已注销, 已迁出: neither a pass nor a failure); NULL for no result.
-- The order matters: 未发现问题 contains 发现问题, 未发现开展… begins like 未发现问题.
CREATE OR REPLACE TEMP MACRO inspection_result_class(result_text) AS (
    CASE
        WHEN result_text IS NULL OR trim(result_text) = '' THEN NULL
        WHEN contains(replace(replace(result_text, ' ', ''), '　', ''), '无法联系') THEN 'unreachable'
        WHEN contains(replace(replace(result_text, ' ', ''), '　', ''), '未发现开展') THEN 'no_activity'
        WHEN contains(replace(replace(result_text, ' ', ''), '　', ''), '未发现问题') THEN 'pass'
        WHEN regexp_matches(replace(replace(result_text, ' ', ''), '　', ''),
                            '发现问题|未按规定公示|隐瞒真实情况|弄虚作假|不予配合|不配合') THEN 'fail'
        ELSE 'other'
    END);

-- ---------------------------------------------------------------- text folding

-- Listing titles and product names compared as text: the NFKC fold of what a title can carry (full-width ASCII
-- U+FF01-U+FF5E to ASCII, the ideographic space U+3000 to a space: the characters NFKC changes in such text;
-- DuckDB has nfc_normalize but no NFKC), lower case, then every space, tab, no-break space and zero-width
-- character removed, so "最　佳", "最 佳" and "ＮＯ．１" read as "最佳" and "no.1". Written out as literals (a
-- list built per row would cost a list per title). Checked against Python's unicodedata NFKC in
-- tests/indicators/advertising.
CREATE OR REPLACE TEMP MACRO mm_fold_text(s) AS
regexp_replace(lower(translate(s,
    '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　',
    '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ')),
    '[\s\x{00A0}\x{200B}-\x{200D}\x{2060}\x{FEFF}]+', '', 'g');
