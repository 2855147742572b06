"""The benchmark harness end to end at a tiny scale: every row of the report is there, the ratios are
numbers, and the DuckDB check and the pandas peer agree (the harness refuses to report otherwise)."""

from __future__ import annotations

import json
import re

from benchmarks.run import main

ROWS = [
    "floor: hand-written DuckDB SQL",
    "product core work",
    "product end to end, 2 days of history",
    "product end to end, 4 days of history",
    "product peak memory",
    "quality gate share of the run",
    "7-day check, DuckDB",
    "7-day check, pandas peer",
]


def test_bench_smoke(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nhand-written text stays\n", encoding="utf-8")
    assert main(["--scale", "0.1", "--repeats", "1", "--history", "2,4", "--density", "0.5",
                 "--work", str(tmp_path / "work"), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "hand-written text stays" in text
    assert text.count("<!-- bench:results:start -->") == 1
    table = [line for line in text.splitlines() if line.startswith("| ")]
    for name in ROWS:
        assert any(line.startswith(f"| {name}") for line in table), name
    for stage in ("ingest", "compute", "gate", "publish", "report"):
        assert any(re.match(rf"\| {stage} \| [0-9.]+ \| [0-9]+% \|", line) for line in table), stage
    assert "Where the time goes" in text
    res = json.loads((tmp_path / "work" / "results.json").read_text())
    # the per-step profile comes from the product run's own log: every indicator, mart and suite is timed
    from indicators.registry import load_catalogue

    assert set(res["indicators"]) == {i.id for i in load_catalogue()}
    assert "mart price_anomalies" in res["steps"] and "suite staging.price_observations" in res["steps"]
    # ingestion is timed per file and phase; the core work counts the floor's three files
    feed = "ingest price_observations price_observations.csv"
    phases = {k.rsplit(" · ", 1)[1]: v for k, v in res["steps"].items() if k.startswith(feed + " · ")}
    assert set(phases) >= {"read", "duplicates", "quarantine", "staging"}, phases
    assert "raw" not in phases  # no text copy of the rows since issue 23: the landing file is the raw record
    # logged in milliseconds, so even a 10,000-row file's staging insert shows; the phases are parts of the file's time
    assert phases["staging"] > 0 and phases["read"] > 0
    assert res["steps"][feed] >= sum(phases.values()) - 0.01
    core_row = next(r for r in res["rows"] if r["name"].startswith("product core work"))
    assert "ingesting the floor's 3 files" in core_row["name"]
    # the step running at the sampled memory peak is named for every product run
    peak_row = next(r for r in res["rows"] if r["name"].startswith("product peak memory"))
    assert "2 d: ?" not in peak_row["name"] and "4 d: ?" not in peak_row["name"]
    # the step is one of this project's own (libraries' debug lines stay out of the --verbose log)
    assert "/etc/timezone" not in peak_row["name"]
    ratios = {r["name"]: r.get("ratio") for r in res["rows"]}
    assert all(float(v.rstrip("%")) > 0 for v in ratios.values() if v)
    assert res["day_rows"]["price_observations"] > 0
    assert res["history_rows"]["4"] > res["history_rows"]["2"] > 0
    # what grows with the history is profiled per step, for both histories, from the same logs
    assert "What grows with the history (4 against 2 days" in text
    assert set(res["steps_by_history"]["4"]) >= {f"indicator {i.id}" for i in load_catalogue()}
    assert len(res["product_walls"]["2"]) == len(res["product_walls"]["4"]) == 1
    # every child really ran: positive wall seconds and max RSS
    for r in res["rows"]:
        if r.get("rss") is not None:
            assert int(r["rss"]) > 10 * 2**20


def test_what_grows_with_the_history_names_the_steps_and_their_share():
    from benchmarks.run import growth_lines

    res = {"histories": (30, 180), "product_walls": {30: [280.0], 180: [340.0]},
           "steps_by_history": {30: {"indicator a": 5.0, "indicator b": 40.0, "indicator c": 3.0,
                                     "ingest f.csv": 40.0, "ingest f.csv · read": 12.0},
                                180: {"indicator a": 20.0, "indicator b": 45.0, "indicator c": 3.4,
                                      "ingest f.csv": 45.0, "ingest f.csv · read": 16.0}}}
    lines = growth_lines(res)
    text = "\n".join(lines)
    assert "280.0 s (30 d) and 340.0 s (180 d)" in text
    assert "all steps together differ by +25.4 s" in text  # a phase of an ingest is not counted twice
    rows = [ln for ln in lines if ln.startswith("| indicator") or ln.startswith("| ingest")]
    assert rows == ["| indicator a | 5.0 | 20.0 | +15.0 | 59% |", "| indicator b | 40.0 | 45.0 | +5.0 | 20% |",
                    "| ingest f.csv | 40.0 | 45.0 | +5.0 | 20% |"]  # c moved by less than 1 s
    assert growth_lines({"histories": (30, 180)}) == []  # results stored before the table existed
