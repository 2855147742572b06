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
