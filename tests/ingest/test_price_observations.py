"""price_observations: real prices (CyBPP through the documented converter) and broken files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pipelines.ingest import ingest_day
from pipelines.ingest.cyprus import cyprus_to_price_observations
from pipelines.ingest.load import SHORT_BLOCK
from pipelines.serve.raw_line import raw_line
from tests.ingest.conftest import accounting, land, real, snapshot

D = dt.date(2024, 5, 8)
HEADER = ("observation_id,observed_at,platform,shop_id,sku_id,variant,product_name,category,region_code,"
          "price_type,price,currency,reference_price,promo_start,basis_disclosed,account_cohort,device,condition,url")


def row(oid, price="99.00", observed="2024-05-08 10:00:00", **kw):
    vals = dict(observation_id=oid, observed_at=observed, platform="jd", shop_id="S1", sku_id="SKU1", variant="",
                product_name="耳机", category="electronics", region_code="310101", price_type="promo", price=price,
                currency="CNY", reference_price="129.00", promo_start="2024-05-01", basis_disclosed="true",
                account_cohort="", device="ios", condition="new", url="https://example.invalid/p/1")
    vals.update(kw)
    cells = []
    for k in HEADER.split(","):
        v = vals[k]
        cells.append('"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v)
    return ",".join(cells)


def csv_text(*rows, header=HEADER):
    return header + "\n" + "\n".join(rows) + "\n"


def ledger(con, name):
    return con.execute(
        "SELECT outcome, rows_read, rows_loaded, rows_quarantined, message FROM meta.ingestion_ledger WHERE file_name = $f",
        {"f": name},
    ).fetchall()[0]


def quarantine(con, name):
    return con.execute(
        "SELECT row_number, column_name, reason FROM meta.quarantine_rows WHERE file_name = $f ORDER BY row_number",
        {"f": name},
    ).fetchall()


def test_cyprus_real_prices_all_rows(con, home, tmp_path):
    for window, rows, last in (("online_retailers_2024-04/raw_data.csv", 30473, dt.date(2024, 5, 8)),
                               ("supermarkets_2024-12_2025-02/Supermarkets_ScrapedData.csv", 29047, dt.date(2025, 2, 13))):
        folder = home.landing_dir("price_observations", last)
        folder.mkdir(parents=True)
        assert cyprus_to_price_observations(real("cyprus_online_prices_cybpp", *window.split("/")), folder / "cybpp.csv") == rows
        report = ingest_day(con, home, last)
        (e,) = report.entries
        assert (e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined) == ("loaded", rows, rows, 0)
    accounting(con)
    # the 84 subclasses with embedded newlines survive; row numbers follow the file
    n = con.execute("SELECT count(*) FROM staging.price_observations WHERE category LIKE '%' || chr(10) || '%'").fetchall()[0][0]
    assert n >= 84
    assert con.execute("SELECT count(*) FROM staging.price_observations WHERE observation_id <> 'cybpp-' || _row").fetchall()[0][0] == 0
    assert con.execute("SELECT min(price) FROM staging.price_observations").fetchall()[0][0] > 0
    before = snapshot(con)
    assert [e.outcome for e in ingest_day(con, home, dt.date(2024, 5, 8)).entries] == ["skipped_same_file"]
    assert snapshot(con) == before


def test_values_parsed_strictly(con, home):
    land(home, "price_observations", D, "feed.csv", csv_text(
        row("o1", price="¥1,299.00"),
        row("o2", price="abc"),
        row("o3", price="0"),
        row("o4", price="￥12", basis_disclosed="是", reference_price=""),
        row("o5", price="1,2,3"),
        row("o6", price="-5"),
        row("o7", observed="2024-05-08T02:00:00+00:00", basis_disclosed="0"),
        row("o8", observed="2024-13-45 10:00:00"),
        row("o9", observed="2024-05-09 00:00:01"),
        row("o1", price="5"),
        row("o10", price_type="sale"),
        row("o11", basis_disclosed="maybe"),
        row("o12", observed="2024-05-08 09:00:00", promo_start="2024年5月1日"),
    ))
    report = ingest_day(con, home, D)
    (e,) = report.entries
    assert (e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined) == ("loaded", 13, 4, 9)
    got = dict(con.execute("SELECT observation_id, price FROM staging.price_observations").fetchall())
    assert got == {"o1": Decimal("1299.00"), "o4": Decimal("12.00"), "o7": Decimal("99.00"), "o12": Decimal("99.00")}
    assert con.execute("SELECT observed_at, basis_disclosed FROM staging.price_observations WHERE observation_id = 'o7'").fetchall() == [
        (dt.datetime(2024, 5, 8, 10, 0), False)]
    assert con.execute("SELECT promo_start FROM staging.price_observations WHERE observation_id = 'o12'").fetchall() == [(dt.date(2024, 5, 1),)]
    q = {r: (c, reason) for r, c, reason in quarantine(con, "feed.csv")}
    assert q[2][0] == "price" and '"abc" is not a number' in q[2][1]
    assert q[3][0] == "price" and "greater than 0" in q[3][1]
    assert q[5][0] == "price" and q[6][0] == "price"
    assert q[8][0] == "observed_at" and "not a timestamp" in q[8][1]
    assert q[9][0] == "observed_at" and "future" in q[9][1]
    assert q[10] == ("observation_id", "duplicate observation_id o1, first seen at row 1")
    assert q[11][0] == "price_type" and "not one of list, promo, checkout" in q[11][1]
    assert q[12][0] == "basis_disclosed"
    problems = report.problems()
    assert any("row 2, column price" in p and "abc" in p for p in problems)
    qfile = home.quarantine_dir("price_observations", D) / "feed.csv.quarantine.csv"
    text = qfile.read_text(encoding="utf-8")
    assert "abc" in text and "row_number" in text.splitlines()[0]
    accounting(con)


def test_structurally_broken_rows_keep_row_numbers(con, home):
    content = csv_text(
        row("o1"),
        "o2,2024-05-08 10:00:00,jd,S1",                      # truncated
        row("o3", product_name="two\nlines"),                # quoted newline
        row("o4") + ",extra,fields",                         # too many fields
        row("o5", price="abc"),
    )
    land(home, "price_observations", D, "broken.csv", content)
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (5, 2, 3)
    assert con.execute("SELECT observation_id, _row FROM staging.price_observations ORDER BY _row").fetchall() == [("o1", 1), ("o3", 3)]
    q = quarantine(con, "broken.csv")
    assert [r[0] for r in q] == [2, 4, 5]
    assert "fewer fields" in q[0][2] and "Found: 4" in q[0][2] and q[0][1] == "sku_id"  # last field present
    assert "more fields" in q[1][2]
    assert q[2][1] == "price"
    raw = con.execute("SELECT raw_text FROM meta.quarantine_rows WHERE row_number = 2").fetchall()[0][0]
    assert raw.startswith("o2,2024-05-08")
    accounting(con)


def test_file_level_failures_are_rejected_with_messages(con, home):
    land(home, "price_observations", D, "no_price.csv", csv_text(row("o1")).replace(",price,", ",cost,"))
    land(home, "price_observations", D, "semicolon.csv", csv_text(row("o1")).replace(",", ";"))
    land(home, "price_observations", D, "junk.csv", bytes(range(256)) * 50)
    land(home, "price_observations", D, "empty.csv", b"")
    land(home, "price_observations", D, "feed.json", '[{"observation_id": "o1"}]')
    land(home, "price_observations", D, "looks_json.csv", '[{"observation_id": "o1"}]')
    land(home, "price_observations", D, "notes.xlsx", b"PK\x03\x04")
    (home.landing_dir("price_observations", D) / "sub").mkdir()
    land(home, "price_observations", D, "good.csv", csv_text(row("o1")))
    report = ingest_day(con, home, D)
    outcomes = {e.file_name: e.outcome for e in report.entries}
    assert outcomes == {"no_price.csv": "rejected", "semicolon.csv": "rejected", "junk.csv": "rejected",
                        "empty.csv": "empty", "feed.json": "rejected", "looks_json.csv": "rejected",
                        "notes.xlsx": "ignored", "sub": "ignored", "good.csv": "loaded"}
    msgs = {e.file_name: e.message for e in report.entries}
    assert "'price'" in msgs["no_price.csv"] and "missing" in msgs["no_price.csv"]
    assert "';'" in msgs["semicolon.csv"]
    assert "binary" in msgs["junk.csv"]
    assert "JSON" in msgs["feed.json"] and "JSON" in msgs["looks_json.csv"]
    assert {e.file_name for e in report.rejected} == {"no_price.csv", "semicolon.csv", "junk.csv", "feed.json", "looks_json.csv"}
    assert any("no_price.csv" in p and "price" in p for p in report.problems())
    assert (home.quarantine_dir("price_observations", D) / "no_price.csv.quarantine.csv").exists()
    accounting(con)
    before = snapshot(con)
    report2 = ingest_day(con, home, D)
    assert snapshot(con) == before
    assert {e.file_name for e in report2.rejected} == {e.file_name for e in report.rejected}


def test_headers_by_name_encodings_delimiters(con, home):
    cols = HEADER.split(",")
    reordered = list(reversed(cols)) + ["note"]
    base = row("o1").split(",")
    values = dict(zip(cols, base))
    line = ",".join(values[c] for c in reversed(cols)) + ",额外"
    land(home, "price_observations", D, "reordered.csv", ",".join(reordered) + "\n" + line + "\n")
    land(home, "price_observations", D, "gbk.csv", csv_text(row("g1", product_name="华为耳机 降噪版")), encoding="gbk")
    land(home, "price_observations", D, "bom.csv", b"\xef\xbb\xbf" + csv_text(row("b1", product_name="小米")).encode())
    land(home, "price_observations", D, "tabs.tsv", csv_text(row("t1")).replace(",", "\t"))
    land(home, "price_observations", D, "'; DROP TABLE x; --.csv", csv_text(row("s1")))
    report = ingest_day(con, home, D)
    assert {e.file_name: (e.outcome, e.rows_loaded, e.encoding) for e in report.entries} == {
        "reordered.csv": ("loaded", 1, "utf-8"), "gbk.csv": ("loaded", 1, "gb18030"),
        "bom.csv": ("loaded", 1, "utf-8-sig"), "tabs.tsv": ("loaded", 1, "utf-8"),
        "'; DROP TABLE x; --.csv": ("loaded", 1, "utf-8")}
    names = dict(con.execute("SELECT observation_id, product_name FROM staging.price_observations").fetchall())
    assert names["g1"] == "华为耳机 降噪版" and names["b1"] == "小米" and names["o1"] == "耳机"
    # an extra column is not loaded; the landing file, the raw record, keeps it (and the GBK file reads back in UTF-8)
    (r1,) = con.execute("SELECT _row FROM staging.price_observations WHERE observation_id = 'o1'").fetchall()[0]
    shown = raw_line(home, "price_observations", D, "reordered.csv", r1, con)
    assert shown.text == line and shown.header == ",".join(reordered) and "loaded into staging" in shown.render()
    assert "华为耳机 降噪版" in raw_line(home, "price_observations", D, "gbk.csv", 1, con).text
    assert "raw" not in {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
    accounting(con)


def test_changed_file_replaces_its_rows(con, home):
    land(home, "price_observations", D, "feed.csv", csv_text(row("o1"), row("o2")))
    assert ingest_day(con, home, D).entries[0].outcome == "loaded"
    land(home, "price_observations", D, "feed.csv", csv_text(row("o1", price="88"), row("o3"), row("o4", price="x")))
    (e,) = ingest_day(con, home, D).entries
    assert (e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined) == ("replaced", 3, 2, 1)
    assert con.execute("SELECT observation_id, price FROM staging.price_observations ORDER BY 1").fetchall() == [
        ("o1", Decimal("88.00")), ("o3", Decimal("99.00"))]
    # the quarantined row's text is read back from the file that replaced the first one
    assert con.execute("SELECT raw_text FROM meta.quarantine_rows WHERE file_name = 'feed.csv'").fetchall() == [
        (row("o4", price="x"),)]
    accounting(con)
    # a changed file that is now broken: previous rows go, the ledger says rejected
    land(home, "price_observations", D, "feed.csv", "nonsense;header\n1;2\n")
    (e,) = ingest_day(con, home, D).entries
    assert e.outcome == "rejected"
    assert con.execute("SELECT count(*) FROM staging.price_observations").fetchall()[0][0] == 0
    accounting(con)


def test_quarantine_finds_bad_rows_in_every_block(con, home):
    """The quarantine pass re-checks only the blocks of rows where staging is short (load.SHORT_BLOCK): bad rows
    at block edges, two in one block, in the last partial block and a block with no good row at all are each
    quarantined once, on their own row number, and no good row is."""
    n = 5 * SHORT_BLOCK + 7
    bad = {1, SHORT_BLOCK - 1, SHORT_BLOCK, 2 * SHORT_BLOCK - 1, 2 * SHORT_BLOCK + 5, 2 * SHORT_BLOCK + 6, n}
    bad |= set(range(3 * SHORT_BLOCK, 4 * SHORT_BLOCK))  # a block with nothing staged
    rows = [row(f"o{k}", price="-1" if k in bad else "99.00") for k in range(1, n + 1)]
    land(home, "price_observations", D, "blocks.csv", csv_text(*rows))
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (n, n - len(bad), len(bad))
    got = quarantine(con, "blocks.csv")
    assert [r[0] for r in got] == sorted(bad)
    assert {r[1] for r in got} == {"price"}
    staged = {r[0] for r in con.execute("SELECT _row FROM staging.price_observations WHERE _file_name = 'blocks.csv'").fetchall()}
    assert staged == set(range(1, n + 1)) - bad
    accounting(con)


def test_a_clean_file_skips_the_quarantine_pass(con, home):
    n = 2 * SHORT_BLOCK + 1
    land(home, "price_observations", D, "clean.csv", csv_text(*(row(f"o{k}") for k in range(1, n + 1))))
    (e,) = ingest_day(con, home, D).entries
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined) == (n, n, 0)
    assert quarantine(con, "clean.csv") == []
    accounting(con)
