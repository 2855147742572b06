"""`python -m benchmarks.statement`: one indicator's statement under a memory limit, measured and profiled."""

from __future__ import annotations

import shutil

from benchmarks.statement import main


def test_one_statement_is_measured_and_an_out_of_memory_is_said(template_d1, tmp_path, capsys):
    from tests.reliability.helpers import D1

    db = tmp_path / "w.duckdb"
    shutil.copyfile(template_d1 / "warehouse.duckdb", db)
    args = ["--db", str(db), "--indicator", "complaints.rate_posterior", "--date", D1.isoformat(), "--threads", "1"]
    assert main([*args, "--limit", "512MB"]) == 0
    out = capsys.readouterr().out
    assert "completed" in out and "peak buffer memory" in out and "rows " in out
    assert main([*args, "--limit", "8MB"]) == 1  # far below its operators' fixed buffers
    assert "failed: Out of Memory" in capsys.readouterr().out
