"""The failure alert of every DAG: a log line, a row in meta.alerts (or alerts.jsonl beside a busy
warehouse), and a webhook POST when MARKET_MONITOR_ALERT_WEBHOOK is set."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from datetime import date, datetime

from pipelines.core.dates import business_date_from_context
from pipelines.run.task_env import home_from_env
from warehouse.db import connect_writer

log = logging.getLogger(__name__)

ALERT_WEBHOOK_ENV = "MARKET_MONITOR_ALERT_WEBHOOK"
ALERT_WAIT_SECONDS = 10.0  # how long an alert waits for a busy warehouse before writing alerts.jsonl


def _context_day(context: dict) -> date | None:
    try:
        return business_date_from_context(context)
    except Exception:
        return None


def on_failure_alert(context: dict) -> None:
    """A readable alert: a log line, a row in meta.alerts (or alerts.jsonl beside the warehouse when
    it is busy), and a webhook POST (JSON) when MARKET_MONITOR_ALERT_WEBHOOK is set. Never raises."""
    try:
        _alert(context)
    except Exception as exc:  # the alert must never mask the failure it reports
        log.error("market-monitor: the failure alert itself failed: %s", exc)


def _alert(context: dict) -> None:
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    dag_id = (getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None)
              or getattr(dag_run, "dag_id", None))
    task_id = getattr(ti, "task_id", None)
    run_id = getattr(dag_run, "run_id", None) or context.get("run_id")
    exc = context.get("exception") or context.get("reason")
    day = _context_day(context)
    where = f"{dag_id}.{task_id}" if task_id else f"{dag_id}"
    message = f"market-monitor: {where} failed for business date {day or '?'} (run {run_id}): {exc}"
    log.error(message)
    home = home_from_env()
    now = datetime.now().replace(microsecond=0)
    record = {"raised_at": now.isoformat(), "dag_id": dag_id, "task_id": task_id, "run_id": run_id,
              "business_date": day.isoformat() if day else None, "message": message}
    try:
        con = connect_writer(home.db_path, wait_seconds=ALERT_WAIT_SECONDS)
        try:
            con.execute("INSERT INTO meta.alerts VALUES ($t, $d, $k, $b, $m)",
                        {"t": now, "d": dag_id, "k": task_id, "b": day, "m": message})
        finally:
            con.close()
        record["stored"] = "meta.alerts"
    except Exception as err:  # warehouse busy or broken: keep the alert beside it
        home.root.mkdir(parents=True, exist_ok=True)
        with open(home.root / "alerts.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(record, stored="alerts.jsonl", store_error=str(err)[:300]),
                                ensure_ascii=False) + "\n")
        record["stored"] = "alerts.jsonl"
    webhook = os.environ.get(ALERT_WEBHOOK_ENV)
    if webhook:
        try:
            req = urllib.request.Request(webhook, data=json.dumps(record, ensure_ascii=False).encode("utf-8"),
                                         method="POST", headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).close()  # noqa: S310 - operator-configured URL
        except OSError as err:
            log.error("alert webhook %s failed: %s", webhook, err)
