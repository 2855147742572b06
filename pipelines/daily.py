"""The daily run for one business date, as stages the CLI and the DAGs both call.

    ingest  -> compute -> gate -> publish -> report

Every stage is keyed by the business date D and can be rerun: ingestion skips files already loaded,
compute rebuilds the work tables, publish swaps whole partitions. Each stage function opens the
warehouse itself when no connection is given (Airflow tasks run in separate processes) and records
itself in meta.runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from indicators.compute import compute_day, mart_catalogue, pipeline_version, quote_ident
from indicators.registry import load_overrides
from pipelines.errors import QualityGateFailed, RunError, UserError
from pipelines.home import Home
from warehouse.db import connect_writer

log = logging.getLogger(__name__)

STAGES = ("ingest", "compute", "gate", "publish", "report")


def new_run_id(run_date: date) -> str:
    return f"{run_date.isoformat()}__{datetime.now().strftime('%Y%m%dT%H%M%S')}__{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def writer(home: Home, con: duckdb.DuckDBPyConnection | None = None, wait_seconds: float = 0.0):
    """Use the given connection, or open (and close) the warehouse for writing."""
    if con is not None:
        yield con
        return
    home.ensure()
    own = connect_writer(home.db_path, wait_seconds=wait_seconds)
    try:
        yield own
    finally:
        own.close()


@contextlib.contextmanager
def stage_record(con, run_id: str, run_date: date, stage: str, triggered_by: str):
    started = datetime.now().replace(microsecond=0)
    t0 = time.perf_counter()
    con.execute(
        "INSERT INTO meta.runs VALUES ($r, $d, $s, $t, NULL, 'running', NULL, $by)",
        {"r": run_id, "d": run_date, "s": stage, "t": started, "by": triggered_by},
    )
    outcome, message = "success", None
    try:
        yield
    except BaseException as exc:
        outcome, message = "failed", str(exc)[:2000]
        raise
    finally:
        con.execute(
            "UPDATE meta.runs SET finished_at = $f, outcome = $o, message = $m "
            "WHERE run_id = $r AND stage = $s AND outcome = 'running'",
            {"f": datetime.now().replace(microsecond=0), "o": outcome, "m": message, "r": run_id, "s": stage},
        )
        log.info("stage %s for %s: %s in %.2f s", stage, run_date, outcome, time.perf_counter() - t0)


# --------------------------------------------------------------------------- stages

def ingest(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli"):
    from pipelines.ingest import ingest_day

    with writer(home, con) as c, stage_record(c, run_id, run_date, "ingest", triggered_by):
        return ingest_day(c, home, run_date)


def compute(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli") -> dict:
    overrides = load_overrides(home.config_file)
    with writer(home, con) as c, stage_record(c, run_id, run_date, "compute", triggered_by):
        return compute_day(c, run_date, overrides)


def gate(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli"):
    from expectations.gate import record, run_gate
    from expectations.report import write_results

    with writer(home, con) as c, stage_record(c, run_id, run_date, "gate", triggered_by):
        outcomes = run_gate(c, run_date)
        record(c, run_id, run_date, list(outcomes.values()))
        write_results(home, run_date, run_id, outcomes)
        return outcomes


@dataclass
class PublishResult:
    published: dict = field(default_factory=dict)  # mart -> rows
    blocked: dict = field(default_factory=dict)  # mart -> list of failed checks


def _blocking_failures(con, run_id: str) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT suite, expectation, coalesce(column_name, ''), coalesce(observed_value, '') "
        "FROM meta.quality_results WHERE run_id = $r AND severity = 'blocking' AND NOT success "
        "ORDER BY suite, expectation, column_name",
        {"r": run_id},
    ).fetchall()
    failures: dict[str, list[str]] = {}
    for suite, expectation, column, observed in rows:
        failures.setdefault(suite, []).append(f"{suite}: {expectation}({column}) observed {observed}".strip())
    return failures


def publish(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli") -> PublishResult:
    """Publish every mart whose blocking checks (its own and its staging inputs') passed."""
    from pipelines.publish import publish_partition, update_manifest

    catalogue = mart_catalogue()
    result = PublishResult()
    with writer(home, con) as c, stage_record(c, run_id, run_date, "publish", triggered_by):
        gated = c.execute("SELECT count(*) FROM meta.quality_results WHERE run_id = $r", {"r": run_id}).fetchall()
        if gated[0][0] == 0:
            raise RunError(f"publish for {run_date}: no quality results for run {run_id}; run the gate first")
        failures = _blocking_failures(c, run_id)
        for mart, spec in catalogue["marts"].items():
            schema_version = int(spec["schema_version"])
            suites = [f"mart.{mart}"] + [f"staging.{t}" for t in spec.get("depends_on", [])]
            failed = [msg for s in suites for msg in failures.get(s, [])]
            table = c.execute(f"SELECT * FROM work.{quote_ident('mart__' + mart)} ORDER BY ALL").to_arrow_table()
            if failed:
                result.blocked[mart] = failed
                _quarantine_batch(home, mart, run_date, run_id, table, failed)
                log.error("mart %s for %s NOT published: %s", mart, run_date, "; ".join(failed))
                continue
            mart_dir = home.mart_dir(mart)
            rows, digest = publish_partition(mart_dir, run_date, table)
            update_manifest(mart_dir, mart, schema_version, pipeline_version(),
                            table.schema, run_date, rows, digest)
            c.execute(
                "INSERT OR REPLACE INTO meta.published_partitions VALUES ($m, $d, $n, $h, $v, $r, $t)",
                {"m": mart, "d": run_date, "n": rows, "h": digest, "v": schema_version,
                 "r": run_id, "t": datetime.now().replace(microsecond=0)},
            )
            result.published[mart] = rows
    return result


def _quarantine_batch(home: Home, mart: str, run_date: date, run_id: str, table, failed: list[str]) -> None:
    import pyarrow.parquet as pq

    folder = home.quarantine_dir(f"mart.{mart}", run_date)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "batch.parquet")
    (folder / "validation.json").write_text(
        json.dumps({"mart": mart, "dt": run_date.isoformat(), "run_id": run_id, "failed_checks": failed},
                   ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def report(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli"):
    from pipelines.report import build_bulletin

    with writer(home, con) as c, stage_record(c, run_id, run_date, "report", triggered_by):
        return build_bulletin(c, home, run_date)


# --------------------------------------------------------------------------- the whole day

@dataclass
class DayResult:
    run_id: str
    run_date: date
    ingest: object = None
    counts: dict = field(default_factory=dict)
    publish: PublishResult | None = None
    bulletin: object = None
    seconds: dict = field(default_factory=dict)

    def raise_for_outcome(self) -> None:
        if self.publish and self.publish.blocked:
            lines = [f"  {mart}: " + "; ".join(msgs) for mart, msgs in self.publish.blocked.items()]
            raise QualityGateFailed(
                f"run {self.run_date}: quality gate blocked {len(self.publish.blocked)} mart(s); the previous "
                "partitions stay published:\n" + "\n".join(lines))
        problems = self.ingest.problems() if self.ingest is not None else []
        if problems:
            raise UserError(f"run {self.run_date}: some input was rejected (the rest was published):\n  "
                            + "\n  ".join(problems))


def run_day(home: Home, run_date: date, con=None, wait_seconds: float = 0.0,
            triggered_by: str = "cli") -> DayResult:
    run_id = new_run_id(run_date)
    result = DayResult(run_id=run_id, run_date=run_date)
    with writer(home, con, wait_seconds=wait_seconds) as c:
        for stage in STAGES:
            t0 = time.perf_counter()
            fn = globals()[stage]
            value = fn(home, run_date, run_id, con=c, triggered_by=triggered_by)
            result.seconds[stage] = round(time.perf_counter() - t0, 3)
            if stage == "ingest":
                result.ingest = value
            elif stage == "compute":
                result.counts = value
            elif stage == "publish":
                result.publish = value
            elif stage == "report":
                result.bulletin = value
        c.execute("CHECKPOINT")
    return result
