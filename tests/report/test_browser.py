"""The bulletin in a real headless browser (Debian's chromium) with networking disabled."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.report.browser import Browser, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; "
                                                         ".ci/run installs it)")

CHART_PROBE = """Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = Array.from(svg.querySelectorAll('polyline, rect, circle, line.ci'));
  const drawn = marks.filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length;
  return {w: box.width, h: box.height, marks: marks.length, drawn: drawn};
})"""


def artifact_dir(tmp_path: Path) -> Path:
    """Screenshots go to the test's tmp folder, and also to $MM_TEST_ARTIFACTS when CI sets it."""
    wanted = os.environ.get("MM_TEST_ARTIFACTS")
    return Path(wanted) if wanted else tmp_path


def open_offline(path: Path, shot: Path) -> dict:
    browser = Browser(CHROMIUM)
    try:
        session = browser.open(path.resolve().as_uri())
        found = {
            "total": browser.evaluate(session, "document.getElementById('total-leads').textContent"),
            "charts": browser.evaluate(session, CHART_PROBE),
            "cities": browser.evaluate(session, "document.querySelectorAll('#regions tr[data-region]').length"),
            "title": browser.evaluate(session, "document.title"),
            "offline": browser.network_namespace,
        }
        browser.screenshot(session, shot)
        found["requests"] = browser.requests()
        return found
    finally:
        browser.close()


def test_bulletin_renders_offline_in_chromium(fake_home, tmp_path):
    home, bulletin = fake_home
    folder = artifact_dir(tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "bulletin-fake-home.png"
    found = open_offline(bulletin.path, shot)
    assert found["total"] == str(bulletin.headline["total"])
    assert found["cities"] == 14
    assert "监测日报" in found["title"]
    charts = found["charts"]
    assert len(charts) >= 3
    for chart in charts:
        assert chart["w"] > 100 and chart["h"] > 50 and chart["drawn"] > 0, chart
    # the page asked for nothing but itself
    assert found["requests"] == [bulletin.path.resolve().as_uri()], found["requests"]
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_probe_sees_a_missing_chart(tmp_path):
    """The chart check can fail: an SVG with nothing drawn is reported as such."""
    page = tmp_path / "empty.html"
    page.write_text("<html><head><title>监测日报</title></head><body><b id='total-leads'>0</b>"
                    "<svg class='chart' width='300' height='100'><polyline points=''/></svg></body></html>",
                    encoding="utf-8")
    found = open_offline(page, tmp_path / "empty.png")
    assert found["charts"] == [{"w": 300, "h": 100, "marks": 1, "drawn": 0}]


def test_the_browser_really_has_no_network(tmp_path):
    """A page that asks for a remote image gets nothing (and the request is seen by the probe)."""
    page = tmp_path / "remote.html"
    page.write_text("<html><body><b id='total-leads'>1</b><img id='r' src='http://example.com/x.png'></body></html>",
                    encoding="utf-8")
    browser = Browser(CHROMIUM)
    try:
        session = browser.open(page.as_uri())
        loaded = browser.evaluate(session, "document.getElementById('r').naturalWidth")
        assert loaded == 0
        assert any(u.startswith("http://example.com") for u in browser.requests())
    finally:
        browser.close()
    shutil.rmtree(tmp_path / "x", ignore_errors=True)


def test_a_dossier_link_opens_offline_and_every_lead_has_a_drawn_chart(fake_home, tmp_path):
    home, bulletin = fake_home
    folder = artifact_dir(tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    browser = Browser(CHROMIUM)
    try:
        session = browser.open(bulletin.path.resolve().as_uri())
        leads = browser.evaluate(session, """Array.from(document.querySelectorAll('tr.lead')).map(tr => {
          const svg = tr.querySelector('svg.chart.mini'); const b = svg ? svg.getBoundingClientRect() : null;
          return {sentence: (tr.querySelector('.sentence-zh') || {}).textContent || '', w: b ? b.width : 0};})""")
        assert leads and all(lead["sentence"] and lead["w"] > 100 for lead in leads), leads
        browser.screenshot(session, folder / "bulletin-leads-fake-home.png")
        href = browser.evaluate(session, "document.querySelector('a.dossier').href")
        browser.events.clear()
        browser.evaluate(session, "document.querySelector('a.dossier').click()")
        browser.wait_event("Page.loadEventFired")
        assert browser.evaluate(session, "location.href") == href
        assert "一户一档" in browser.evaluate(session, "document.title")
        assert browser.evaluate(session, "document.getElementById('merchant-id').textContent")
        shot = browser.screenshot(session, folder / "dossier-fake-home.png")
        assert all(u.startswith("file://") for u in browser.requests()), browser.requests()
    finally:
        browser.close()
    assert href.startswith(bulletin.path.parent.resolve().as_uri() + "/merchants/")
    assert shot.stat().st_size > 20_000
