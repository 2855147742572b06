"""The failure callback: a log line, a row in meta.alerts (alerts.jsonl when the warehouse is busy),
and a JSON POST to MARKET_MONITOR_ALERT_WEBHOOK (a local http.server here)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.run import alerts
from pipelines.run.alerts import on_failure_alert


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/market-monitor", received
    server.shutdown()
    server.server_close()


def failed_task_context():
    return {
        "task_instance": SimpleNamespace(dag_id="market_daily", task_id="compute"),
        "dag_run": SimpleNamespace(run_id="manual__2026-11-27T18:30:00+00:00", dag_id="market_daily",
                                   run_after=datetime(2026, 11, 27, 18, 30, tzinfo=timezone.utc)),
        "params": {"business_date": "2026-11-05"},
        "exception": RuntimeError("compute for 2026-11-05: indicator price.spike_mad failed"),
    }


def test_alert_logs_stores_and_posts(tmp_path, monkeypatch, webhook, caplog):
    url, received = webhook
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(tmp_path))
    monkeypatch.setenv("MARKET_MONITOR_ALERT_WEBHOOK", url)
    with caplog.at_level(logging.ERROR, logger="pipelines.run.alerts"):
        on_failure_alert(failed_task_context())
    line = [r.getMessage() for r in caplog.records if "market_daily.compute failed" in r.getMessage()]
    assert line and "2026-11-05" in line[0] and "price.spike_mad" in line[0]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    rows = con.execute("SELECT dag_id, task_id, business_date, message FROM meta.alerts").fetchall()
    con.close()
    assert len(rows) == 1
    assert rows[0][:3] == ("market_daily", "compute", date(2026, 11, 5))
    assert "price.spike_mad" in rows[0][3]
    assert len(received) == 1
    assert received[0]["path"] == "/hooks/market-monitor"
    assert received[0]["type"] == "application/json"
    payload = received[0]["json"]
    assert payload["dag_id"] == "market_daily" and payload["task_id"] == "compute"
    assert payload["business_date"] == "2026-11-05" and payload["stored"] == "meta.alerts"
    assert not (tmp_path / "alerts.jsonl").exists()


def test_no_webhook_configured_posts_nothing(tmp_path, monkeypatch, webhook):
    _url, received = webhook
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(tmp_path))
    monkeypatch.delenv("MARKET_MONITOR_ALERT_WEBHOOK", raising=False)
    on_failure_alert(failed_task_context())
    assert received == []


def test_busy_warehouse_alert_goes_to_jsonl(tmp_path, monkeypatch, webhook):
    """Another process holds the writer lock: the alert lands in alerts.jsonl beside the warehouse
    and is still posted; the callback never raises."""
    url, received = webhook
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(tmp_path))
    monkeypatch.setenv("MARKET_MONITOR_ALERT_WEBHOOK", url)
    monkeypatch.setattr(alerts, "ALERT_WAIT_SECONDS", 0.5)
    db = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ready', flush=True); "
                               "time.sleep(60)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        on_failure_alert(failed_task_context())
    finally:
        holder.kill()
        holder.wait()
    lines = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["task_id"] == "compute" and record["business_date"] == "2026-11-05"
    assert "in use by process" in record["store_error"]
    assert received and received[0]["json"]["stored"] == "alerts.jsonl"


def test_unreachable_webhook_does_not_raise(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MARKET_MONITOR_HOME", str(tmp_path))
    monkeypatch.setenv("MARKET_MONITOR_ALERT_WEBHOOK", "http://127.0.0.1:9/nothing-listens-here")
    with caplog.at_level(logging.ERROR, logger="pipelines.run.alerts"):
        on_failure_alert(failed_task_context())
    assert any("alert webhook" in r.getMessage() for r in caplog.records)
