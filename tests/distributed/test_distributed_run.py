"""The real distributed run (CeleryExecutor + PostgreSQL + Redis) is `make test-distributed`
(.ci/distributed.sh, minutes and root/apt). Here it runs only when asked: MM_RUN_DISTRIBUTED=1."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.distributed


@pytest.mark.skipif(os.environ.get("MM_RUN_DISTRIBUTED") != "1",
                    reason="the Celery/PostgreSQL/Redis run is `make test-distributed` (set MM_RUN_DISTRIBUTED=1 to run it here)")
def test_distributed_run():
    result = subprocess.run(["bash", str(REPO / ".ci" / "distributed.sh")], cwd=REPO, capture_output=True,
                            text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "PASS: triggered run and backfill on CeleryExecutor equal the CLI" in result.stdout
    assert "INGEST WALL TIME" in result.stdout and "one worker" in result.stdout


def test_script_is_valid_bash_and_stops_what_it_starts():
    script = (REPO / ".ci" / "distributed.sh").read_text(encoding="utf-8")
    subprocess.run(["bash", "-n", str(REPO / ".ci" / "distributed.sh")], check=True)
    assert "trap stop_all EXIT" in script
    assert "pkill -f" not in script and "killall" not in script  # by recorded PID only
    assert "celery<5.7" in script or "celery >= 5.7" in script
    for port_var in ("API_PORT", "PG_PORT", "REDIS_PORT", "LOG1", "LOG2"):
        assert port_var in script
