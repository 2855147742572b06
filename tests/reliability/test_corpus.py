"""The bad-input corpus (tests/reliability/corpus.py) through ingestion: every case gives the outcome it
should, exit code 0 or 2 with a message naming file, row and column, and rows read = loaded + quarantined."""

from __future__ import annotations

import pytest

from pipelines.core.errors import UserError
from pipelines.core.home import Home
from pipelines.ingest import ingest_day
from pipelines.run.daily import DayResult
from pipelines.serve.raw_line import raw_line
from tests.ingest.conftest import accounting, snapshot
from tests.reliability import corpus, figures
from warehouse.db import connect_writer

CASES = corpus.cases()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("corpus") / "home").ensure()
    corpus.lay(home)
    con = connect_writer(home.db_path)
    report = ingest_day(con, home, corpus.D)
    yield home, con, report
    con.close()


def _entries(report, case):
    return [e for e in report.entries if e.source == case.source
            and (e.file_name == case.name or e.file_name.startswith(case.name + "/"))]


def _exit_code_and_message(report, entries) -> tuple[int, str]:
    """What `market-monitor run` would exit with for a day holding only these files (DayResult)."""
    sub = type(report)(report.business_date, entries)
    result = DayResult(run_id="corpus", run_date=report.business_date, ingest=sub)
    try:
        result.raise_for_outcome()
    except UserError as exc:
        return exc.exit_code, str(exc) + "\n" + "\n".join(sub.problems())
    return 0, "\n".join(sub.problems())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(ingested, case):
    home, con, report = ingested
    entries = _entries(report, case)
    assert entries, f"{case.id}: no ledger entry for {case.name}"
    main = next(e for e in entries if e.file_name == (case.ledger_name or case.name))
    assert main.outcome == case.outcome, (case.id, main.outcome, main.message)
    assert (main.rows_read, main.rows_loaded, main.rows_quarantined) == (case.rows, case.loaded, case.quarantined), \
        (case.id, main.message)
    code, text = _exit_code_and_message(report, entries)
    assert code == (2 if case.outcome == "rejected" else 0), text
    assert "Traceback" not in text and "unexpected error" not in text, text
    for word in case.words:
        assert word in text + "\n" + (main.message or ""), f"{case.id}: {word!r} not in messages:\n{text}"
    # the ledger row in the warehouse says the same
    (row,) = con.execute(
        "SELECT outcome, rows_read, rows_loaded, rows_quarantined FROM ingestion_ledger "
        "WHERE source = $s AND business_date = $d AND file_name = $f",
        {"s": case.source, "d": corpus.D, "f": main.file_name}).fetchall()
    assert row == (case.outcome, case.rows, case.loaded, case.quarantined)
    figures.add("corpus cases")
    figures.add("rows read", main.rows_read)


def test_every_row_accounted_for(ingested):
    """Exactly-once accounting over the whole corpus: staging and quarantine agree with the ledger, and
    the ledger read every record the corpus wrote (rows lost: 0)."""
    home, con, report = ingested
    accounting(con)
    written = sum(c.rows for c in CASES)
    read = sum(e.rows_read for e in report.entries)
    assert read == written + 1  # + the seller row of the zip's one safe member
    figures.add("rows lost", written + 1 - read)


def test_whole_day_exit_code_names_each_rejected_file(ingested):
    home, con, report = ingested
    code, text = _exit_code_and_message(report, report.entries)
    assert code == 2
    for case in CASES:
        if case.outcome == "rejected":
            assert case.name in text


def test_hostile_values_are_data_not_sql(ingested):
    home, con, report = ingested
    names = {r[0] for r in con.execute("SELECT product_name FROM staging.price_observations "
                                       "WHERE _file_name = 'c23_sql.csv'").fetchall()}
    assert corpus.SQL_TEXT in names
    shops = {r[0] for r in con.execute("SELECT shop_id FROM staging.price_observations").fetchall()}
    assert corpus.SQL_IDENT in shops
    # the tables the payloads name are still there and still hold their rows
    assert con.execute("SELECT count(*) FROM meta.ingestion_ledger").fetchall()[0][0] >= len(CASES)
    # the hostile header is an extra column: not loaded, nothing else; the landing file (the raw record) keeps it
    shown = raw_line(home, "price_observations", corpus.D, "c24_sql_header.csv", 1, con)
    assert corpus.SQL_IDENT.replace('"', '""') in shown.header and shown.text.endswith(",a,b")
    figures.add("hostile inputs", 4)


def test_values_normalised(ingested):
    home, con, report = ingested
    prices = dict(con.execute("SELECT observation_id, price FROM staging.price_observations "
                              "WHERE _file_name = 'c17_formatted.csv'").fetchall())
    assert {k: float(v) for k, v in prices.items()} == {"REL-c17-1": 1299.0, "REL-c17-2": 1299.5, "REL-c17-3": 1299.0}
    reg = dict(con.execute("SELECT shop_id, uscc_valid FROM staging.registry WHERE _file_name = 'c28_registry.csv'"
                           ).fetchall())
    assert reg == {"REL-SHOP-1": True, "REL-SHOP-2": False, "REL-SHOP-3": True, "REL-SHOP-4": False}
    names = {r[0] for r in con.execute("SELECT product_name FROM staging.price_observations "
                                       "WHERE _file_name IN ('c08_gbk.csv', 'c22_newlines.csv')").fetchall()}
    assert "电饭煲（容量）" in names and "第一行\n第二行\r\n第三行" in names
    big = con.execute("SELECT length(product_name) FROM staging.price_observations "
                      "WHERE _file_name = 'c21_big_field.csv' AND observation_id = 'REL-c21-1'").fetchall()[0][0]
    assert big == 1 << 20


def test_nothing_escapes_the_landing_folder(ingested):
    home, con, report = ingested
    root = home.root.parent
    assert not list(root.rglob("escaped.csv")), "a zip member with ../ was written"
    from pathlib import Path

    assert not Path("/tmp/mm_reliability_abs.csv").exists()
    slip = [e for e in report.entries if e.file_name.startswith("olist_reliability_slip.zip/")]
    outcomes = {e.file_name.split("/", 1)[1]: e.outcome for e in slip}
    assert outcomes == {"../../escaped.csv": "ignored", "/tmp/mm_reliability_abs.csv": "ignored",
                        "olist_sellers_dataset.csv": "loaded"}
    # the symlink's target outside the home was never read
    assert con.execute("SELECT count(*) FROM staging.price_observations WHERE observation_id = 'REL-777'"
                       ).fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM meta.quarantine_rows WHERE raw_text LIKE '%REL-777%'").fetchall()[0][0] == 0
    figures.add("hostile inputs", 4)


def test_loading_the_corpus_again_changes_nothing(ingested):
    home, con, report = ingested
    before = snapshot(con)
    again = ingest_day(con, home, corpus.D)
    assert {e.outcome for e in again.entries} <= {"skipped_same_file", "ignored", "rejected", "empty"}
    # a duplicate file stays recorded as one (skipped again, its ledger row unchanged)
    assert next(e for e in again.entries if e.file_name == "c51_copy_of_c01.csv").outcome == "skipped_same_file"
    assert sum(e.rows_loaded for e in again.entries) == 0
    assert snapshot(con) == before
