"""The scale-curve harness (benchmarks/curve.py): a tiny point end to end, a point stopped by its time limit recorded
with where it died (not dropped), the block and the SVG written beside a tmp BENCHMARKS.md, and the arithmetic of the
linearity ratio on hand-made points."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from benchmarks.curve import linearity, main, parse_rows, per_row, render, svg, watched

SVG_NS = "{http://www.w3.org/2000/svg}"


def _point(rows, status="ok", wall=10.0, cpu=15.0, day_rows=None, commit="abc1234"):
    return {"rows_target": rows, "label": "", "scale": rows / 1e5, "history_days": 30, "density": 0.02, "commit": commit,
            "measured_at": "2026-12-06 16:00 UTC", "command": "python -m benchmarks.curve", "memory_limit": "2.5GB",
            "machine": "2 cores", "command_seconds": 60.0,
            "status": status, "where": "here" if status != "ok" else "peak RSS in: x",
            "day_rows": day_rows or rows, "history_rows": rows // 2,
            "floor": {"wall": 1.0, "cpu": 2.0, "rss": 10**9, "rc": 0, "killed": None},
            "product": {"wall": wall, "cpu": cpu, "rss": 2 * 10**9, "spill": 10**8, "rc": 0 if status == "ok" else 1,
                        "stages": {"ingest": wall / 2, "compute": wall / 2}, "peak_step": "x"}}


def test_parse_rows():
    assert parse_rows("1M") == 1_000_000
    assert parse_rows("2.5m") == 2_500_000
    assert parse_rows("20k") == 20_000
    assert parse_rows("1500000") == 1_500_000
    with pytest.raises(Exception, match="not a row count"):
        parse_rows("lots")


def test_linearity_is_time_per_row_at_100m_over_10m():
    lo = _point(10_000_000, wall=100.0, cpu=150.0, day_rows=9_940_000)
    hi = _point(100_000_000, wall=1200.0, cpu=1300.0, day_rows=99_400_000)
    lin = linearity([lo, hi])
    assert lin["wall"] == pytest.approx((1200 / 99_400_000) / (100 / 9_940_000))  # 1.2: faster than linear
    assert lin["cpu"] == pytest.approx((1300 / 99_400_000) / (150 / 9_940_000))
    text = render([lo, hi], "x.svg")
    assert "wall 1.20, CPU 0.87 — **NO**" in text
    assert lin["vs_floor"] == pytest.approx(1200 / 100)  # both floors 1 s: the multiples are the walls
    assert "Against each point's own floor (× floor at 100 M ÷ × floor at 10 M): 12.00" in text
    # a point that died is kept, and the ratio says it was not measured (instead of using a partial time)
    died = _point(100_000_000, status="died", wall=1800.0)
    assert per_row(died, "wall") is None
    lin = linearity([lo, died])
    assert lin["wall"] is None and "100 M died" in lin["missing"]
    text = render([lo, died], "x.svg")
    assert "not measured: 100 M died" in text
    assert any(line.startswith("| 100,000,000 |") and "| died |" in line and "| here |" in line
               for line in text.splitlines())
    root = ET.fromstring(svg([lo, died]))
    crosses = list(root.iter(f"{SVG_NS}path"))
    assert len(crosses) == 4  # wall, CPU, RSS and spill of the point that died


def test_a_ratio_between_points_of_different_code_says_so():
    lo = _point(10_000_000, wall=100.0, day_rows=10_000_000)
    same = render([lo, _point(100_000_000, wall=1000.0, day_rows=100_000_000)], "x.svg")
    assert "wall 1.00" in same and "ran different code" not in same and "code abc1234;" in same
    # a machine twice as fast for the second command: both the product and the floor take half the time
    fast = _point(100_000_000, wall=500.0, day_rows=100_000_000)
    fast["floor"]["wall"] = 0.5
    assert linearity([lo, fast])["vs_floor"] == pytest.approx(10.0)  # 1000 s / 1 s at 100 M over 100 s / 1 s
    other = render([lo, _point(100_000_000, wall=1000.0, day_rows=100_000_000, commit="def5678+changes")], "x.svg")
    assert "The two points ran different code (10 M: abc1234, 100 M: def5678+changes)" in other


def test_the_floor_held_to_the_products_memory_limit_separates_the_bounds_growth_from_the_products():
    lo = _point(10_000_000, wall=100.0, day_rows=10_000_000)
    hi = _point(100_000_000, wall=1500.0, day_rows=100_000_000)
    assert linearity([lo, hi])["bounded_floor"] is None  # points measured before the held floor: not claimed
    assert "held to the product's memory limit grows" not in render([lo, hi], "x.svg")
    lo["floor_bounded"] = {"wall": 2.0, "cpu": 3.0, "rss": 2.6e9, "rc": 0, "killed": None, "memory_limit": "2.5GB"}
    hi["floor_bounded"] = {"wall": 24.0, "cpu": 40.0, "rss": 2.7e9, "rc": 0, "killed": None, "memory_limit": "2.5GB"}
    lin = linearity([lo, hi])
    assert lin["wall"] == pytest.approx(1.5) and lin["bounded_floor"] == pytest.approx(1.2)
    assert lin["vs_bounded_floor"] == pytest.approx(1.25)  # 1.5 of the product's growth, 1.2 of it the bound's
    text = render([lo, hi], "x.svg")
    assert "grows 1.20 per row from 10 M to 100 M by itself; the product's growth beyond it: 1.25." in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| 100 M | 2.5GB |"))
    assert [c.strip() for c in row.split("|")[3:-1]] == ["1.0", "24.0", "40.0", "2.70", "0.24", "62.5"]
    hi["floor_bounded"] |= {"rc": -9, "killed": "out of time: stopped after 60 s"}
    assert linearity([lo, hi])["bounded_floor"] is None
    assert "did not finish: out of time: stopped after 60 s" in render([lo, hi], "x.svg")


def test_the_code_measured_is_recorded():
    from benchmarks.curve import code_commit

    assert re.fullmatch(r"[0-9a-f]{7,}(\+changes)?|unknown", code_commit())


def test_the_recorded_commit_is_the_last_that_changed_what_a_point_runs(tmp_path):
    # a point measured after a commit of docs or tests ran the same code as one measured before it: same commit
    from benchmarks.curve import code_commit

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    assert code_commit(tmp_path) == "unknown"
    (tmp_path / "indicators").mkdir()
    (tmp_path / "indicators" / "rule.sql").write_text("SELECT 1\n")
    git("add", "-A")
    git("commit", "-q", "-m", "rule")
    rule = git("rev-parse", "--short=7", "HEAD")
    assert code_commit(tmp_path) == rule
    for path in ("docs/BENCHMARKS.md", "tests/test_rule.py", "benchmarks/curve.py"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text("x\n")
        git("add", "-A")
        git("commit", "-q", "-m", path)
        assert code_commit(tmp_path) == rule, path
    (tmp_path / "docs" / "BENCHMARKS.md").write_text("uncommitted\n")
    assert code_commit(tmp_path) == rule
    (tmp_path / "indicators" / "rule.sql").write_text("SELECT 2\n")
    assert code_commit(tmp_path) == rule + "+changes"
    git("commit", "-q", "-am", "rule 2")
    assert code_commit(tmp_path) == git("rev-parse", "--short=7", "HEAD") != rule


def test_watchdog_stops_a_child_past_its_memory_cap_or_its_time():
    hog = [sys.executable, "-c", "import time; x = bytearray(400 * 2**20); x[::4096] = b'1' * len(x[::4096]); "
           "time.sleep(60)"]
    t0 = time.monotonic()
    r = watched(hog, 60, 200 * 2**20)
    assert r["rc"] != 0 and r["killed"].startswith("out of memory: stopped at 0."), r["killed"]
    r = watched([sys.executable, "-c", "import time; time.sleep(60)"], 1, 2**40)
    assert r["rc"] != 0 and r["killed"].startswith("out of time: stopped after"), r["killed"]
    assert time.monotonic() - t0 < 20  # neither waited for its child's minute


@pytest.mark.slow
def test_curve_end_to_end(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nhand-written text stays\n\n<!-- bench:results:start -->\nother block\n"
                   "<!-- bench:results:end -->\n", encoding="utf-8")
    work = tmp_path / "work"
    common = ["--history", "2", "--density", "0.5", "--work", str(work), "--out", str(out)]
    assert main(["--points", "20k", *common]) == 0
    # a second command adds its own point: stopped by its time limit, recorded with where it died
    assert main(["--points", "30k", "--timeout", "2", *common]) == 0
    text = out.read_text(encoding="utf-8")
    assert "hand-written text stays" in text and "other block" in text
    assert text.count("<!-- bench:curve:start -->") == 1 and text.count("<!-- bench:curve:end -->") == 1
    rows = {int(ln.split("|")[1].replace(",", "")): ln for ln in text.splitlines() if re.match(r"\| [0-9,]+ \| ", ln)}
    assert len(rows) == 2, rows
    small, big = (rows[k] for k in sorted(rows))
    cells = [c.strip() for c in small.split("|")[1:-1]]
    assert cells[3] == "ok", small
    wall, cpu, rss, floor_wall = float(cells[4]), float(cells[5]), float(cells[6]), float(cells[8])
    assert wall > 0 and cpu > 0 and rss > 0.05 and floor_wall > 0
    assert float(cells[12]) == pytest.approx(wall / int(cells[0].replace(",", "")) * 1e6, rel=0.01)
    assert "| died |" in big and "out of time: stopped after" in big, big
    assert text.count("- `python -m benchmarks.curve --points") == 2  # each command with its points and time
    assert "between 10 M and 100 M" in text and "not measured" in text
    assert "![time and memory against the day's rows](benchmarks/scale_curve.svg)" in text
    store = json.loads((tmp_path / "benchmarks" / "scale_curve.json").read_text())
    assert [p["rows_target"] for p in store["points"]] == [20_000, 30_000]
    held = store["points"][0]["floor_bounded"]
    assert held["rc"] == 0 and held["wall"] > 0 and held["memory_limit"], held
    assert any(ln.startswith("| 20 k | ") and f"| {held['wall']:.1f} |" in ln for ln in text.splitlines())
    root = ET.parse(tmp_path / "benchmarks" / "scale_curve.svg").getroot()
    assert root.tag == f"{SVG_NS}svg"
    circles = list(root.iter(f"{SVG_NS}circle"))
    assert len(circles) == 6  # the completed point: wall, CPU, floor, RSS, spill; the stopped one: its floor
    assert not list(work.iterdir())  # each point's data are deleted after it
