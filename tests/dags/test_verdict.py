"""publish records blocked marts; the report still runs; quality_verdict then fails the run without
retries (a rerun would give the same verdict)."""

from __future__ import annotations

import pytest

from pipelines.run.airflow_tasks import BLOCKED_KEY, verdict_task


class FakeTI:
    def __init__(self, blocked):
        self.blocked = blocked
        self.asked = None

    def xcom_pull(self, task_ids, key):
        self.asked = (task_ids, key)
        return self.blocked


def test_clean_publish_passes():
    ti = FakeTI({})
    assert verdict_task("2026-11-05", {"ti": ti}) == "2026-11-05"
    assert ti.asked == ("publish", BLOCKED_KEY)


def test_blocked_mart_fails_without_retry():
    from airflow.sdk.exceptions import AirflowFailException

    ti = FakeTI({"price_anomalies": ["mart.price_anomalies: expect_column_values_to_not_be_null(dt)"]})
    with pytest.raises(AirflowFailException, match="price_anomalies") as err:
        verdict_task("2026-11-05", {"ti": ti})
    assert "2026-11-05" in str(err.value) and "previous partitions stay published" in str(err.value)
