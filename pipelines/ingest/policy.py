"""What a rejected file does to the day: HOME/config.yml `ingest.on_rejected_file` (docs/RELIABILITY.md).

    ingest:
      on_rejected_file: alert   # default: load the other files, raise an alert per rejected file
                                # (meta.alerts), the day is incomplete: `run` exits 2 after publishing
                                # what could be published; the Airflow run goes on
      # on_rejected_file: fail  # load the other files, raise the alerts, then stop the day after
                                # ingest: nothing computed or published, `run` exits 2, the Airflow
                                # ingest task fails (no retry: the same file gives the same answer)

A rejected file is the file's fault (its content is wrong). Out of memory, a full disk or a bug is not,
and never gets here: the stage fails with IngestFailed (exit 1) instead.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from pipelines.core.errors import UserError
from pipelines.ingest.ledger import IngestReport

ON_REJECTED = ("alert", "fail")
DEFAULT_ON_REJECTED = "alert"


def on_rejected_file(config_file: Path) -> str:
    """`ingest.on_rejected_file` from HOME/config.yml (default "alert"); a bad value is a UserError."""
    if not config_file.exists():
        return DEFAULT_ON_REJECTED
    try:
        data = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{config_file}: not valid YAML: {exc}") from None
    section = data.get("ingest") if isinstance(data, dict) else None
    if section is None:
        return DEFAULT_ON_REJECTED
    if not isinstance(section, dict):
        raise UserError(f"{config_file}: 'ingest' must be a mapping (e.g. ingest: {{on_rejected_file: alert}})")
    value = section.get("on_rejected_file", DEFAULT_ON_REJECTED)
    if value not in ON_REJECTED:
        raise UserError(f"{config_file}: ingest.on_rejected_file must be one of {', '.join(ON_REJECTED)} "
                        f"(got {value!r})")
    return value


def rejected_lines(report: IngestReport) -> list[str]:
    """One line per rejected file: where it is and why (for alerts and the run's message)."""
    return [f"landing/{e.source}/{e.business_date}/{e.file_name}: {e.message}" for e in report.rejected]


def rejected_message(report: IngestReport, policy: str) -> str:
    lines = rejected_lines(report)
    then = ("the day was stopped after ingest (ingest.on_rejected_file: fail): nothing computed or published"
            if policy == "fail" else "the other files were loaded and what they feed was published")
    return (f"run {report.business_date}: day incomplete: {len(lines)} file(s) rejected; {then}; fix or replace "
            "the file(s) and rerun the day:\n  " + "\n  ".join(lines))


def alert_rejected(con, report: IngestReport, task_id: str = "ingest", dag_id: str | None = None) -> int:
    """One meta.alerts row per rejected file of the day ("day D incomplete: …"); returns how many."""
    now = dt.datetime.now().replace(microsecond=0)
    rows = [{"t": now, "g": dag_id, "k": task_id, "d": report.business_date,
             "m": f"day {report.business_date} incomplete: file rejected: {line}"[:2000]}
            for line in rejected_lines(report)]
    if rows:
        con.executemany("INSERT INTO meta.alerts VALUES ($t, $g, $k, $d, $m)", rows)
    return len(rows)


def after_ingest(con, config_file: Path, report: IngestReport, task_id: str = "ingest",
                 dag_id: str | None = None) -> None:
    """Apply the policy to the day's rejected files: alert, and with `fail` raise UserError (exit 2)."""
    if not report.rejected:
        return
    policy = on_rejected_file(config_file)
    alert_rejected(con, report, task_id, dag_id)
    if policy == "fail":
        raise UserError(rejected_message(report, policy))
