"""Freshness: did every source expected for business date D deliver something (docs/RELIABILITY.md)?

Each source yml says when it is expected (`expected:`): `daily`, `weekly:<weekday>` (for a business date
that is that weekday) or `on_events` (never required: registers, penalties and lists are sent when
something happens). A source is expected from its first delivery in the home on (any ledger row on or
before D): a home that never used a source is not waiting for it. A home where no source ever delivered
anything expects every daily source (there is nothing to look at).

An expected source *delivered* for D when the ledger holds a file of D that was loaded (or replaced, or
recognised as a duplicate of a loaded file). No file, or only rejected, ignored or empty files, is a gap.
The quality gate turns each gap into a failed blocking check `expect_source_delivered` on the suite of
every table of that source (expectations/gate.py: `add_freshness`), so the lineage blocks exactly the
marts that read it; a day where nothing at all was delivered also fails `expect_day_delivered` on the
ledger suite, which guards every mart. The gap's description is the check's observed value, which is
what the run's message, the alert, the bulletin and `status` show (`day_gaps`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.catalogue import all_sources
from pipelines.ingest.files import DATA_ENDINGS
from pipelines.ingest.source_spec import WEEKDAYS

SOURCE_DELIVERED = "expect_source_delivered"
DAY_DELIVERED = "expect_day_delivered"
FRESHNESS_CHECKS = (SOURCE_DELIVERED, DAY_DELIVERED)
DELIVERED_OUTCOMES = ("loaded", "replaced", "duplicate", "skipped_same_file")
NOTHING_DELIVERED = "no source delivered anything"  # the start of the day-level gap's description


def expected_on(expected: str, day: dt.date) -> bool:
    """Is a source with this `expected:` cadence due for business date `day`?"""
    if expected == "daily":
        return True
    if expected.startswith("weekly:"):
        return WEEKDAYS[day.weekday()] == expected.split(":", 1)[1]
    return False


@dataclass(frozen=True)
class Gap:
    """An expected source that delivered nothing usable for the day."""

    source: str
    expected: str
    business_date: dt.date
    rejected: tuple[str, ...] = ()  # file names rejected for the day
    unread: tuple[str, ...] = ()  # files ignored or empty
    waiting: tuple[str, ...] = ()  # data files in the landing folder that no ingest has read yet

    def describe(self) -> str:
        folder = f"landing/{self.source}/{self.business_date}/"
        if self.rejected:
            why = f"only rejected file(s) in {folder}: {', '.join(self.rejected)}"
        elif self.waiting:
            why = f"{len(self.waiting)} file(s) in {folder} not ingested yet: {', '.join(self.waiting[:5])}"
        elif self.unread:
            why = f"no data file in {folder} (ignored or empty: {', '.join(self.unread[:5])})"
        else:
            why = f"no file in {folder}"
        return f"{self.source} (expected {self.expected}): nothing delivered for {self.business_date}: {why}"


@dataclass(frozen=True)
class Freshness:
    business_date: dt.date
    expected: tuple[str, ...]  # sources due for the day
    gaps: tuple[Gap, ...] = ()
    nothing_delivered: bool = False  # no source delivered any file for the day

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(g.source for g in self.gaps)

    def day_line(self) -> str:
        return (f"{NOTHING_DELIVERED} for {self.business_date}: every mart is blocked for the day "
                f"(expected: {', '.join(self.expected)})")


def check(con, day: dt.date, home=None) -> Freshness:
    """The freshness of business date `day` from meta.ingestion_ledger (and, with `home`, a look at the
    landing folders, to tell a file not ingested yet from no file)."""
    rows = con.execute(
        "SELECT source, min(business_date), "
        "count(*) FILTER (WHERE business_date = $d AND list_contains($ok, outcome)), "
        "list(file_name ORDER BY file_name) FILTER (WHERE business_date = $d AND outcome = 'rejected'), "
        "list(file_name ORDER BY file_name) FILTER (WHERE business_date = $d AND outcome IN ('ignored', 'empty')) "
        "FROM meta.ingestion_ledger WHERE business_date <= $d GROUP BY source",
        {"d": day, "ok": list(DELIVERED_OUTCOMES)}).fetchall()
    seen = {r[0]: r for r in rows}
    any_ever = bool(seen)
    sources = all_sources()
    expected = tuple(s.id for s in sources if expected_on(s.expected, day) and (s.id in seen or not any_ever))
    gaps = []
    for s in sources:
        if s.id not in expected:
            continue
        _, _, delivered, rejected, unread = seen.get(s.id, (s.id, None, 0, None, None))
        if delivered:
            continue
        gaps.append(Gap(s.id, s.expected, day, tuple(rejected or ()), tuple(unread or ()),
                        _waiting(home, s.id, day, {*(rejected or ()), *(unread or ())})))
    nothing = bool(expected) and not any(r[2] for r in rows)
    return Freshness(day, expected, tuple(gaps), nothing)


def _waiting(home, source: str, day: dt.date, booked: set[str]) -> tuple[str, ...]:
    if home is None:
        return ()
    folder = Path(home.landing_dir(source, day))
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(DATA_ENDINGS)
                        and p.name not in booked))


def alert_gaps(con, day: dt.date, lines: list[str], task_id: str = "gate", dag_id: str | None = None) -> int:
    """One meta.alerts row per gap of the day ("day D incomplete: …"); returns how many. (A rejected file
    already has its own alert from ingest: pipelines/ingest/policy.py.)"""
    now = dt.datetime.now().replace(microsecond=0)
    rows = [{"t": now, "g": dag_id, "k": task_id, "d": day, "m": f"day {day} incomplete: {line}"[:2000]}
            for line in lines]
    if rows:
        con.executemany("INSERT INTO meta.alerts VALUES ($t, $g, $k, $d, $m)", rows)
    return len(rows)


def in_order(lines) -> list[str]:
    """Gap lines without repeats, the whole-day line first, then by source."""
    return sorted(dict.fromkeys(lines), key=lambda line: (not line.startswith(NOTHING_DELIVERED), line))


def incomplete_message(day: dt.date, lines: list[str], blocked_marts: list[str] | None = None) -> str:
    """The run's message for a day with gaps (exit 1)."""
    lines = in_order(lines)
    sources = sum(1 for line in lines if not line.startswith(NOTHING_DELIVERED))
    text = (f"run {day}: day incomplete: {sources} expected source(s) delivered nothing:\n  " + "\n  ".join(lines))
    if blocked_marts:
        text += (f"\nnot published for {day} (their previous partitions stay): {', '.join(blocked_marts)}")
    return text + f"\ndeliver the missing file(s) to landing/<source>/{day}/ and rerun the day (market-monitor run --date {day})"


def day_gaps(con, day: dt.date) -> list[str]:
    """The gaps recorded by the latest quality run of `day` (what the bulletin and `status` show)."""
    rows = con.execute(
        "SELECT DISTINCT observed_value FROM meta.quality_results WHERE business_date = $d AND NOT success "
        "AND list_contains($checks, expectation) "
        "AND run_id = (SELECT max(run_id) FROM meta.quality_results WHERE business_date = $d) ORDER BY 1",
        {"d": day, "checks": list(FRESHNESS_CHECKS)}).fetchall()
    return in_order(r[0] for r in rows if r[0])


def rejected_files(con, day: dt.date, with_reason: bool = True) -> list[str]:
    """Every file of `day` rejected by ingest: landing/<source>/<D>/<file>, with the reason unless told not
    to (the bulletin shows names only: a parser's reason may quote a line of the file)."""
    rows = con.execute(
        "SELECT source, file_name, coalesce(message, '') FROM meta.ingestion_ledger "
        "WHERE business_date = $d AND outcome = 'rejected' ORDER BY source, file_name", {"d": day}).fetchall()
    return [f"landing/{s}/{day}/{f}" + (f": {m}" if with_reason else "") for s, f, m in rows]
