"""Issue 23: one typed read per file, and the landing file as the raw record.

DuckDB's CSV reader types the date columns itself (fixed format); numbers and timestamps are read as text
and checked by the project's own rules in the same SQL pass, because DuckDB's parsers take forms
CONTRACT §3 quarantines (`1e3`, `1_000`, `1:2:3`). A quarantined row's text and `market-monitor raw-line`
read the row back from the landing file, byte for byte; the warehouse keeps no text copy (no `raw` schema)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from decimal import Decimal

import duckdb
import pytest

from pipelines.ingest import ingest_day, sqlfuncs
from pipelines.ingest.transform import number_expr
from pipelines.run.cli import main
from pipelines.serve.raw_line import raw_line
from tests.ingest.conftest import accounting, land
from tests.ingest.test_price_observations import csv_text, ledger, quarantine, row
from warehouse.db import connect_writer
from warehouse.migrate import apply_migrations, migration_files

D = dt.date(2024, 5, 8)


def staged(con, name):
    return con.execute(
        "SELECT observation_id, observed_at, price, reference_price, promo_start, _row FROM staging.price_observations "
        "WHERE _file_name = $f ORDER BY _row", {"f": name}).fetchall()


def reread_columns(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "read again as text" in r.getMessage()]


def raw_texts(con, name):
    return dict(con.execute("SELECT row_number, raw_text FROM meta.quarantine_rows WHERE file_name = $f",
                            {"f": name}).fetchall())


def test_canonical_file_is_read_once_and_quarantined_rows_keep_their_bytes(con, home, caplog):
    caplog.set_level(logging.DEBUG, logger="pipelines.ingest.load")
    rows = [row("o1"), row("o2", price="0"), row("o3", price="12.5", observed="2024-05-09 08:00:00"),
            row("o4", price=""), row("o5", product_name='耳机 "Pro", 2024\n新款')]
    land(home, "price_observations", D, "a.csv", csv_text(*rows).replace("\n", "\r\n"))
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (5, 2, 3)
    assert reread_columns(caplog) == []  # the dates were in the reader's own form: one read
    assert staged(con, "a.csv")[0] == ("o1", dt.datetime(2024, 5, 8, 10), Decimal("99.00"), Decimal("129.00"),
                                       dt.date(2024, 5, 1), 1)
    q = quarantine(con, "a.csv")
    assert [(r, c) for r, c, _ in q] == [(2, "price"), (3, "observed_at"), (4, "price")]
    assert "greater than 0" in q[0][2] and "(future)" in q[1][2] and q[2][2] == "price: missing value"
    # the text of a quarantined row is the landing file's (12.5 stays 12.5; the CRLF is the line ending)
    assert raw_texts(con, "a.csv") == {2: rows[1], 3: rows[2], 4: rows[3]}
    # a staging row with a quoted line break reads back as written, over two lines
    assert raw_line(home, "price_observations", D, "a.csv", 5, con).text == rows[4].replace("\n", "\r\n")
    accounting(con)


def test_numbers_outside_the_contract_are_quarantined(con, home):
    # DuckDB's own number parser takes 1e3 and 1_000: CONTRACT §3 quarantines anything non-numeric but ¥ and
    # thousands separators, so prices stay text and go through mm_num in the same pass
    land(home, "price_observations", D, "n.csv", csv_text(
        row("o1", price="¥1,299.00"), row("o2", price="1e3"), row("o3", price="1_000"), row("o4", price="1,29.0"),
        row("o5", price="￥ 88"), row("o6", reference_price="1E2")))
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (6, 2, 4)
    assert [(r[0], r[2]) for r in staged(con, "n.csv")] == [("o1", Decimal("1299.00")), ("o5", Decimal("88.00"))]
    assert quarantine(con, "n.csv") == [
        (2, "price", 'price: "1e3" is not a number'), (3, "price", 'price: "1_000" is not a number'),
        (4, "price", 'price: "1,29.0" is not a number'), (6, "reference_price", 'reference_price: "1E2" is not a number')]
    accounting(con)


def test_timestamps_outside_the_contract_are_quarantined(con, home):
    # strptime takes "2024-05-08 1:2:3"; CONTRACT §3 says YYYY-MM-DD HH:MM:SS (or ISO 8601 with an offset)
    land(home, "price_observations", D, "t.csv", csv_text(
        row("o1", observed="2024-05-08 1:2:3"), row("o2", observed="2024-05-08T02:00:00Z"),
        row("o3", observed="24-05-08 10:00:00")))
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (3, 1, 2)
    assert staged(con, "t.csv")[0][:2] == ("o2", dt.datetime(2024, 5, 8, 10))  # the offset, in Asia/Shanghai
    assert [(r, c) for r, c, m in quarantine(con, "t.csv") if "is not a timestamp" in m] == [
        (1, "observed_at"), (3, "observed_at")]
    accounting(con)


def test_dates_in_other_forms_fall_back_to_text_for_their_column(con, home, caplog):
    caplog.set_level(logging.DEBUG, logger="pipelines.ingest.load")
    land(home, "price_observations", D, "b.csv", csv_text(
        row("o1", promo_start="2024年5月1日"), row("o2", promo_start="2024-5-2"), row("o3", promo_start="24-05-03")))
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (3, 2, 1)
    (msg,) = reread_columns(caplog)  # one more read, naming the column that went back to text
    assert [(r[0], r[4]) for r in staged(con, "b.csv")] == [("o1", dt.date(2024, 5, 1)), ("o2", dt.date(2024, 5, 2))]
    ((r, c, m),) = quarantine(con, "b.csv")
    assert (r, c) == (3, "promo_start") and "is not a date" in m
    accounting(con)


def test_short_year_in_a_typed_date_is_refused(con, home, caplog):
    # strptime reads "24-05-01" as the year 24; the text path's patterns refuse it, and so does the typed check
    caplog.set_level(logging.DEBUG, logger="pipelines.ingest.load")
    land(home, "price_observations", D, "c.csv", csv_text(row("o1"), row("o2", promo_start="24-05-01")))
    (e,) = ingest_day(con, home, D).entries
    assert reread_columns(caplog) == []
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (2, 1, 1)
    ((r, c, reason),) = quarantine(con, "c.csv")
    assert (r, c) == (2, "promo_start") and "is not a date" in reason
    accounting(con)


def test_broken_rows_keep_their_numbers_and_reload_changes_nothing(con, home):
    text = csv_text(row("o1"), "o2,2024-05-08 10:00:00,jd", "", row("o3", price="7.5"), row("o3", price="8"))
    land(home, "price_observations", D, "d.csv", text)
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (4, 2, 2)
    q = quarantine(con, "d.csv")
    assert [r for r, _c, _m in q] == [2, 4]
    assert "fewer fields" in q[0][2] and "first seen at row 3" in q[1][2]
    assert raw_texts(con, "d.csv") == {2: "o2,2024-05-08 10:00:00,jd", 4: row("o3", price="8")}  # the blank line is no row
    assert [(r[0], r[2], r[5]) for r in staged(con, "d.csv")] == [("o1", Decimal("99.00"), 1), ("o3", Decimal("7.50"), 3)]
    before = con.execute("SELECT count(*), sum(hash(observation_id, price, _row)) FROM staging.price_observations").fetchall()
    assert ledger(con, "d.csv")[0] == "loaded"
    (again,) = ingest_day(con, home, D).entries
    assert again.outcome == "skipped_same_file"
    assert con.execute("SELECT count(*), sum(hash(observation_id, price, _row)) FROM staging.price_observations"
                       ).fetchall() == before
    accounting(con)


def test_raw_line_command(home, capsys):
    rows = [row("o1"), row("o2", price="abc"), row("o3")]
    path = land(home, "price_observations", D, "feed.csv", csv_text(*rows))
    con = connect_writer(home.db_path)
    try:
        ingest_day(con, home, D)
    finally:
        con.close()
    args = ["raw-line", "--home", str(home.root), "--source", "price_observations", "--date", str(D), "--file", "feed.csv"]
    assert main([*args, "--row", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("landing/price_observations/2024-05-08/feed.csv row 3, loaded into staging.price_observations")
    assert out[1:] == [csv_text().strip(), rows[2]]
    assert main([*args, "--row", "2"]) == 0
    out = capsys.readouterr().out
    assert 'quarantined (price: price: "abc" is not a number)' in out and out.endswith(rows[1] + "\n")
    assert main([*args, "--row", "9"]) == 2
    assert "has no data row 9" in capsys.readouterr().err
    assert main([*args[:-1], "other.csv", "--row", "1"]) == 2
    assert "no file 'other.csv'" in capsys.readouterr().err
    path.write_text(csv_text(*rows[:2]), encoding="utf-8")  # a landing file must never change: said, not read
    assert main([*args, "--row", "1"]) == 2
    assert "changed since it was loaded" in capsys.readouterr().err
    shutil.rmtree(path.parent)  # retention deleted it: the ledger remains, the text is gone
    assert main([*args, "--row", "1"]) == 2
    assert "no longer in the landing folder" in capsys.readouterr().err


def test_existing_home_upgrades_to_no_raw_copy(home, tmp_path):
    """A warehouse built by migrations 001-005 (raw.* holding text) connects with 006: the raw tables and
    schema are gone, staging and the ledger are intact, and ingest goes on."""
    old = tmp_path / "migrations_005"
    old.mkdir()
    for version, name, sql in migration_files():
        if version <= 5:
            (old / name).write_text(sql, encoding="utf-8")
    c = duckdb.connect(str(home.db_path))
    apply_migrations(c, check=False, folder=old)
    c.execute("INSERT INTO raw.complaints_12315 (complaint_no, complaint_text, _business_date, _file_name, _sha256, _row) "
              "VALUES ('T1', '电话13800138000', DATE '2024-05-01', 'old.csv', 'x', 1)")
    c.execute("INSERT INTO staging.price_observations (observation_id, observed_at, observed_date, platform, shop_id, "
              "sku_id, price_type, price, _business_date, _file_name, _sha256, _row) VALUES ('old1', TIMESTAMP "
              "'2024-05-01 10:00:00', DATE '2024-05-01', 'jd', 'S1', 'SKU1', 'list', 10, DATE '2024-05-01', 'old.csv', 'x', 1)")
    c.close()
    con = connect_writer(home.db_path)  # applies 006 and the schema check
    try:
        assert con.execute("SELECT max(version) FROM meta.schema_migrations").fetchall()[0][0] >= 6
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()[0][0] == 0
        assert "raw" not in {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
        assert con.execute("SELECT observation_id FROM staging.price_observations").fetchall() == [("old1",)]
        land(home, "price_observations", D, "new.csv", csv_text(row("o1"), row("o2", price="-1")))
        (e,) = ingest_day(con, home, D).entries
        assert (e.outcome, e.rows_loaded, e.rows_quarantined) == ("loaded", 1, 1)
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM raw.complaints_12315")
        accounting(con)
    finally:
        con.close()


# ------------------------------------------------------------------ the cheap forms give the strict forms' answers

def _macros():
    c = duckdb.connect()
    sqlfuncs.register(c)
    return c


def test_mm_trim_is_nullif_trim_for_every_space_duckdb_trims():
    """mm_trim skips trim() for ASCII text without an outer space. Against nullif(trim(s), ''), for every code point
    up to U+3100 (trim removes U+0020 and 16 non-ASCII spaces) as a prefix, a suffix or both, around ASCII, Chinese,
    empty and inner-space bodies; and NULL."""
    c = _macros()
    c.execute("CREATE TABLE s AS SELECT CASE w WHEN 0 THEN ch || b WHEN 1 THEN b || ch ELSE ch || b || ch END AS v "
              "FROM (SELECT chr(CAST(range AS INTEGER)) AS ch FROM range(1, 12600) WHERE range < 55296 OR range > 57343) "
              "CROSS JOIN (SELECT unnest(['', 'a', '中', ' a ', 'x y', '中 文', 'ab' || chr(12288)]) AS b) "
              "CROSS JOIN range(3) r(w) UNION ALL SELECT NULL UNION ALL SELECT ''")
    assert c.execute("SELECT count(*) FROM s").fetchall()[0][0] > 250_000
    differ = c.execute("SELECT v FROM s WHERE mm_trim(v) IS DISTINCT FROM nullif(trim(v), '') LIMIT 5").fetchall()
    assert differ == []
    # the fast branch is taken for plain ASCII (this is what makes it cheaper), and trims what it must
    assert c.execute("SELECT mm_trim('abc'), mm_trim(' abc '), mm_trim(chr(12288) || '中'), mm_trim('  ')").fetchall() \
        == [("abc", "abc", "中", None)]


def test_plain_cast_of_a_plain_number_is_mm_nums_answer():
    """number_expr casts text in PLAIN_NUMBER's form straight to DECIMAL(18, s); mm_num gives DECIMAL(38, 10),
    cast to DECIMAL(18, s) afterwards. Both must round (half away from zero) and overflow alike, and every other
    form (signs, ¥, separators, and the ones CONTRACT §3 refuses) must still be mm_num's."""
    c = _macros()
    values = ["1e3", "1E2", "1_000", "5.", ".5", "+5", "-5", "-.5", "¥1,299.00", "￥ 88", "1,29.0", "1,000", "0x10",
              "NaN", "inf", "1.2.3", "--5", "5-", "\t5", "1 000", "12.345678901", "0.00000000005", "0", "00", "-0.005",
              "1.00499999999", "1.0049999999999", "2.67499999999", "0.0004999999999"]  # (11+ decimals: rounded twice)
    for int_digits in range(1, 21):
        for frac_digits in range(0, 12):
            for fill in "0459":
                whole = ("9" * int_digits) if fill == "9" else ("1" + fill * (int_digits - 1))
                frac = (fill * (frac_digits - 1) + "5") if frac_digits else ""
                values.append(whole + ("." + frac if frac_digits else ""))
                values.append(whole + ("." + frac.replace("5", "4") + "9" if frac_digits else ""))
    c.execute("CREATE TABLE v AS SELECT unnest($v) AS s", {"v": values})
    for scale in (2, 3, 6):
        sql_type = f"DECIMAL(18, {scale})"
        differ = c.execute(f"SELECT s FROM v WHERE ({number_expr('s', sql_type)}) IS DISTINCT FROM "  # noqa: S608 - test SQL, fixed values
                           f"TRY_CAST(mm_num(s) AS {sql_type}) LIMIT 5").fetchall()
        assert differ == [], scale
        # both answers occur: numbers read, numbers refused (overflow, forms outside the contract)
        got = c.execute(f"SELECT count(*) FILTER (WHERE x IS NULL), count(x) FROM (SELECT {number_expr('s', sql_type)} "  # noqa: S608 - test SQL
                        "AS x FROM v)").fetchall()[0]
        assert got[0] > 100 and got[1] > 500
    assert c.execute(f"SELECT {number_expr(chr(39) + '1.005' + chr(39), 'DECIMAL(18, 2)')}").fetchall()[0][0] == \
        Decimal("1.01")
