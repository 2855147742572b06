"""Accuracy of the price.*, collusion.* and discrimination.* flags on the shared generated province
(tests/accuracy/conftest.py: 2026-10-29 .. 11-11, the 双11 run-in from 11-01 and the peak 11-10/11-11 inside), and
no collusion or spike flag on the platform-wide campaign moves."""

from __future__ import annotations

import pytest

from tests.accuracy.conftest import assert_recall_and_precision

IDS = ("price.cn_reference_7d", "price.eu_prior_30d", "price.pre_promo_runup", "price.phantom_reference",
       "price.spike_mad", "price.sustained_below_market", "collusion.variance_screen",
       "collusion.cover_distance", "collusion.parallelism", "discrimination.paired_probe",
       "discrimination.loyalty_premium")


@pytest.mark.slow
@pytest.mark.parametrize("indicator_id", IDS)
def test_recall_and_precision(province, indicator_id):
    assert_recall_and_precision(province, indicator_id)


@pytest.mark.slow
def test_campaign_moves_raise_no_collusion_or_spike_flags(province):
    """On the 双11 days most sellers of a category move together; no collusion screen or spike may fire on a
    clean cell or shop because of it."""
    import duckdb

    home, truth = province.home, province.truth
    con = duckdb.connect()
    con.execute("CREATE TABLE truth AS SELECT * FROM read_csv($p, all_varchar=true)", {"p": str(truth / "ground_truth.csv")})
    con.execute("CREATE TABLE flags AS SELECT * FROM read_parquet($p, hive_partitioning=true)",
                {"p": str(home.mart_dir("indicator_flags") / "*" / "*.parquet")})
    assert con.sql("SELECT count(DISTINCT dt) FROM flags").fetchall()[0][0] == len(province.days)
    clean_flags = con.sql(
        "SELECT dt, indicator_id, entity_id FROM flags"
        " WHERE indicator_id IN ('price.spike_mad', 'collusion.parallelism', 'collusion.variance_screen',"
        "                        'collusion.cover_distance')"
        " AND NOT EXISTS (SELECT 1 FROM truth t WHERE t.indicator_id = flags.indicator_id"
        "   AND ((coalesce(t.shop_id, '') <> '' AND t.shop_id = flags.shop_id)"
        "        OR (coalesce(t.shop_id, '') = '' AND t.sku_id = flags.sku_id AND t.region_code = flags.region_code)))"
    ).fetchall()
    assert clean_flags == []
    # ... and the campaign did reach the data: on the peak most listings sat below their own 28-day median
    moved = con.execute(
        "SELECT avg((offered_price < 0.96 * own_median_28d)::INTEGER) FROM read_parquet($p, hive_partitioning=true)"
        " WHERE dt = DATE '2026-11-10'", {"p": str(home.mart_dir("price_anomalies") / "*" / "*.parquet")}
    ).fetchall()[0][0]
    assert moved > 0.5
