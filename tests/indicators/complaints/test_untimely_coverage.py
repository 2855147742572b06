"""Session 28 (issue 20): complaints.untimely_response says when it had too few answers to judge a late share
(complaint_rates.untimely_judgement_status, counted in the bulletin's coverage note) instead of staying silent, and
the power curves' evaluate counts such plants as not judged (tests/generate/test_power.py)."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup

from indicators.compute import mart_catalogue
from pipelines.core.home import Home
from pipelines.serve.bulletin import coverage
from tests.generate.marts import write_part
from tests.indicators.complaints.conftest import by_id
from tests.indicators.complaints.given import complaint, shop

RUN = date(2026, 11, 9)


def test_untimely_status_says_when_the_answers_are_too_few_to_judge(mem_warehouse, run):
    """With fewer than ceil(min_untimely / threshold) = 15 answers known a late share at the threshold has fewer
    than 3 late answers: the rule cannot judge it. The row says so (insufficient_complaints where the share on the
    answers there are is at or above the threshold, few_complaints where it is below) instead of staying silent."""
    con = mem_warehouse
    day = "2026-11-0{}"
    cases = {"TWO_OF_6": (6, 2), "ONE_OF_6": (6, 1), "THREE_OF_4": (4, 3), "TWO_OF_15": (15, 2), "THREE_OF_14": (14, 3)}
    for s, (known, late) in cases.items():
        shop(con, s)
        for k in range(known):
            complaint(con, day.format(1 + k % 9), s, timely=k >= late)
    shop(con, "OPEN")
    complaint(con, "2026-11-05", "OPEN", timely=None, status="处理中", result=None)
    rows = by_id(run(con, "complaints.untimely_response", RUN))
    status = {s: (r["judgement_status"], r["required_answers"], r["flagged"]) for s, r in rows.items()}
    assert status == {
        "TWO_OF_6": ("insufficient_complaints", 15, False),   # share 0.33 >= 0.2 on 6 answers: too few to judge
        "ONE_OF_6": ("few_complaints", 15, False),            # share 0.17 on 6 answers
        "THREE_OF_4": ("checked", 15, True),                  # 3 late: the minimum count is met, the share decides
        "TWO_OF_15": ("checked", 15, False),                  # 15 answers: a share of 0.2 would have 3 late
        "THREE_OF_14": ("checked", 15, True),
        "OPEN": ("few_complaints", 15, False),                # no answer known yet
    }
    # a different threshold moves the answers needed with it: ceil(3 / 0.25) = 12
    rows = by_id(run(con, "complaints.untimely_response", RUN, {"untimely_share_threshold": 0.25}))
    assert rows["TWO_OF_15"]["required_answers"] == 12 and rows["TWO_OF_6"]["judgement_status"] == "insufficient_complaints"


def test_the_bulletin_counts_merchants_with_too_few_answers(tmp_path):
    home = Home(tmp_path / "home").ensure()
    base = {"dt": RUN, "untimely_required_answers": 15}
    write_part(home.root, "complaint_rates", RUN.isoformat(), [
        {**base, "shop_id": "A", "untimely_judgement_status": "insufficient_complaints", "untimely_window_timely_known": 5},
        {**base, "shop_id": "B", "untimely_judgement_status": "insufficient_complaints", "untimely_window_timely_known": 7},
        {**base, "shop_id": "C", "untimely_judgement_status": "few_complaints", "untimely_window_timely_known": 6},
        {**base, "shop_id": "D", "untimely_judgement_status": "checked", "untimely_window_timely_known": 20}])
    import duckdb

    con = duckdb.connect(":memory:")
    [note] = coverage.insufficient_counts(con, home, RUN)
    assert (note["indicator_id"], note["rows"], note["shortest"], note["longest"], note["required"]) == (
        "complaints.untimely_response", 2, 5, 7, 15)
    html = str(coverage.note_html([note]))
    assert "2 with insufficient complaints: 5–7 of 15 answered, not judged" in html and "（5–7/15 件已答复）" in html
    page = "<html><body><h1>t</h1><h2>重点线索 x</h2></body></html>"
    assert coverage.with_history_note(page, con, home, RUN).index('data-indicator="complaints.untimely_response"') \
        < coverage.with_history_note(page, con, home, RUN).index("<h2>重点线索")
    assert coverage.note_html([]) == Markup("")
    con.close()


def test_every_judgement_status_column_of_a_mart_is_counted_by_the_note():
    """A mart column `*judgement_status` is an indicator reporting too few events to judge: the note lists it, and
    its columns and labels exist."""
    marts = mart_catalogue()["marts"]
    declared = {(c.mart, c.status) for c in coverage.COUNT_CHECKS}
    found = {(m, col) for m, spec in marts.items() for col in spec["columns"] if col.endswith("judgement_status")}
    assert found and found == declared
    for c in coverage.COUNT_CHECKS:
        assert {c.have, c.required} <= set(marts[c.mart]["columns"])
        assert coverage.INSUFFICIENT_COUNT in marts[c.mart]["value_labels"][c.status]


def test_the_note_skips_a_partition_published_before_the_status_columns(tmp_path):
    """A home whose complaint_rates partition predates schema 3 (not yet republished) gets no note, not an error."""
    import duckdb

    home = Home(tmp_path / "home").ensure()
    write_part(home.root, "complaint_rates", RUN.isoformat(), [{"dt": RUN, "shop_id": "A", "complaints": 3}])
    con = duckdb.connect(":memory:")
    assert coverage.insufficient_counts(con, home, RUN) == []
    con.close()
