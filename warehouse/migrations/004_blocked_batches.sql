-- Staging batches that failed a blocking check of the quality gate (docs/QUALITY.md, "What happens
-- downstream of a blocked batch"). A batch is one staging table's rows of one business date
-- (_business_date). While a batch is blocked (cleared_at IS NULL) every later day's indicators read
-- their sources without it: the as-of-D table macros (indicators/macros.sql) skip its rows. The gate of
-- a rerun of that date that passes the table's suite clears it (cleared_at, cleared_run_id), and the
-- batch flows again; the row stays as the record of the block.
CREATE TABLE IF NOT EXISTS meta.blocked_batches (
    table_name VARCHAR NOT NULL,      -- staging.<table>, as in meta.quality_results.table_name
    business_date DATE NOT NULL,      -- the batch: the table's rows with _business_date = business_date
    run_id VARCHAR NOT NULL,          -- the run whose gate blocked it (last time)
    reason VARCHAR NOT NULL,          -- the failed blocking checks
    blocked_at TIMESTAMP NOT NULL,
    cleared_at TIMESTAMP,             -- set when a rerun of the date passed the table's suite
    cleared_run_id VARCHAR,
    PRIMARY KEY (table_name, business_date));
