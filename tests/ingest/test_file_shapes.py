"""Files as spreadsheets and people send them (issue 19): mixed CRLF/LF line endings, CR only, a BOM,
trailing blank lines, a final line without newline, quoted fields with embedded newlines. Each fixture
is written by the test; each must load every row with the values as sent (no stray CR)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil

import pytest

from pipelines.ingest import ingest_day
from pipelines.ingest import load as load_module
from pipelines.ingest import reader as reader_module
from pipelines.ingest.reader import normalise_line_endings
from tests.ingest.conftest import accounting, land

D = dt.date(2026, 10, 29)
HEAD = ["observation_id", "observed_at", "platform", "shop_id", "sku_id", "product_name", "category",
        "region_code", "price_type", "price", "currency", "url"]


def _rows(tag: str, names=("电饭煲", "台灯", "水杯")) -> list[list[str]]:
    return [[f"{tag}-{i}", "2026-10-29 10:00:00", "tmall", "S1", f"K{i}", name, "家电", "310101", "list",
             f"{100 + i}.50", "CNY", f"https://shop.example/{tag}/{i}"] for i, name in enumerate(names, 1)]


def _csv(rows, eol="\n") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=eol).writerows([HEAD, *rows])
    return buf.getvalue().encode("utf-8")


def _mix(data: bytes) -> bytes:
    """LF, LF, CRLF, CRLF, … : the first record sets DuckDB's strict line ending, the later CRLFs break it."""
    lines = data.split(b"\n")
    return b"".join(line + (b"\n" if k % 4 < 2 else b"\r\n") for k, line in enumerate(lines[:-1])) + lines[-1]


SHAPES = {
    "mixed_crlf_lf": lambda rows: _mix(_csv(rows)),
    "crlf_then_lf_tail": lambda rows: _csv(rows, "\r\n") + b"\n\r\n",
    "cr_only": lambda rows: _csv(rows, "\r"),
    "bom_crlf": lambda rows: b"\xef\xbb\xbf" + _csv(rows, "\r\n"),
    "bom_mixed": lambda rows: b"\xef\xbb\xbf" + _mix(_csv(rows)),
    "trailing_blank_lines": lambda rows: _csv(rows) + b"\n\n\n",
    "trailing_blank_lines_crlf": lambda rows: _csv(rows, "\r\n") + b"\r\n\r\n",
    "no_final_newline": lambda rows: _csv(rows).rstrip(b"\n"),
    "no_final_newline_crlf_mixed": lambda rows: _mix(_csv(rows)).rstrip(b"\r\n"),
    "gbk_mixed": lambda rows: _mix(_csv(rows).decode("utf-8").encode("gbk")),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_loads_every_row_as_sent(home, con, shape):
    rows = _rows(shape)
    land(home, "price_observations", D, f"{shape}.csv", SHAPES[shape](rows))
    (entry,) = ingest_day(con, home, D).entries
    assert (entry.outcome, entry.rows_read, entry.rows_loaded, entry.rows_quarantined) == ("loaded", 3, 3, 0), \
        entry.message
    got = con.execute("SELECT _row, observation_id, product_name, url, price FROM staging.price_observations "
                      "ORDER BY _row").fetchall()
    assert [(r, o, n, u, float(p)) for r, o, n, u, p in got] == [
        (i, row[0], row[5], row[11], float(row[9])) for i, row in enumerate(rows, 1)]
    accounting(con)


def test_mixed_line_endings_are_named_in_the_ledger(home, con):
    land(home, "price_observations", D, "mixed.csv", _mix(_csv(_rows("m"))))
    (entry,) = ingest_day(con, home, D).entries
    assert "mixed line endings read as LF" in entry.message


def test_quoted_newlines_survive_with_and_without_mixed_endings(home, con):
    rows = _rows("q", names=("第一行\n第二行", "a\r\nb", "plain"))
    land(home, "price_observations", D, "quoted_lf.csv", _csv(rows))  # LF records, quoted LF and CRLF kept
    mixed = _rows("qm", names=("第一行\n第二行", "x\ny", "plain"))
    land(home, "price_observations", D, "quoted_mixed.csv", _mix(_csv(mixed)))
    entries = {e.file_name: e for e in ingest_day(con, home, D).entries}
    assert {n: (e.outcome, e.rows_loaded) for n, e in entries.items()} == {
        "quoted_lf.csv": ("loaded", 3), "quoted_mixed.csv": ("loaded", 3)}
    names = dict(con.execute("SELECT observation_id, product_name FROM staging.price_observations").fetchall())
    assert names["q-1"] == "第一行\n第二行" and names["q-2"] == "a\r\nb"  # strict read: exactly as sent
    assert names["qm-1"] == "第一行\n第二行" and names["qm-2"] == "x\ny"  # normalised copy: LF inside quotes


def test_broken_rows_in_a_mixed_file_are_quarantined_with_their_row(home, con):
    rows = _rows("b")
    data = _mix(_csv(rows)).replace(b"b-2,2026-10-29 10:00:00,tmall,S1,K2,", b"b-2,2026-10-29 10:00:00,")
    land(home, "price_observations", D, "mixed_broken.csv", data)
    (entry,) = ingest_day(con, home, D).entries
    assert (entry.outcome, entry.rows_read, entry.rows_loaded, entry.rows_quarantined) == ("loaded", 3, 2, 1)
    (row, reason), = con.execute("SELECT row_number, reason FROM meta.quarantine_rows").fetchall()
    assert row == 2 and "fewer fields" in reason
    accounting(con)


def test_an_unterminated_quote_in_a_mixed_file_is_quarantined(home, con):
    data = _mix(_csv(_rows("u"))) + b'u-9,"2026-10-29 10:00:00,tmall\r\n'
    land(home, "price_observations", D, "unterminated.csv", data)
    (entry,) = ingest_day(con, home, D).entries
    assert (entry.outcome, entry.rows_read, entry.rows_loaded, entry.rows_quarantined) == ("loaded", 4, 3, 1)
    (row,) = con.execute("SELECT row_number FROM meta.quarantine_rows").fetchall()
    assert row == (4,)
    accounting(con)


def test_csv_duckdb_cannot_parse_after_the_fallback_is_rejected_not_failed(home, con, monkeypatch):
    """DuckDB's parser refusing the content is bad input (rejected, exit 2), also when the normalised
    copy does not help (here: a fallback that copies the file unchanged)."""
    monkeypatch.setattr(load_module, "normalise_line_endings", lambda src, dst: shutil.copyfile(src, dst))
    land(home, "price_observations", D, "refused.csv", _mix(_csv(_rows("r"))))
    (entry,) = ingest_day(con, home, D).entries
    assert entry.outcome == "rejected"
    assert "not readable as CSV, even with its line endings normalised" in entry.message
    assert "state machine" in entry.message  # DuckDB's own words are kept for whoever debugs it
    accounting(con)


def test_normalise_line_endings_keeps_a_crlf_split_between_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_module, "CHUNK", 4)
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(b"ab,c\r\nde\rf\ng,h\r\n\r\nxy\r")
    normalise_line_endings(src, dst)
    assert dst.read_bytes() == b"ab,c\nde\nf\ng,h\n\nxy\n"
