"""The same file twice (issue 19): identical content under another name is skipped with a ledger row
`duplicate` naming the first file; rows whose key was already loaded from another file of the same
source and date are quarantined naming that file and its row. Accounting holds throughout."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

from pipelines.ingest import ingest_day
from tests.ingest.conftest import accounting, land, snapshot
from tests.ingest.test_file_shapes import HEAD, _csv, _rows

D = dt.date(2026, 10, 29)
P = "price_observations"


def _ledger(con) -> dict:
    return {n: (o, r, lo, q, m) for n, o, r, lo, q, m in con.execute(
        "SELECT file_name, outcome, rows_read, rows_loaded, rows_quarantined, message FROM meta.ingestion_ledger"
    ).fetchall()}


def test_same_content_under_another_name_is_a_duplicate(home, con):
    data = _csv(_rows("a"))
    land(home, P, D, "prices.csv", data)
    land(home, P, D, "prices_resent.csv", data)  # what a second download or a re-send looks like
    ingest_day(con, home, D)
    led = _ledger(con)
    assert led["prices_resent.csv"][:4] == ("duplicate", 0, 0, 0)
    assert led["prices_resent.csv"][4].startswith("duplicate of prices.csv: same content (sha256 ")
    assert led["prices.csv"][:4] == ("loaded", 3, 3, 0)
    assert con.execute("SELECT count(*) FROM staging.price_observations").fetchall() == [(3,)]
    assert con.execute("SELECT count(*) FROM meta.quarantine_rows").fetchall() == [(0,)]
    accounting(con)
    # a rerun changes nothing and says so
    before = snapshot(con)
    again = {e.file_name: e.outcome for e in ingest_day(con, home, D).entries}
    assert again == {"prices_resent.csv": "skipped_same_file", "prices.csv": "skipped_same_file"}
    assert snapshot(con) == before


def test_same_content_on_another_date_or_source_is_not_a_duplicate(home, con):
    data = _csv(_rows("b"))
    land(home, P, D, "prices.csv", data)
    land(home, P, D + dt.timedelta(days=1), "prices_again.csv", data)
    ingest_day(con, home, D)
    ingest_day(con, home, D + dt.timedelta(days=1))
    assert {o for o, *_ in _ledger(con).values()} == {"loaded"}


def test_a_zip_member_with_content_already_loaded_is_a_duplicate(home, con):
    data = _csv(_rows("z"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("price_observations.csv", data)
    land(home, P, D, "a_prices.zip", buf.getvalue())
    land(home, P, D, "b_prices_copy.zip", buf.getvalue())
    ingest_day(con, home, D)
    led = _ledger(con)
    assert led["a_prices.zip/price_observations.csv"][0] == "loaded"
    dup = led["b_prices_copy.zip/price_observations.csv"]
    assert dup[0] == "duplicate" and "duplicate of a_prices.zip/price_observations.csv" in dup[4]
    accounting(con)


def test_keys_loaded_from_another_file_are_quarantined_naming_file_and_row(home, con):
    first = _rows("k")
    land(home, P, D, "a_first.csv", _csv(first))
    # the same observations re-exported (other bytes: CRLF, another price for k-2) plus one new one
    second = [first[2], [*first[1][:9], "999.00", *first[1][10:]], _rows("new")[0]]
    land(home, P, D, "b_second.csv", _csv(second, "\r\n"))
    ingest_day(con, home, D)
    led = _ledger(con)
    assert led["b_second.csv"][:4] == ("loaded", 3, 1, 2)
    got = con.execute("SELECT row_number, column_name, reason FROM meta.quarantine_rows "
                      "WHERE file_name = 'b_second.csv' ORDER BY row_number").fetchall()
    assert got == [
        (1, "observation_id", "duplicate observation_id k-3, already loaded from a_first.csv "
                              "row 3 (same source and date)"),
        (2, "observation_id", "duplicate observation_id k-2, already loaded from a_first.csv "
                              "row 2 (same source and date)"),
    ]
    # the first file's rows are untouched; only the new key joined them
    ids = [r[0] for r in con.execute("SELECT observation_id FROM staging.price_observations ORDER BY 1").fetchall()]
    assert ids == ["k-1", "k-2", "k-3", "new-1"]
    assert con.execute("SELECT price FROM staging.price_observations WHERE observation_id = 'k-2'"
                       ).fetchall()[0][0] == Decimal("102.50")
    # the quarantine file for a person says the same
    text = (home.quarantine_dir(P, D) / "b_second.csv.quarantine.csv").read_text(encoding="utf-8")
    assert "already loaded from a_first.csv row 3" in text
    accounting(con)


def test_key_duplicates_within_and_across_files_together(home, con):
    land(home, P, D, "a.csv", _csv(_rows("w")[:1]))
    rows = _rows("w")
    land(home, P, D, "b.csv", _csv([rows[0], rows[1], rows[1]]))  # w-1 from a.csv, w-2 twice in b.csv
    ingest_day(con, home, D)
    reasons = [r for (r,) in con.execute("SELECT reason FROM meta.quarantine_rows WHERE file_name = 'b.csv' "
                                         "ORDER BY row_number").fetchall()]
    assert len(reasons) == 2
    assert "already loaded from a.csv row 1" in reasons[0]
    assert "first seen at row 2" in reasons[1]
    accounting(con)


def test_tables_with_history_keep_repeated_keys_across_files(home, con):
    """List entries keep history (docs/CONTRACT.md §3): the same key in two files is two versions."""
    head = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "作出决定机关", "移出经营异常名录原因", "移出日期",
            "移出决定机关"]
    row = ["913101131334484310", "上海测试有限公司", "未按期公示年报", "2026-10-01", "上海市市场监督管理局", "", "", ""]
    for name, extra in (("a.csv", ""), ("b.csv", "2026-10-20")):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([head, row[:6] + [extra, ""]])
        land(home, "abnormal_operations", D, name, buf.getvalue())
    ingest_day(con, home, D)
    assert {o for o, *_ in _ledger(con).values()} == {"loaded"}
    assert con.execute("SELECT count(*) FROM meta.quarantine_rows").fetchall() == [(0,)]
    accounting(con)


def test_replacing_the_first_file_lets_the_duplicate_load_on_rerun(home, con):
    data = _csv(_rows("r"))
    first = land(home, P, D, "a.csv", data)
    land(home, P, D, "b.csv", data)
    ingest_day(con, home, D)
    assert _ledger(con)["b.csv"][0] == "duplicate"
    first.write_bytes(_csv(_rows("other")))  # a.csv corrected with other observations
    ingest_day(con, home, D)
    led = _ledger(con)
    assert led["a.csv"][:2] == ("replaced", 3) and led["b.csv"][:3] == ("loaded", 3, 3)
    assert HEAD[0] == "observation_id"
    accounting(con)
