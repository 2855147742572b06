"""Accuracy of the complaints.* flags on the shared generated province (tests/accuracy/conftest.py), and no planted
personal data in any published file (marts and bulletins)."""

from __future__ import annotations

import pytest

from tests.accuracy.conftest import assert_recall_and_precision

IDS = ("complaints.rate_posterior", "complaints.untimely_response", "complaints.surge")


@pytest.mark.slow
@pytest.mark.parametrize("indicator_id", IDS)
def test_recall_and_precision(province, indicator_id):
    assert_recall_and_precision(province, indicator_id)


@pytest.mark.slow
def test_no_planted_personal_data_in_any_published_file(province):
    import pyarrow.parquet as pq

    from pipelines.generate.evaluate import scan_pii

    planted = (province.truth / "planted_pii.txt").read_text(encoding="utf-8").split()
    assert len(planted) > 50
    assert scan_pii(province.home.root, province.truth / "planted_pii.txt") == []
    assert province.evaluation["pii_leaks"] == []
    # the complaints did reach the marts and the bulletins (the scan looked at real rows)
    assert pq.read_table(province.home.mart_dir("complaint_rates")).num_rows > 100
    assert len(list(province.home.root.joinpath("reports").rglob("bulletin.html"))) == len(province.days)
