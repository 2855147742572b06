"""benchmarks.report on the report tests' fake home: one build with this checkout, figures read off the child and
the folder it wrote (a failing build is reported, not hidden)."""

from __future__ import annotations

from benchmarks.report import REPO, build_once
from tests.report.fakehome import RUN_DATE, build_fake_home


def test_one_build_is_measured(tmp_path):
    home = build_fake_home(tmp_path / "home")
    r = build_once(REPO, home.root, RUN_DATE.isoformat())
    assert "error" not in r, r
    folder = home.reports / RUN_DATE.isoformat()
    assert r["dossiers"] == len(list((folder / "merchants").glob("*.html"))) > 0
    assert r["bulletin_bytes"] == (folder / "bulletin.html").stat().st_size
    assert r["folder_bytes"] > r["bulletin_bytes"] and r["wall"] > 0 and r["cpu"] > 0 and r["rss_gb"] > 0.05


def test_a_failing_build_is_reported(tmp_path):
    r = build_once(REPO, tmp_path / "home", "not-a-date")  # the CLI refuses it (exit 2)
    assert "error" in r
