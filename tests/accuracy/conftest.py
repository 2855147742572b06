"""ONE generated province for every accuracy test: the bundled sample (pipelines/generate/sample_province/ = write_sample(): seed
20261111, start 2026-10-29, 14 days, scale 0.02), run day by day through the real daily pipeline
(`pipelines.run.daily.run_day`: ingest -> compute -> gate -> publish -> report) into a fresh home, once per session.

`make demo` followed by `market-monitor evaluate --home var --truth pipelines/sample` gives the same table
(docs/ACCURACY.md). tests/generate checks that pipelines/sample is byte for byte what the generator writes, so
scoring the bundled files scores the generator's default seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Province:
    truth: Path          # the generator's OUT folder: ground_truth.csv, expected_tiers.csv, planted_pii.txt
    home: object         # pipelines.core.home.Home with the published marts and reports
    days: list           # every business date run, in order
    seconds: float       # wall time of the run (all days, all stages)
    stage_seconds: dict  # stage -> wall seconds summed over the days
    evaluation: dict     # pipelines.generate.evaluate.evaluate(home, truth)


@pytest.fixture(scope="session")
def province(demo_home) -> Province:
    """The sample run by the CLI's `demo` (shared with tests/e2e), then scored."""
    import duckdb

    from pipelines.core.home import Home
    from pipelines.generate.evaluate import evaluate
    from pipelines.generate.sample import sample_root

    root, days = demo_home
    home = Home(Path(root))
    con = duckdb.connect(str(home.db_path), read_only=True)
    try:
        stage_seconds = dict(con.execute(
            "SELECT stage, round(sum(epoch(finished_at - started_at)), 1) FROM meta.runs "
            "WHERE outcome = 'success' GROUP BY stage").fetchall())
        failed = con.execute("SELECT count(*) FROM meta.runs WHERE outcome <> 'success'").fetchall()[0][0]
        span = con.execute("SELECT epoch(max(finished_at) - min(started_at)) FROM meta.runs").fetchall()[0][0]
    finally:
        con.close()
    assert failed == 0, "a stage of the sample run failed"
    return Province(truth=sample_root(), home=home, days=days, seconds=float(span or 0),
                    stage_seconds=stage_seconds, evaluation=evaluate(home.root, sample_root()))


def assert_recall_and_precision(province: Province, indicator_id: str) -> None:
    """The issue's bar for every indicator id: recall and precision >= 0.9 on the planted anomalies."""
    from pipelines.generate.evaluate import format_evaluation

    table = province.evaluation
    row = table["indicators"][indicator_id]
    print(f"\n{indicator_id}: {row} (province run in {province.seconds:.0f} s: {province.stage_seconds})")
    assert row["planted"] >= 3
    assert row["recall"] >= 0.9, format_evaluation(table)
    assert row["precision"] is not None and row["precision"] >= 0.9, format_evaluation(table)
