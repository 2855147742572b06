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

from expectations.gate import day_gaps, file_context, guarding_suites, record, run_gate
from expectations.report import build_data_docs, data_docs_index, day_results_page, write_results
from expectations.suites import load_suites
from indicators import candidates
from indicators.compute import compute_day, day_lineage, mart_catalogue, pipeline_version
from indicators.credit.tiers import record_published as record_published_history
from indicators.registry import load_overrides
from pipelines.core.errors import MarketMonitorError, QualityGateFailed, RunError, UserError
from pipelines.core.faults import fault_point
from pipelines.core.home import Home
from pipelines.core.sql import quote_ident
from pipelines.ingest import ingest_day
from pipelines.ingest.freshness import FRESHNESS_CHECKS, alert_gaps, incomplete_message
from pipelines.ingest.policy import after_ingest, on_rejected_file, rejected_message
from pipelines.publish.dictionary import after_publish
from pipelines.publish.manifest import SchemaChangeRefused
from pipelines.publish.parquet import publish_partition, update_manifest, write_parquet
from pipelines.serve.bulletin import build_bulletin, build_merchant_dossier
from warehouse.db import connect_writer, memory_note, python_memory_headroom

log = logging.getLogger(__name__)

STAGES = ("ingest", "compute", "gate", "publish", "report")
CANDIDATE_BATCH_ROWS = 262_144  # rows per Arrow batch streamed from a candidate partition to its parquet file


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
    """Load the day's landing files. A rejected file (bad content) is in the report and raises an alert;
    with `ingest.on_rejected_file: fail` (HOME/config.yml) it stops the day here (UserError, exit 2).
    Anything else that goes wrong (out of memory, full disk, a bug) fails the stage (exit 1)."""
    on_rejected_file(home.config_file)  # a bad config.yml fails before any file is read
    with writer(home, con) as c, stage_record(c, run_id, run_date, "ingest", triggered_by):
        try:
            report = ingest_day(c, home, run_date)
        except MarketMonitorError:
            raise
        except Exception as exc:  # outside any one file (IngestFailed names the file when there is one)
            raise RunError(f"run {run_date}: stage ingest failed: {type(exc).__name__}: {exc}") from exc
        after_ingest(c, home.config_file, report, task_id="ingest",
                     dag_id="market_daily" if triggered_by == "airflow" else None)
        return report


def compute(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli") -> dict:
    overrides = load_overrides(home.config_file)
    with writer(home, con) as c, stage_record(c, run_id, run_date, "compute", triggered_by):
        candidates.claim(c, run_id, run_date)  # the work tables are this run's until its publish
        counts = compute_day(c, run_date, overrides)
        fault_point("compute.done")
        return counts


def gate(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli"):
    """Audit: validate every staging table's and every candidate mart's batch for D with its GX
    suite, store the results in meta.quality_results and HOME/quality/ (JSON, HTML, Data Docs)."""
    with writer(home, con) as c, stage_record(c, run_id, run_date, "gate", triggered_by):
        candidates.check(c, run_id, run_date, "gate")
        gx_context = file_context(home.quality)
        outcomes = run_gate(c, run_date, run_id=run_id, gx_context=gx_context, home=home)
        record(c, run_id, run_date, list(outcomes.values()))
        # an expected source that delivered nothing marks the day incomplete (pipelines/ingest/freshness.py)
        alert_gaps(c, run_date, day_gaps(outcomes), task_id="gate")
        write_results(home, run_date, run_id, outcomes)
        try:
            build_data_docs(home, run_id, gx_context, outcomes)
        except Exception as exc:  # presentation only: the results are stored; never block on rendering
            log.warning("Data Docs for %s could not be built: %s", run_date, exc)
        return outcomes


@dataclass
class PublishResult:
    published: dict = field(default_factory=dict)  # mart -> rows
    blocked: dict = field(default_factory=dict)  # mart -> list of failed checks


def blocking_failures(con, run_id: str) -> dict[str, list[str]]:
    """{suite: [message]} of the run's failed blocking checks (meta.quality_results)."""
    rows = con.execute(
        "SELECT suite, expectation, coalesce(column_name, ''), coalesce(observed_value, ''), coalesce(details, '') "
        "FROM meta.quality_results WHERE run_id = $r AND severity = 'blocking' AND NOT success "
        "ORDER BY suite, expectation, column_name",
        {"r": run_id},
    ).fetchall()
    failures: dict[str, list[str]] = {}
    for suite, expectation, column, observed, details in rows:
        msg = f"{suite}: {expectation}({column}) observed {observed or '-'}"
        if details:
            msg += f"; {details}"
        failures.setdefault(suite, []).append(msg)
    return failures


def suites_run(con, run_id: str) -> set[str]:
    """The suites the run's gate ran (meta.quality_results)."""
    return {s for (s,) in con.execute(
        "SELECT DISTINCT suite FROM meta.quality_results WHERE run_id = $r", {"r": run_id}).fetchall()}


class UnauditedWrite(RunError):
    """What was written for a mart is not the batch the gate validated. `written` is what the write
    returned, for the caller to undo (a staged partition is discarded; a published one is reported)."""

    def __init__(self, message: str, written):
        super().__init__(message)
        self.written = written


@dataclass
class MartPublish:
    failed: list = field(default_factory=list)  # blocking failures: not written when non-empty
    rows: int | None = None  # rows written
    written: object = None  # what `write` returned besides the row count (digest, staged partition)
    schema: object = None  # the Arrow schema of the batch written


def publish_mart(con, mart: str, run_date: date, run_id: str, write, *, suites: list[str],
                 failures: dict[str, list[str]] | None = None, ran: set[str] | None = None,
                 validated_rows: dict[str, int] | None = None) -> MartPublish:
    """The publish rule for one mart of one run, shared by the daily publish and `republish`.

    The mart is publishable when every suite guarding it (`suites`: its own, its lineage's, the ones
    that guard every mart; expectations.gate.guarding_suites) passed its blocking checks and its own
    suite ran; else the failures are returned and nothing is written. Otherwise `write(reader)` gets the
    batch the gate validated (work.mart__<mart> at dt = D, as a stream of Arrow batches in a total
    order) and returns (rows written, anything); the row count must be the one the gate validated,
    else UnauditedWrite. `failures`, `ran` and `validated_rows` are read from the warehouse when not
    given (a caller publishing many marts reads them once)."""
    own = f"mart.{mart}"
    failures = blocking_failures(con, run_id) if failures is None else failures
    ran = suites_run(con, run_id) if ran is None else ran
    failed = [msg for s in suites for msg in failures.get(s, [])]
    if own not in ran:
        failed.insert(0, f"{own}: no quality suite ran for this mart "
                         f"(add expectations/suites/mart_{mart}.py); not published unaudited")
    if failed:
        return MartPublish(failed=failed)
    validated_rows = candidates.validated_rows(con, run_id) if validated_rows is None else validated_rows
    expected = _validated_count(con, mart, run_date, run_id, validated_rows.get(own))
    reader = _candidate(con, mart, run_date)
    rows, written = write(reader)  # drains the stream
    if rows != expected:  # cannot happen on one connection
        raise UnauditedWrite(f"publish {mart} for {run_date}: wrote {rows} rows where the gate validated "
                             f"{expected}", written)
    return MartPublish(rows=rows, written=written, schema=reader.schema)


def _suites_blocking_every_mart() -> set[str]:
    return {name for name, s in load_suites().items() if s.blocks == "all"}


def publish(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli") -> PublishResult:
    """Publish every mart whose blocking checks passed: its own suite, the suites of every table in its
    lineage (expectations.gate.guarding_suites), and the suites that guard every mart (the ledger
    identities). A blocked mart keeps its previous partition; its candidate batch and validation go to
    HOME/quarantine/mart.<mart>/<D>/ and an alert is recorded. A mart without a suite is blocked.
    What is written is exactly the batch the gate validated (dt = D, the same row count, asserted)."""
    catalogue = mart_catalogue()
    result = PublishResult()
    with writer(home, con) as c, stage_record(c, run_id, run_date, "publish", triggered_by), \
            python_memory_headroom(c):
        validated = suites_run(c, run_id)
        if not validated:
            raise RunError(f"publish for {run_date}: no quality results for run {run_id}; run the gate first")
        candidates.check(c, run_id, run_date, "publish")
        validated_rows = candidates.validated_rows(c, run_id)
        failures = blocking_failures(c, run_id)
        lineage = day_lineage(marts=catalogue["marts"])
        for mart, spec in catalogue["marts"].items():
            schema_version = int(spec["schema_version"])
            suites = guarding_suites(mart, lineage)
            mart_dir = home.mart_dir(mart)
            try:
                outcome = publish_mart(c, mart, run_date, run_id,
                                       lambda reader, d=mart_dir: publish_partition(d, run_date, reader),
                                       suites=suites, failures=failures, ran=validated,
                                       validated_rows=validated_rows)
            except SchemaChangeRefused as exc:  # this mart waits for a republish; the others still publish
                result.blocked[mart] = [str(exc)]
                log.error("mart %s for %s NOT published: %s", mart, run_date, exc)
                continue
            if outcome.failed:
                result.blocked[mart] = outcome.failed
                _quarantine_batch(c, home, mart, run_date, run_id, suites, outcome.failed)
                log.error("mart %s for %s NOT published: %s", mart, run_date, "; ".join(outcome.failed))
                continue
            rows, digest = outcome.rows, outcome.written
            update_manifest(mart_dir, mart, schema_version, pipeline_version(),
                            outcome.schema, run_date, rows, digest)
            c.execute(
                "INSERT OR REPLACE INTO meta.published_partitions VALUES ($m, $d, $n, $h, $v, $r, $t)",
                {"m": mart, "d": run_date, "n": rows, "h": digest, "v": schema_version,
                 "r": run_id, "t": datetime.now().replace(microsecond=0)},
            )
            # the credit histories keep what was published, never a blocked day's candidates
            record_published_history(c, mart, run_date)
            result.published[mart] = rows
        candidates.release(c, run_id)
        # every publish refreshes the data dictionary (and value labels) and the warehouse views over the
        # marts, with their column comments (docs/DATA_DICTIONARY.md): the CLI and the DAGs both come here
        after_publish(c, home)
    return result


def _candidate_sql(mart: str) -> str:
    """The batch the gate validates for `mart` (expectations.gate: `dt = $run_date`), and publish writes."""
    return f"SELECT * FROM work.{quote_ident('mart__' + mart)} WHERE dt = $run_date"  # noqa: S608 - mart name from the catalogue, quote_ident; the date is bound


def _validated_count(con, mart: str, run_date: date, run_id: str, validated: int | None) -> int:
    """The candidate's row count for D, which must be the count the gate validated (else fail the publish)."""
    rows = con.execute(f"SELECT count(*) FROM ({_candidate_sql(mart)})", {"run_date": run_date}).fetchall()[0][0]  # noqa: S608 - see _candidate_sql
    if validated is None or rows != validated:
        raise RunError(
            f"publish {mart} for {run_date} (run {run_id}): work.mart__{mart} holds {rows} rows for dt = {run_date} "
            f"but the gate validated {'no batch' if validated is None else validated}; not published. Rerun the day "
            "(compute, gate, publish) so that what is published is what was audited.")
    return rows


def _candidate(con, mart: str, run_date: date):
    """The run's candidate partition of `mart` for D (work.mart__<mart>; the name comes from the catalogue),
    the batch the gate validated, as a stream of Arrow batches in a total order (reruns give the same file).
    Drain it before the next query on `con`: an open stream holds the connection."""
    return con.sql(f"{_candidate_sql(mart)} ORDER BY ALL", params={"run_date": run_date}).to_arrow_reader(
        CANDIDATE_BATCH_ROWS)


def _quarantine_batch(con, home: Home, mart: str, run_date: date, run_id: str, suites: list[str],
                      failed: list[str]) -> None:
    """The failing candidate batch and its validation result, beside the sources' quarantine, and an
    alert row. The published partition is not touched."""
    folder = home.quarantine_dir(f"mart.{mart}", run_date)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        tmp = folder / ".batch.parquet.tmp"
        write_parquet(tmp, _candidate(con, mart, run_date))
        tmp.replace(folder / "batch.parquet")
    except duckdb.Error as exc:  # the candidate was never built
        (folder / "batch.parquet").unlink(missing_ok=True)
        log.error("mart %s for %s: no candidate batch to quarantine (%s)", mart, run_date, exc)
    cur = con.execute(
        "SELECT suite, table_name, expectation, column_name, severity, success, observed_value, details "
        "FROM meta.quality_results WHERE run_id = $r AND list_contains($s, suite) "
        "ORDER BY suite, success, severity, expectation, column_name",
        {"r": run_id, "s": suites},
    )
    cols = [d[0] for d in cur.description]
    results = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    (folder / "validation.json").write_text(
        json.dumps({"mart": mart, "dt": run_date.isoformat(), "run_id": run_id, "published": False,
                    "failed_checks": failed, "suites": suites, "results": results,
                    "data_docs": str(data_docs_index(home)),
                    "day_results": str(day_results_page(home, run_date))},
                   ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    con.execute(
        "INSERT INTO meta.alerts VALUES ($t, NULL, 'publish', $d, $m)",
        {"t": datetime.now().replace(microsecond=0), "d": run_date,
         "m": f"mart {mart} for {run_date} not published (run {run_id}): " + "; ".join(failed)[:1800]},
    )


def report(home: Home, run_date: date, run_id: str, con=None, triggered_by: str = "cli", merchant: str | None = None):
    """The day's bulletin (and its merchant dossiers); with `merchant`, only that merchant's dossier, returned as
    its path (no stage is recorded: the day's bulletin is left as it was)."""
    if merchant is not None:
        with writer(home, con) as c:
            return build_merchant_dossier(c, home, run_date, merchant)
    with writer(home, con) as c, stage_record(c, run_id, run_date, "report", triggered_by):
        return build_bulletin(c, home, run_date)


# --------------------------------------------------------------------------- the whole day

def _freshness_message(message: str) -> bool:
    """Is this blocked-mart message a freshness gap (already named in the day-incomplete message)?"""
    return any(f": {check}(" in message for check in FRESHNESS_CHECKS)


@dataclass
class DayResult:
    run_id: str
    run_date: date
    ingest: object = None
    counts: dict = field(default_factory=dict)
    publish: PublishResult | None = None
    bulletin: object = None
    seconds: dict = field(default_factory=dict)
    gaps: list = field(default_factory=list)  # freshness: expected sources that delivered nothing

    def raise_for_outcome(self) -> None:
        """Exit 2 when a file was rejected (bad input the user must fix; the day is incomplete and the
        message also names any gap in the expected deliveries and any blocked mart, a rejected file's table
        being short of rows), else exit 1 when an expected source delivered nothing (the day is incomplete:
        the message names the missing sources and the marts not published) or the gate blocked a mart.
        Quarantined rows are reported (status, ledger, quarantine files) but fail nothing."""
        blocked = [f"  {mart}: " + "; ".join(msgs) for mart, msgs in self.publish.blocked.items()] \
            if self.publish and self.publish.blocked else []
        if self.ingest is not None and self.ingest.rejected:
            gaps = ("\n" + incomplete_message(self.run_date, self.gaps)) if self.gaps else ""
            also = (f"\nthe quality gate also blocked {len(blocked)} mart(s); their previous partitions stay "
                    "published:\n" + "\n".join(blocked)) if blocked else ""
            raise UserError(rejected_message(self.ingest, "alert") + gaps + also)
        if self.gaps:
            marts = sorted(self.publish.blocked) if self.publish else []
            other = [f"  {mart}: " + "; ".join(m for m in msgs if not _freshness_message(m))
                     for mart, msgs in sorted(self.publish.blocked.items())
                     if any(not _freshness_message(m) for m in msgs)] if self.publish else []
            raise QualityGateFailed(incomplete_message(self.run_date, self.gaps, marts) + (
                "\nother blocking failures:\n" + "\n".join(other) if other else ""))
        if blocked:
            raise QualityGateFailed(
                f"run {self.run_date}: quality gate blocked {len(blocked)} mart(s); the previous "
                "partitions stay published:\n" + "\n".join(blocked))


def run_day(home: Home, run_date: date, con=None, wait_seconds: float = 0.0,
            triggered_by: str = "cli") -> DayResult:
    run_id = new_run_id(run_date)
    result = DayResult(run_id=run_id, run_date=run_date)
    with writer(home, con, wait_seconds=wait_seconds) as c:
        for stage in STAGES:
            t0 = time.perf_counter()
            fn = globals()[stage]
            try:
                value = fn(home, run_date, run_id, con=c, triggered_by=triggered_by)
            except OSError as exc:  # e.g. a full disk: say which stage, keep the traceback out
                raise RunError(f"run {run_date}: stage {stage} failed: {exc}; the previously published "
                               "partitions stay as they were") from exc
            result.seconds[stage] = round(time.perf_counter() - t0, 3)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("after stage %s: %s", stage, memory_note(c))
            if stage == "ingest":
                result.ingest = value
            elif stage == "compute":
                result.counts = value
            elif stage == "gate":
                result.gaps = day_gaps(value)
            elif stage == "publish":
                result.publish = value
            elif stage == "report":
                result.bulletin = value
        c.execute("CHECKPOINT")
    return result
