"""Validation results on disk under HOME/quality/ (JSON per suite and an HTML index per date)."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from datetime import date


def write_results(home, run_date: date, run_id: str, outcomes: dict) -> None:
    folder = home.quality / "results" / run_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, outcome in outcomes.items():
        payload = {
            "suite": name, "table": outcome.table_name, "run_date": run_date.isoformat(),
            "rows": outcome.rows, "passed": outcome.passed,
            "results": [asdict(r) for r in outcome.results],
        }
        (folder / f"{name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
        for r in outcome.results:
            status = "pass" if r.success else ("FAIL" if r.severity == "blocking" else "warn")
            rows.append(
                f"<tr class='{status}'><td>{html.escape(name)}</td><td>{html.escape(r.expectation)}</td>"
                f"<td>{html.escape(r.column_name or '')}</td><td>{r.severity}</td><td>{status}</td>"
                f"<td>{html.escape(r.observed_value or '')}</td></tr>")
    page = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>数据质量 Data quality {run_date}</title><style>"
        "body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse}.FAIL{background:#fdd}.warn{background:#ffd}</style></head><body>"
        f"<h1>数据质量校验 Data quality — {run_date}</h1><p>run {html.escape(run_id)}</p>"
        "<table><tr><th>suite</th><th>expectation</th><th>column</th><th>severity</th><th>result</th>"
        "<th>observed</th></tr>" + "".join(rows) + "</table></body></html>\n"
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
