-- The credit family's histories (docs/INDICATORS.md, credit): every day's leads and tiers, and the
-- inspection draws. Created here rather than by indicators/credit/tiers.py, so that every meta table
-- comes from a migration (same columns as the tables tiers.py used to create: existing warehouses keep
-- theirs, IF NOT EXISTS).
CREATE TABLE IF NOT EXISTS meta.credit_flag_history (
    dt DATE NOT NULL, flag_id VARCHAR NOT NULL, indicator_id VARCHAR NOT NULL, family VARCHAR,
    entity_id VARCHAR, platform VARCHAR, shop_id VARCHAR, uscc VARCHAR,
    window_start DATE, window_end DATE, value DOUBLE, threshold DOUBLE, severity VARCHAR);

CREATE TABLE IF NOT EXISTS meta.credit_tier_history (
    dt DATE NOT NULL, uscc VARCHAR NOT NULL, tier VARCHAR NOT NULL, score DOUBLE NOT NULL,
    hard_rule VARCHAR, contrib_penalties DOUBLE, contrib_fines DOUBLE, contrib_abnormal DOUBLE,
    contrib_serious DOUBLE, contrib_complaints DOUBLE, contrib_flags DOUBLE);

CREATE TABLE IF NOT EXISTS meta.inspection_draws (
    dt DATE NOT NULL, uscc VARCHAR NOT NULL, tier VARCHAR NOT NULL, region_code VARCHAR,
    draw_order BIGINT NOT NULL, seed VARCHAR NOT NULL);
