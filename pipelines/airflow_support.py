"""What the DAGs share: default args, the writer pool, mart assets, the failure alert, and the thin
wrapper that turns an Airflow task into a call of a `pipelines.daily` stage."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import date, datetime, timedelta

from pipelines.home import Home

log = logging.getLogger(__name__)

WRITER_POOL = "duckdb_writer"  # one slot: one process writes warehouse.duckdb at a time

DAG_DEFAULT_ARGS = {
    "owner": "market-monitor",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
}

MART_ASSET_PREFIX = "market-monitor://marts/"


def mart_assets() -> list:
    from airflow.sdk import Asset

    from indicators.compute import mart_catalogue

    return [Asset(MART_ASSET_PREFIX + mart) for mart in mart_catalogue()["marts"]]


def home_from_env() -> Home:
    return Home.resolve(os.environ.get("MARKET_MONITOR_HOME"))


def airflow_run_id(context: dict, day: str) -> str:
    dag_run = context.get("dag_run")
    raw = getattr(dag_run, "run_id", None) or context.get("run_id") or "unknown"
    return f"{day}__airflow__{re.sub(r'[^A-Za-z0-9_.-]+', '_', str(raw))}"


def stage_task(stage: str, day: str, context: dict) -> str:
    """Run one stage of the daily run for `day`; returns `day` so the next task depends on it."""
    from pipelines import daily
    from pipelines.errors import QualityGateFailed

    home = home_from_env()
    run_date = date.fromisoformat(day)
    run_id = airflow_run_id(context, day)
    value = getattr(daily, stage)(home, run_date, run_id, triggered_by="airflow")
    if stage == "ingest":
        for problem in value.problems():
            log.warning("rejected input: %s", problem)  # reported, not fatal: the rest is published
    if stage == "publish":
        outlet_events = context.get("outlet_events")
        if outlet_events is not None:
            for asset in mart_assets():
                outlet_events[asset].extra = {"business_date": day}
        if value.blocked:
            raise QualityGateFailed(
                "quality gate blocked: " + "; ".join(f"{m}: {', '.join(msgs)}" for m, msgs in value.blocked.items()))
    return day


def on_failure_alert(context: dict) -> None:
    """A readable alert: a log line, a row in meta.alerts (or alerts.jsonl beside the warehouse when
    it is busy), and a webhook POST when MARKET_MONITOR_ALERT_WEBHOOK is set."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None)
    task_id = getattr(ti, "task_id", None)
    exc = context.get("exception")
    message = f"market-monitor: {dag_id}.{task_id} failed: {exc}"
    log.error(message)
    home = home_from_env()
    record = {"raised_at": datetime.now().replace(microsecond=0).isoformat(), "dag_id": dag_id,
              "task_id": task_id, "message": message}
    try:
        from warehouse.db import connect_writer

        con = connect_writer(home.db_path, wait_seconds=10)
        try:
            con.execute("INSERT INTO meta.alerts VALUES ($t, $d, $k, NULL, $m)",
                        {"t": datetime.now().replace(microsecond=0), "d": dag_id, "k": task_id, "m": message})
        finally:
            con.close()
    except Exception:  # the alert must never mask the failure it reports
        home.root.mkdir(parents=True, exist_ok=True)
        with open(home.root / "alerts.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    webhook = os.environ.get("MARKET_MONITOR_ALERT_WEBHOOK")
    if webhook:
        import urllib.request

        try:
            req = urllib.request.Request(webhook, data=json.dumps(record).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).close()
        except OSError as err:
            log.error("alert webhook failed: %s", err)
