"""Where a task runs: the home folder from the environment and the worker's name (Airflow tasks)."""

from __future__ import annotations

import os
import socket

from pipelines.core.home import Home


def home_from_env() -> Home:
    return Home.resolve(os.environ.get("MARKET_MONITOR_HOME"))


def worker_identity() -> str:
    """Which worker runs this task: the Celery worker name when set, else the host name."""
    return os.environ.get("CELERY_WORKER_NAME") or socket.gethostname()
