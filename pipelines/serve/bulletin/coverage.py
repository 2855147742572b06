"""The bulletin's coverage note: leads an indicator could not look for, because the history is too short or the
merchant has too few complaints for the rule to judge a share.

An indicator whose rule needs a minimum history (price.phantom_reference: a reference shown on 72 of 90 days)
says so in its mart instead of staying silent: three columns `<stem>_status`, `<stem>_days` and
`<stem>_required_days`, the status `insufficient_history` where the pattern shows on the days there are but they
are fewer than the rule needs. The note counts those rows per indicator ("insufficient history: 60 of 72
days"): no lead there means not looked at, not nothing found. Any indicator with a minimum history reports the
same way: add the three columns to its mart and a line to HISTORY_CHECKS (a test keeps every mart column named
`*history_status` listed here).

A rule that judges a share needs enough events before a share at its threshold can be told from chance
(complaints.untimely_response: at least min_untimely = 3 late answers, so a late share of 0.2 needs 15 answers).
Its mart says so in a status column (`complaint_rates.untimely_judgement_status` = `insufficient_complaints` where
the share is at or above the threshold on the answers there are, but they are fewer than the rule needs), with the
events the merchant has and the events the rule needs; COUNT_CHECKS lists them (a test keeps every mart column
named `*judgement_status` listed here) and the note counts them ("insufficient complaints: 5-7 of 15 answered").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow.parquet as pq
from markupsafe import Markup

from pipelines.core.home import Home
from pipelines.core.sql import quote_ident
from pipelines.serve.bulletin import data

INSUFFICIENT = "insufficient_history"
# the note goes just before the top leads (or before the end of the page if the template has no such heading)
ANCHOR = "<h2>重点线索"


@dataclass(frozen=True)
class HistoryCheck:
    """A rule with a minimum history: its mart's columns <stem>_status, <stem>_days and <stem>_required_days."""

    indicator_id: str
    mart: str
    stem: str

    insufficient = INSUFFICIENT
    lacking_zh, lacking_en = "条历史不足", "insufficient history"
    unit_zh, unit_en = "天", "days"

    @property
    def status(self) -> str:
        return f"{self.stem}_status"

    @property
    def have(self) -> str:
        return f"{self.stem}_days"

    @property
    def required(self) -> str:
        return f"{self.stem}_required_days"


HISTORY_CHECKS = (
    HistoryCheck("price.phantom_reference", "price_anomalies", "reference_history"),
)

INSUFFICIENT_COUNT = "insufficient_complaints"


@dataclass(frozen=True)
class CountCheck:
    """A rule that needs enough events to judge a share: its status, events-had and events-needed columns."""

    indicator_id: str
    mart: str
    status: str          # the status column; INSUFFICIENT_COUNT where the rule could not judge
    have: str            # the column of events the merchant has (answers known)
    required: str        # the column of events the rule needs
    unit_zh: str
    unit_en: str

    insufficient = INSUFFICIENT_COUNT
    lacking_zh, lacking_en = "个对象投诉量不足", "insufficient complaints"


COUNT_CHECKS = (
    CountCheck("complaints.untimely_response", "complaint_rates", "untimely_judgement_status",
               "untimely_window_timely_known", "untimely_required_answers", "件已答复", "answered"),
)


def insufficient_history(con, home: Home, run_date: date) -> list[dict]:
    """Per indicator with rows of insufficient history in its mart's partition of `run_date`: how many, and
    the shortest and longest history against the days the rule needs."""
    return _insufficient(con, home, run_date, HISTORY_CHECKS)


def insufficient_counts(con, home: Home, run_date: date) -> list[dict]:
    """Per indicator with rows of insufficient complaints in its mart's partition of `run_date`: how many, and the
    fewest and most events (answers known) against the events the rule needs."""
    return _insufficient(con, home, run_date, COUNT_CHECKS)


def _insufficient(con, home: Home, run_date: date, checks) -> list[dict]:
    names = data.indicator_names()
    found = []
    for check in checks:
        src = data.published_source(home, check.mart)
        if src is None or not data.has_partition(home, check.mart, run_date):
            continue
        if not {check.status, check.have, check.required} <= set(
                pq.read_schema(home.partition_file(check.mart, run_date)).names):
            continue   # a partition published before the mart had the columns (republish adds them)
        status, have, required = (quote_ident(c) for c in (check.status, check.have, check.required))
        n, fewest, most, need = con.execute(
            f"SELECT count(*), min({have}), max({have}), max({required}) FROM {src} "  # noqa: S608 - path quoted by quote_literal, identifiers quoted, values bound
            f"WHERE dt = $d AND {status} = $s", {"d": run_date, "s": check.insufficient}).fetchone()
        if n:
            found.append({"check": check, "indicator_id": check.indicator_id,
                          "name_zh": names.get(check.indicator_id, ""), "rows": int(n), "shortest": fewest,
                          "longest": most, "required": need})
    return found


def note_html(notes: list[dict]) -> Markup:
    """The note as HTML (empty when every rule had the history and the events it needs)."""
    if not notes:
        return Markup("")
    items = []
    for n in notes:
        c = n["check"]
        span = f"{n['shortest']}" if n["shortest"] == n["longest"] else f"{n['shortest']}–{n['longest']}"
        items.append(Markup(
            '<li data-indicator="{id}">{zh} <span class="en">{id}</span>：{rows} {lzh}（{span}/{req} {uzh}），未判断 '
            '<span class="en">{rows} with {len_}: {span} of {req} {uen}, not judged (see {mart}.{status})'
            '</span></li>').format(id=n["indicator_id"], zh=n["name_zh"], rows=n["rows"], lzh=c.lacking_zh,
                                   span=span, req=n["required"], uzh=c.unit_zh, len_=c.lacking_en, uen=c.unit_en,
                                   mart=c.mart, status=c.status))
    return Markup(
        '<div id="insufficient-history" class="note">\n<h3>历史或数据不足 <span class="en">Insufficient history or data'
        '</span></h3>\n'
        "<p>以下规则需要的历史天数或投诉量多于现有数据，相关对象未作判断（不是未发现问题）。"
        '<span class="en">These rules need more days of history, or more complaints, than there are: the rows below'
        " were not judged (no lead there is not nothing found).</span></p>\n<ul>\n") + Markup("\n").join(items) + Markup("\n</ul>\n</div>\n")


def with_history_note(page: str, con, home: Home, run_date: date) -> str:
    """The rendered bulletin with the insufficient-history note before the top leads (unchanged without one)."""
    note = note_html(insufficient_history(con, home, run_date) + insufficient_counts(con, home, run_date))
    if not note:
        return page
    at = page.find(ANCHOR)
    if at < 0:
        at = page.rfind("</body>")
    return page[:at] + str(note) + page[at:] if at >= 0 else page + str(note)

