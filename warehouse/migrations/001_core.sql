-- Core schemas and bookkeeping tables. Layers: raw -> staging -> work (a run's candidate marts)
-- -> published parquet. meta holds the ledger, quarantine, runs and quality results.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS work;
CREATE SCHEMA IF NOT EXISTS meta;

-- One row per landed file and load attempt outcome (CONTRACT §3).
CREATE TABLE IF NOT EXISTS meta.ingestion_ledger (
    source            VARCHAR   NOT NULL,
    business_date     DATE      NOT NULL,
    file_name         VARCHAR   NOT NULL,
    sha256            VARCHAR,
    size_bytes        BIGINT,
    rows_read         BIGINT    NOT NULL,
    rows_loaded       BIGINT    NOT NULL,
    rows_quarantined  BIGINT    NOT NULL,
    outcome           VARCHAR   NOT NULL,  -- loaded | skipped_same_file | replaced | rejected | ignored | empty
    message           VARCHAR,
    encoding          VARCHAR,
    loaded_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (source, business_date, file_name),
    CHECK (rows_read = rows_loaded + rows_quarantined)
);

-- Every rejected row, with the reason a person can act on and the original text.
CREATE TABLE IF NOT EXISTS meta.quarantine_rows (
    source         VARCHAR NOT NULL,
    business_date  DATE    NOT NULL,
    file_name      VARCHAR NOT NULL,
    sha256         VARCHAR,
    row_number     BIGINT,           -- 1-based data row (header excluded); NULL for a whole-file rejection
    column_name    VARCHAR,
    reason         VARCHAR NOT NULL,
    raw_text       VARCHAR
);

-- One row per run stage.
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id         VARCHAR   NOT NULL,
    business_date  DATE      NOT NULL,
    stage          VARCHAR   NOT NULL,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    outcome        VARCHAR   NOT NULL,  -- running | success | failed
    message        VARCHAR,
    triggered_by   VARCHAR
);

-- One row per expectation evaluated by the quality gate.
CREATE TABLE IF NOT EXISTS meta.quality_results (
    run_id          VARCHAR   NOT NULL,
    business_date   DATE      NOT NULL,
    suite           VARCHAR   NOT NULL,
    table_name      VARCHAR   NOT NULL,
    expectation     VARCHAR   NOT NULL,
    column_name     VARCHAR,
    severity        VARCHAR   NOT NULL,  -- blocking | warning
    success         BOOLEAN   NOT NULL,
    observed_value  VARCHAR,
    details         VARCHAR,
    validated_at    TIMESTAMP NOT NULL
);

-- What is published: one row per mart partition currently on disk.
CREATE TABLE IF NOT EXISTS meta.published_partitions (
    mart            VARCHAR   NOT NULL,
    dt              DATE      NOT NULL,
    rows            BIGINT    NOT NULL,
    sha256          VARCHAR   NOT NULL,
    schema_version  INTEGER   NOT NULL,
    run_id          VARCHAR   NOT NULL,
    published_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (mart, dt)
);

-- Alerts written by failure callbacks and the run itself.
CREATE TABLE IF NOT EXISTS meta.alerts (
    raised_at      TIMESTAMP NOT NULL,
    dag_id         VARCHAR,
    task_id        VARCHAR,
    business_date  DATE,
    message        VARCHAR   NOT NULL
);

CREATE OR REPLACE VIEW main.ingestion_ledger AS
SELECT source, business_date, file_name, sha256, size_bytes, rows_read, rows_loaded,
       rows_quarantined, outcome, message, encoding, loaded_at
FROM meta.ingestion_ledger;
