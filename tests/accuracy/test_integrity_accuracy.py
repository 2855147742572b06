"""Accuracy of the integrity.* flags on the shared generated province (tests/accuracy/conftest.py)."""

from __future__ import annotations

import pytest

from tests.accuracy.conftest import assert_recall_and_precision

IDS = ("integrity.concentrate_rate", "integrity.rating_burst", "integrity.answer_latency",
       "integrity.buyer_concentration")


@pytest.mark.slow
@pytest.mark.parametrize("indicator_id", IDS)
def test_recall_and_precision(province, indicator_id):
    assert_recall_and_precision(province, indicator_id)


@pytest.mark.slow
def test_marketplace_integrity_mart_is_published_with_every_seller_of_the_day(province):
    import pyarrow.parquet as pq

    mart = pq.read_table(province.home.mart_dir("marketplace_integrity")).to_pandas()
    assert mart["dt"].nunique() == len(province.days)
    assert not mart.duplicated(["dt", "shop_id"]).any()
    assert mart["orders_on_day"].sum() > 1000
    for col in ("flag_concentrate_rate", "flag_rating_burst", "flag_answer_latency", "flag_buyer_concentration"):
        assert mart[col].sum() >= 1, col
