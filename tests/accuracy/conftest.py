"""ONE generated province for every accuracy test: the bundled sample (pipelines/sample/ = write_sample(): seed
20261111, start 2026-10-29, 14 days, scale 0.02), run day by day through the real daily pipeline
(`pipelines.daily.run_day`: ingest -> compute -> gate -> publish -> report) into a fresh home, once per session.

`make demo` followed by `market-monitor evaluate --home var --truth pipelines/sample` gives the same table
(docs/ACCURACY.md). tests/generate checks that pipelines/sample is byte for byte what the generator writes, so
scoring the bundled files scores the generator's default seed.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Province:
    truth: Path          # the generator's OUT folder: ground_truth.csv, expected_tiers.csv, planted_pii.txt
    home: object         # pipelines.home.Home with the published marts and reports
    days: list           # every business date run, in order
    seconds: float       # wall time of the run (all days, all stages)
    stage_seconds: dict  # stage -> wall seconds summed over the days
    evaluation: dict     # pipelines.evaluate.evaluate(home, truth)


@pytest.fixture(scope="session")
def province(tmp_path_factory) -> Province:
    from pipelines.daily import run_day
    from pipelines.demo import sample_days, sample_landing, sample_root
    from pipelines.evaluate import evaluate
    from pipelines.home import Home
    from warehouse.db import connect_writer

    home = Home(tmp_path_factory.mktemp("accuracy_home")).ensure()
    shutil.copytree(sample_landing(), home.landing, dirs_exist_ok=True)
    days = sample_days()
    stage_seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    con = connect_writer(home.db_path)
    try:
        for d in days:
            result = run_day(home, d, con=con, triggered_by="test")
            result.raise_for_outcome()   # a blocked mart or a rejected file fails the fixture, loudly
            for stage, s in result.seconds.items():
                stage_seconds[stage] = stage_seconds.get(stage, 0.0) + s
    finally:
        con.close()
    seconds = time.perf_counter() - t0
    evaluation = evaluate(home.root, sample_root())
    return Province(truth=sample_root(), home=home, days=days, seconds=seconds,
                    stage_seconds={k: round(v, 1) for k, v in stage_seconds.items()}, evaluation=evaluation)


def assert_recall_and_precision(province: Province, indicator_id: str) -> None:
    """The issue's bar for every indicator id: recall and precision >= 0.9 on the planted anomalies."""
    from pipelines.evaluate import format_evaluation

    table = province.evaluation
    row = table["indicators"][indicator_id]
    print(f"\n{indicator_id}: {row} (province run in {province.seconds:.0f} s: {province.stage_seconds})")
    assert row["planted"] >= 3
    assert row["recall"] >= 0.9, format_evaluation(table)
    assert row["precision"] is not None and row["precision"] >= 0.9, format_evaluation(table)
