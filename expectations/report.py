"""Validation results on disk under HOME/quality/ for analysts.

    HOME/quality/index.html                          stable entry page: latest runs, links to all below
    HOME/quality/results/<D>/index.html              the day's checks (blocking / warning, observed values)
    HOME/quality/results/<D>/<suite>.json            the same per suite, machine-readable
    HOME/quality/gx/uncommitted/data_docs/local_site/index.html   GX Data Docs (suites and every validation)

The GX file context (HOME/quality/gx/) holds the suites and validation results the gate stored;
Data Docs are rebuilt incrementally for the run's validations plus the site index.
"""

from __future__ import annotations

import html
import json
import logging
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

from expectations.gate import file_context

log = logging.getLogger(__name__)

DATA_DOCS = Path("gx") / "uncommitted" / "data_docs" / "local_site" / "index.html"
_STYLE = ("body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}"
          "table{border-collapse:collapse}.FAIL{background:#fdd}.warn{background:#ffd}.pass{background:#efe}"
          ".en{color:#666}")


def data_docs_index(home) -> Path:
    return home.quality / DATA_DOCS


def day_results_page(home, run_date: date) -> Path:
    """HOME/quality/results/<D>/index.html: the day's checks."""
    return home.quality / "results" / run_date.isoformat() / "index.html"


def build_data_docs(home, run_id: str, gx_context=None, outcomes: dict | None = None) -> Path:
    """Render Data Docs for this run's validation results (and the site index) under HOME/quality/gx."""
    t0 = time.perf_counter()
    context = gx_context if gx_context is not None else file_context(home.quality)
    if outcomes is not None:
        keys = [o.result_key for o in outcomes.values() if o.result_key is not None]
    else:
        keys = [k for k in context.validation_results_store.list_keys() if k.run_id.run_name == run_id]
    context.build_data_docs(resource_identifiers=keys or None, build_index=True)
    log.info("data docs for %s (%d validations) in %.2f s", run_id, len(keys), time.perf_counter() - t0)
    return data_docs_index(home)


def _status(r) -> str:
    return "pass" if r.success else ("FAIL" if r.severity == "blocking" else "warn")


def write_results(home, run_date: date, run_id: str, outcomes: dict) -> Path:
    """HOME/quality/results/<D>/ (JSON per suite + index.html) and the entry page HOME/quality/index.html."""
    folder = day_results_page(home, run_date).parent
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, outcome in outcomes.items():
        payload = {
            "suite": name, "table": outcome.table_name, "run_date": run_date.isoformat(), "run_id": run_id,
            "rows": outcome.rows, "passed": outcome.passed, "seconds": outcome.seconds,
            "results": [asdict(r) for r in outcome.results],
        }
        (folder / f"{name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
        for r in sorted(outcome.results, key=lambda r: (r.success, r.severity != "blocking")):
            status = _status(r)
            rows.append(
                f"<tr class='{status}'><td>{html.escape(name)}</td><td>{html.escape(r.expectation)}</td>"
                f"<td>{html.escape(r.column_name or '')}</td><td>{r.severity}</td><td>{status}</td>"
                f"<td>{html.escape(r.observed_value or '')}</td><td>{html.escape(r.details or '')}</td></tr>")
    failed = sorted(n for n, o in outcomes.items() if not o.passed)
    summary = (f"<p class='FAIL'>阻断 Blocking failures in: {html.escape(', '.join(failed))} — those partitions "
               "were not published.</p>" if failed else "<p class='pass'>无阻断问题 No blocking failures.</p>")
    page = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>数据质量 Data quality {run_date}</title><style>{_STYLE}</style></head><body>"
        f"<h1>数据质量校验 <span class='en'>Data quality</span> — {run_date}</h1>"
        f"<p>run {html.escape(run_id)} · <a href='../../index.html'>所有日期 All dates</a> · "
        f"<a href='../../{DATA_DOCS.as_posix()}'>Great Expectations Data Docs</a></p>{summary}"
        "<table><tr><th>suite</th><th>expectation</th><th>column</th><th>severity</th><th>result</th>"
        "<th>observed</th><th>expected / error</th></tr>" + "".join(rows) + "</table></body></html>\n"
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    write_quality_index(home)
    return folder / "index.html"


def write_quality_index(home) -> Path:
    """HOME/quality/index.html: the stable, link-able entry page (the bulletin and status point here)."""
    results = home.quality / "results"
    days = sorted((p for p in results.glob("*") if (p / "index.html").exists()), reverse=True)
    items = []
    for day in days[:90]:
        passed = failed = warned = 0
        for f in day.glob("*.json"):
            try:
                payload = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            passed += payload.get("passed", False)
            failed += not payload.get("passed", False)
            warned += any(not r["success"] and r["severity"] != "blocking" for r in payload.get("results", []))
        cls = "FAIL" if failed else ("warn" if warned else "pass")
        items.append(f"<tr class='{cls}'><td><a href='results/{day.name}/index.html'>{day.name}</a></td>"
                     f"<td>{passed}</td><td>{failed}</td><td>{warned}</td></tr>")
    page = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>数据质量 Data quality</title>"
        f"<style>{_STYLE}</style></head><body><h1>数据质量 <span class='en'>Data quality</span></h1>"
        f"<p><a href='{DATA_DOCS.as_posix()}'>Great Expectations Data Docs</a> "
        "<span class='en'>(every suite and every validation result)</span></p>"
        "<table><tr><th>日期 date</th><th>通过 suites passed</th><th>阻断 suites blocked</th>"
        "<th>警告 suites with warnings</th></tr>" + "".join(items) + "</table></body></html>\n"
    )
    path = home.quality / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
