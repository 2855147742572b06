-- Staging and raw tables of the sources (CONTRACT §3), generated from pipelines/ingest/sources/*.yml by
-- pipelines.ingest.ddl.render_migration(); tests/ingest/test_metadata.py keeps the two equal.
-- Every row carries where it came from: _business_date (the landing folder's date), _file_name,
-- _sha256 and _row (1-based data row, header excluded).
-- raw.<table>: every structurally sound row as text, as it arrived (free text unmasked: never
-- published), extra columns as JSON in _extra. staging.<table>: typed, validated, normalised, PII-masked.
-- Tables with history (penalties, lists, registry) keep every version; <table>_current shows the latest.

CREATE TABLE IF NOT EXISTS staging.price_observations (
    observation_id   VARCHAR   NOT NULL,
    observed_at      TIMESTAMP NOT NULL,   -- local time, Asia/Shanghai
    observed_date    DATE      NOT NULL,
    platform         VARCHAR   NOT NULL,
    shop_id          VARCHAR   NOT NULL,
    sku_id           VARCHAR   NOT NULL,
    variant          VARCHAR,
    product_name     VARCHAR,
    category         VARCHAR,
    region_code      VARCHAR,
    price_type       VARCHAR   NOT NULL,   -- list | promo | checkout
    price            DECIMAL(18, 2) NOT NULL,
    currency         VARCHAR,
    reference_price  DECIMAL(18, 2),       -- strike-through 原价 shown next to a promotion
    promo_start      DATE,
    basis_disclosed  BOOLEAN,
    account_cohort   VARCHAR,              -- new | existing | vip | control | NULL
    device           VARCHAR,
    condition        VARCHAR,
    url              VARCHAR,
    _business_date   DATE      NOT NULL,
    _file_name       VARCHAR   NOT NULL,
    _sha256          VARCHAR   NOT NULL,
    _row             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_orders (
    order_id                        VARCHAR   NOT NULL,
    customer_id                     VARCHAR,
    order_status                    VARCHAR,
    order_purchase_timestamp        TIMESTAMP,
    order_approved_at               TIMESTAMP,
    order_delivered_carrier_date    TIMESTAMP,
    order_delivered_customer_date   TIMESTAMP,
    order_estimated_delivery_date   TIMESTAMP,
    _business_date   DATE      NOT NULL,
    _file_name       VARCHAR   NOT NULL,
    _sha256          VARCHAR   NOT NULL,
    _row             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_order_items (
    order_id             VARCHAR   NOT NULL,
    order_item_id        INTEGER   NOT NULL,
    product_id           VARCHAR   NOT NULL,   -- = sku_id
    seller_id            VARCHAR   NOT NULL,   -- = shop_id
    shipping_limit_date  TIMESTAMP,
    price                DECIMAL(18, 2) NOT NULL,
    freight_value        DECIMAL(18, 2),
    _business_date   DATE      NOT NULL,
    _file_name       VARCHAR   NOT NULL,
    _sha256          VARCHAR   NOT NULL,
    _row             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_order_reviews (
    review_id                        VARCHAR NOT NULL,
    order_id                         VARCHAR NOT NULL,
    review_score                     BIGINT,
    review_comment_title             VARCHAR,
    review_comment_message           VARCHAR,
    review_creation_date             TIMESTAMP,
    review_answer_timestamp          TIMESTAMP,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_order_payments (
    order_id                         VARCHAR NOT NULL,
    payment_sequential               BIGINT NOT NULL,
    payment_type                     VARCHAR,
    payment_installments             BIGINT,
    payment_value                    DECIMAL(18, 2),
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_customers (
    customer_id                      VARCHAR NOT NULL,
    customer_unique_id               VARCHAR NOT NULL,
    customer_zip_code_prefix         VARCHAR,
    customer_city                    VARCHAR,
    customer_state                   VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_sellers (
    seller_id                        VARCHAR NOT NULL,
    seller_zip_code_prefix           VARCHAR,
    seller_city                      VARCHAR,
    seller_state                     VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_products (
    product_id                       VARCHAR NOT NULL,
    product_category_name            VARCHAR,
    product_name_lenght              BIGINT,
    product_description_lenght       BIGINT,
    product_photos_qty               BIGINT,
    product_weight_g                 BIGINT,
    product_length_cm                BIGINT,
    product_height_cm                BIGINT,
    product_width_cm                 BIGINT,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.olist_category_translation (
    product_category_name            VARCHAR NOT NULL,
    product_category_name_english    VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.online_retail_lines (
    invoice_no                       VARCHAR NOT NULL,
    stock_code                       VARCHAR,
    description                      VARCHAR,
    quantity                         BIGINT NOT NULL,
    invoice_date                     TIMESTAMP NOT NULL,
    unit_price                       DECIMAL(18, 3) NOT NULL,
    customer_id                      VARCHAR,
    country                          VARCHAR,
    is_cancellation                  BOOLEAN,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.cfpb_complaints (
    date_received                    DATE NOT NULL,
    product                          VARCHAR,
    sub_product                      VARCHAR,
    issue                            VARCHAR,
    sub_issue                        VARCHAR,
    complaint_what_happened          VARCHAR,
    company_public_response          VARCHAR,
    company                          VARCHAR NOT NULL,
    state                            VARCHAR,
    zip_code                         VARCHAR,
    tags                             VARCHAR,
    consumer_consent_provided        VARCHAR,
    submitted_via                    VARCHAR,
    date_sent_to_company             DATE,
    company_response                 VARCHAR,
    timely                           BOOLEAN,
    consumer_disputed                VARCHAR,
    complaint_id                     VARCHAR NOT NULL,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.complaints_12315 (
    complaint_no                     VARCHAR NOT NULL,
    registered_date                  DATE NOT NULL,
    respondent_name                  VARCHAR,
    respondent_uscc                  VARCHAR,
    respondent_uscc_valid            BOOLEAN,
    platform_name                    VARCHAR,
    shop_id                          VARCHAR,
    region_code                      VARCHAR,
    complaint_category               VARCHAR,
    complaint_text                   VARCHAR,
    handling_status                  VARCHAR,
    closed_date                      DATE,
    responded_on_time                BOOLEAN,
    mediation_result                 VARCHAR,
    economic_loss_recovered_yuan     DECIMAL(18, 2),
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.penalties (
    decision_no                      VARCHAR NOT NULL,
    party_name                       VARCHAR NOT NULL,
    party_type                       VARCHAR,
    party_uscc                       VARCHAR,
    party_uscc_valid                 BOOLEAN,
    legal_representative             VARCHAR,
    penalty_name                     VARCHAR,
    violation_type                   VARCHAR,
    violation_facts                  VARCHAR,
    legal_basis                      VARCHAR,
    penalty_category                 VARCHAR,
    penalty_category_2               VARCHAR,
    penalty_content                  VARCHAR,
    fine_amount_wan                  DECIMAL(18, 6),
    confiscated_amount_wan           DECIMAL(18, 6),
    decision_date                    DATE NOT NULL,
    valid_until                      DATE,
    publicity_until                  DATE,
    authority                        VARCHAR,
    authority_uscc                   VARCHAR,
    authority_uscc_valid             BOOLEAN,
    data_source_unit                 VARCHAR,
    status                           VARCHAR,
    local_code                       VARCHAR,
    data_updated_at                  TIMESTAMP,
    fine_amount_yuan                 DECIMAL(18, 2),
    fine_amount_unit                 VARCHAR,
    fine_amount_source               VARCHAR,
    confiscated_amount_yuan          DECIMAL(18, 2),
    header_version                   VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.abnormal_operations (
    uscc                             VARCHAR NOT NULL,
    uscc_valid                       BOOLEAN,
    company_name                     VARCHAR,
    listed_reason                    VARCHAR,
    listed_date                      DATE NOT NULL,
    listing_authority                VARCHAR,
    removal_reason                   VARCHAR,
    removed_date                     DATE,
    removal_authority                VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.serious_violations (
    uscc                             VARCHAR NOT NULL,
    uscc_valid                       BOOLEAN,
    company_name                     VARCHAR,
    listed_reason                    VARCHAR,
    listed_date                      DATE NOT NULL,
    listing_authority                VARCHAR,
    removed_date                     DATE,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.registry (
    platform                         VARCHAR NOT NULL,
    shop_id                          VARCHAR NOT NULL,
    shop_name                        VARCHAR,
    uscc                             VARCHAR,
    uscc_valid                       BOOLEAN,
    company_name                     VARCHAR,
    region_code                      VARCHAR,
    established_date                 DATE,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.price_observations (
    observation_id                   VARCHAR,
    observed_at                      VARCHAR,
    platform                         VARCHAR,
    shop_id                          VARCHAR,
    sku_id                           VARCHAR,
    variant                          VARCHAR,
    product_name                     VARCHAR,
    category                         VARCHAR,
    region_code                      VARCHAR,
    price_type                       VARCHAR,
    price                            VARCHAR,
    currency                         VARCHAR,
    reference_price                  VARCHAR,
    promo_start                      VARCHAR,
    basis_disclosed                  VARCHAR,
    account_cohort                   VARCHAR,
    device                           VARCHAR,
    condition                        VARCHAR,
    url                              VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_orders (
    order_id                         VARCHAR,
    customer_id                      VARCHAR,
    order_status                     VARCHAR,
    order_purchase_timestamp         VARCHAR,
    order_approved_at                VARCHAR,
    order_delivered_carrier_date     VARCHAR,
    order_delivered_customer_date    VARCHAR,
    order_estimated_delivery_date    VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_order_items (
    order_id                         VARCHAR,
    order_item_id                    VARCHAR,
    product_id                       VARCHAR,
    seller_id                        VARCHAR,
    shipping_limit_date              VARCHAR,
    price                            VARCHAR,
    freight_value                    VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_order_reviews (
    review_id                        VARCHAR,
    order_id                         VARCHAR,
    review_score                     VARCHAR,
    review_comment_title             VARCHAR,
    review_comment_message           VARCHAR,
    review_creation_date             VARCHAR,
    review_answer_timestamp          VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_order_payments (
    order_id                         VARCHAR,
    payment_sequential               VARCHAR,
    payment_type                     VARCHAR,
    payment_installments             VARCHAR,
    payment_value                    VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_customers (
    customer_id                      VARCHAR,
    customer_unique_id               VARCHAR,
    customer_zip_code_prefix         VARCHAR,
    customer_city                    VARCHAR,
    customer_state                   VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_sellers (
    seller_id                        VARCHAR,
    seller_zip_code_prefix           VARCHAR,
    seller_city                      VARCHAR,
    seller_state                     VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_products (
    product_id                       VARCHAR,
    product_category_name            VARCHAR,
    product_name_lenght              VARCHAR,
    product_description_lenght       VARCHAR,
    product_photos_qty               VARCHAR,
    product_weight_g                 VARCHAR,
    product_length_cm                VARCHAR,
    product_height_cm                VARCHAR,
    product_width_cm                 VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.olist_category_translation (
    product_category_name            VARCHAR,
    product_category_name_english    VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.online_retail_lines (
    invoice_no                       VARCHAR,
    stock_code                       VARCHAR,
    description                      VARCHAR,
    quantity                         VARCHAR,
    invoice_date                     VARCHAR,
    unit_price                       VARCHAR,
    customer_id                      VARCHAR,
    country                          VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.cfpb_complaints (
    date_received                    VARCHAR,
    product                          VARCHAR,
    sub_product                      VARCHAR,
    issue                            VARCHAR,
    sub_issue                        VARCHAR,
    complaint_what_happened          VARCHAR,
    company_public_response          VARCHAR,
    company                          VARCHAR,
    state                            VARCHAR,
    zip_code                         VARCHAR,
    tags                             VARCHAR,
    consumer_consent_provided        VARCHAR,
    submitted_via                    VARCHAR,
    date_sent_to_company             VARCHAR,
    company_response                 VARCHAR,
    timely                           VARCHAR,
    consumer_disputed                VARCHAR,
    complaint_id                     VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.complaints_12315 (
    complaint_no                     VARCHAR,
    registered_date                  VARCHAR,
    respondent_name                  VARCHAR,
    respondent_uscc                  VARCHAR,
    platform_name                    VARCHAR,
    shop_id                          VARCHAR,
    region_code                      VARCHAR,
    complaint_category               VARCHAR,
    complaint_text                   VARCHAR,
    handling_status                  VARCHAR,
    closed_date                      VARCHAR,
    responded_on_time                VARCHAR,
    mediation_result                 VARCHAR,
    economic_loss_recovered_yuan     VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.penalties (
    decision_no                      VARCHAR,
    party_name                       VARCHAR,
    party_type                       VARCHAR,
    party_uscc                       VARCHAR,
    legal_representative             VARCHAR,
    penalty_name                     VARCHAR,
    violation_type                   VARCHAR,
    violation_facts                  VARCHAR,
    legal_basis                      VARCHAR,
    penalty_category                 VARCHAR,
    penalty_category_2               VARCHAR,
    penalty_content                  VARCHAR,
    fine_amount_wan                  VARCHAR,
    confiscated_amount_wan           VARCHAR,
    decision_date                    VARCHAR,
    valid_until                      VARCHAR,
    publicity_until                  VARCHAR,
    authority                        VARCHAR,
    authority_uscc                   VARCHAR,
    data_source_unit                 VARCHAR,
    status                           VARCHAR,
    local_code                       VARCHAR,
    data_updated_at                  VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.abnormal_operations (
    uscc                             VARCHAR,
    company_name                     VARCHAR,
    listed_reason                    VARCHAR,
    listed_date                      VARCHAR,
    listing_authority                VARCHAR,
    removal_reason                   VARCHAR,
    removed_date                     VARCHAR,
    removal_authority                VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.serious_violations (
    uscc                             VARCHAR,
    company_name                     VARCHAR,
    listed_reason                    VARCHAR,
    listed_date                      VARCHAR,
    listing_authority                VARCHAR,
    removed_date                     VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.registry (
    platform                         VARCHAR,
    shop_id                          VARCHAR,
    shop_name                        VARCHAR,
    uscc                             VARCHAR,
    company_name                     VARCHAR,
    region_code                      VARCHAR,
    established_date                 VARCHAR,
    _extra                           VARCHAR,
    _business_date                   DATE      NOT NULL,
    _file_name                       VARCHAR   NOT NULL,
    _sha256                          VARCHAR   NOT NULL,
    _row                             BIGINT    NOT NULL
);

CREATE OR REPLACE VIEW staging.penalties_current AS
SELECT * EXCLUDE (_version) FROM (
    SELECT *, row_number() OVER (PARTITION BY decision_no ORDER BY _business_date DESC, data_updated_at DESC NULLS LAST, _file_name DESC, _row DESC) AS _version
    FROM staging.penalties
) WHERE _version = 1;

CREATE OR REPLACE VIEW staging.abnormal_operations_current AS
SELECT * EXCLUDE (_version) FROM (
    SELECT *, row_number() OVER (PARTITION BY uscc, listed_date ORDER BY _business_date DESC, _file_name DESC, _row DESC) AS _version
    FROM staging.abnormal_operations
) WHERE _version = 1;

CREATE OR REPLACE VIEW staging.serious_violations_current AS
SELECT * EXCLUDE (_version) FROM (
    SELECT *, row_number() OVER (PARTITION BY uscc, listed_date ORDER BY _business_date DESC, _file_name DESC, _row DESC) AS _version
    FROM staging.serious_violations
) WHERE _version = 1;

CREATE OR REPLACE VIEW staging.registry_current AS
SELECT * EXCLUDE (_version) FROM (
    SELECT *, row_number() OVER (PARTITION BY shop_id ORDER BY _business_date DESC, _file_name DESC, _row DESC) AS _version
    FROM staging.registry
) WHERE _version = 1;

-- The canonical merchant dimension: every platform shop with its legal entity (latest registry row).
CREATE OR REPLACE VIEW staging.dim_merchant AS
SELECT platform, shop_id, shop_name, uscc, uscc_valid, company_name, region_code, established_date,
       _business_date AS registered_as_of
FROM staging.registry_current;
