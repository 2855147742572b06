"""Preflight of a day's landing folder (read-only, any worker, in parallel): what each file is and
whether ingest will take it, before the one writer loads anything."""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

from pipelines.core.home import Home
from pipelines.core.sql import sha256_file
from pipelines.ingest import FileRejected, match_columns, table_for_file
from pipelines.ingest.files import DATA_ENDINGS
from pipelines.ingest.reader import prepare
from pipelines.run.task_env import home_from_env, worker_identity

log = logging.getLogger(__name__)


def preflight_source(home: Home, source: str, day: date) -> dict:
    """Look at landing/<source>/<day>/ without touching the warehouse: per file its size, sha256,
    encoding, format, the staging table its name maps to, and whether the header has the required
    columns. Safe to run in parallel on any worker (reads the landing folder, writes only a temp dir).
    Problems are reported, not raised: ingest quarantines them exactly as the CLI does."""
    folder = home.landing_dir(source, day)
    summary = {"source": source, "business_date": day.isoformat(), "worker": worker_identity(),
               "files": [], "problems": [], "bytes": 0}
    if not folder.is_dir():
        return summary
    tmp = Path(tempfile.mkdtemp(prefix="mm_preflight_"))
    try:
        for path in sorted(folder.iterdir(), key=lambda p: p.name):
            item = {"file": path.name}
            summary["files"].append(item)
            if not path.is_file() or path.name.startswith(".") or not path.name.lower().endswith(DATA_ENDINGS):
                item["outcome"] = "ignored"
                continue
            item["size_bytes"] = path.stat().st_size
            item["sha256"] = sha256_file(path)
            summary["bytes"] += item["size_bytes"]
            if item["size_bytes"] == 0:
                item["outcome"] = "empty"
                continue
            if path.name.lower().endswith(".zip"):
                item["outcome"] = "archive"
                continue
            table = table_for_file(source, path.name)
            if table is None:
                item["outcome"] = "ignored"
                summary["problems"].append(f"{source}/{day}/{path.name}: no table of {source} takes this name")
                continue
            item["table"] = table.table
            try:
                prep = prepare(path, table.formats, tmp)
                item.update(encoding=prep.encoding, format=prep.fmt)
                if prep.fmt == "csv":
                    match_columns(table, prep.header or [])
                item["outcome"] = "ok"
            except FileRejected as exc:
                item["outcome"] = "will_be_rejected"
                summary["problems"].append(f"{source}/{day}/{path.name}: {exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def preflight_task(source: str, day: str) -> dict:
    started = datetime.now().astimezone()
    summary = preflight_source(home_from_env(), source, date.fromisoformat(day))
    for problem in summary["problems"]:
        log.warning("preflight: %s", problem)
    summary["started_at"] = started.isoformat()
    summary["ended_at"] = datetime.now().astimezone().isoformat()
    log.info("preflight %s for %s on %s: %d file(s), %d byte(s), %d problem(s)", source, day,
             summary["worker"], len(summary["files"]), summary["bytes"], len(summary["problems"]))
    return summary
