"""Real files: Olist sample (+ full sellers), UCI Online Retail, CFPB (CSV and JSON), Shanghai USCC."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from pipelines.ingest import ingest_day
from pipelines.serve.raw_line import raw_line
from tests.ingest.conftest import accounting, land, real, snapshot

OLIST_COUNTS = {
    "olist_orders_dataset.csv": ("olist_orders", 4000),
    "olist_order_items_dataset.csv": ("olist_order_items", 4519),
    "olist_order_payments_dataset.csv": ("olist_order_payments", 4161),
    "olist_order_reviews_dataset.csv": ("olist_order_reviews", 3986),
    "olist_customers_dataset.csv": ("olist_customers", 4000),
    "olist_products_dataset.csv": ("olist_products", 3132),
    "product_category_name_translation.csv": ("olist_category_translation", 71),
    "olist_sellers_dataset.csv": ("olist_sellers", 3095),
}


def test_olist_real_sample(con, home):
    d = dt.date(2018, 9, 1)
    folder = home.landing_dir("olist", d)
    folder.mkdir(parents=True)
    for f in real("olist_brazilian_ecommerce", "sample_4000_orders").iterdir():
        shutil.copy(f, folder / f.name)
    shutil.copy(real("olist_brazilian_ecommerce", "full_small_tables", "olist_sellers_dataset.csv"), folder)
    report = ingest_day(con, home, d)
    got = {e.file_name: (e.table, e.rows_loaded, e.rows_quarantined) for e in report.entries}
    assert got == {f: (t, n, 0) for f, (t, n) in OLIST_COUNTS.items()}
    assert report.problems() == [] and report.rejected == []
    accounting(con)
    # quirks survive: leading zeros, empty = NULL, embedded newlines in reviews, all sellers resolve
    assert con.execute("SELECT count(*) FROM staging.olist_orders WHERE order_approved_at IS NULL").fetchall()[0][0] == 6
    assert con.execute("SELECT count(*) FROM staging.olist_customers WHERE customer_zip_code_prefix LIKE '0%'").fetchall()[0][0] > 0
    assert con.execute("SELECT count(DISTINCT customer_unique_id) FROM staging.olist_customers").fetchall()[0][0] == 3998
    assert con.execute(
        "SELECT count(*) FROM staging.olist_order_items i ANTI JOIN staging.olist_sellers s USING (seller_id)"
    ).fetchall()[0][0] == 0
    assert con.execute(
        "SELECT review_score, count(*) FROM staging.olist_order_reviews GROUP BY 1 ORDER BY 1"
    ).fetchall() == [(1, 454), (2, 137), (3, 337), (4, 765), (5, 2293)]
    assert con.execute("SELECT min(price), max(price) FROM staging.olist_order_items").fetchall()[0] == (
        __import__("decimal").Decimal("1.20"), __import__("decimal").Decimal("4059.00"))
    before = snapshot(con)
    assert {e.outcome for e in ingest_day(con, home, d).entries} == {"skipped_same_file"}
    assert snapshot(con) == before


def test_olist_review_key_is_review_and_order(con, home):
    d = dt.date(2018, 9, 1)
    head = "review_id,order_id,review_score,review_comment_title,review_comment_message,review_creation_date,review_answer_timestamp\n"
    body = ("r1,o1,5,,ok 13800138000,2018-08-01 00:00:00,2018-08-02 10:00:00\n"
            "r1,o2,5,,ok,2018-08-01 00:00:00,2018-08-02 10:00:00\n"
            "r1,o1,4,,again,2018-08-01 00:00:00,2018-08-02 10:00:00\n")
    land(home, "olist", d, "olist_order_reviews_dataset.csv", head + body)
    land(home, "olist", d, "olist_geolocation_dataset.csv", "a,b\n1,2\n")
    report = ingest_day(con, home, d)
    e = {x.file_name: x for x in report.entries}
    r = e["olist_order_reviews_dataset.csv"]
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 2, 1)
    assert e["olist_geolocation_dataset.csv"].outcome == "ignored"
    assert con.execute("SELECT reason FROM meta.quarantine_rows").fetchall() == [
        ("duplicate review_id, order_id r1, o1, first seen at row 1",)]
    assert con.execute("SELECT review_comment_message FROM staging.olist_order_reviews WHERE order_id='o1'").fetchall() == [("ok [手机号]",)]
    accounting(con)


def test_online_retail_real_and_version_ii(con, home):
    d = dt.date(2011, 12, 31)
    folder = home.landing_dir("online_retail", d)
    folder.mkdir(parents=True)
    shutil.copy(real("uci_online_retail", "online_retail_sample.csv"), folder)
    land(home, "online_retail", d, "online_retail_ii.csv",
         "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
         "C489449,22087,PAPER BUNTING WHITE LACE,-12,2009-12-01 10:33:00,2.95,16321.0,Australia\n"
         "489450,21871,SAVE THE PLANET MUG,24,2009-12-01 10:34:00,1.25,,United Kingdom\n")
    report = ingest_day(con, home, d)
    got = {e.file_name: (e.rows_read, e.rows_loaded, e.rows_quarantined) for e in report.entries}
    assert got == {"online_retail_sample.csv": (20000, 20000, 0), "online_retail_ii.csv": (2, 2, 0)}
    rows = con.execute("SELECT count(*) FILTER (WHERE customer_id IS NULL), count(*) FILTER (WHERE quantity < 0), "
                       "count(*) FILTER (WHERE is_cancellation) FROM staging.online_retail_lines "
                       "WHERE _file_name = 'online_retail_sample.csv'").fetchall()[0]
    assert rows == (5078, 398, 350)
    assert con.execute("SELECT customer_id, is_cancellation FROM staging.online_retail_lines WHERE invoice_no = 'C489449'").fetchall() == [("16321", True)]
    accounting(con)


def test_cfpb_real_csv_15_columns_and_json(con, home, tmp_path):
    d = dt.date(2020, 3, 31)
    lines = real("cfpb_consumer_complaints", "complaints_sample.csv").read_bytes().split(b"\n", 2)
    land(home, "cfpb_complaints", d, "complaints.csv", lines[2])  # the first two lines are unzip output
    report = ingest_day(con, home, d)
    (e,) = report.entries
    assert (e.outcome, e.rows_read, e.rows_loaded, e.rows_quarantined) == ("loaded", 6623, 6623, 0)
    assert con.execute("SELECT count(*) FILTER (WHERE timely), count(*) FILTER (WHERE NOT timely), "
                       "count(complaint_what_happened) FROM staging.cfpb_complaints").fetchall()[0] == (6529, 94, 1532)
    # narratives keep CFPB redactions, raw keeps them too
    assert con.execute("SELECT count(*) FROM staging.cfpb_complaints WHERE complaint_what_happened LIKE '%XXXX%'").fetchall()[0][0] > 0
    # the 15-column file (no narrative, consent, disputed)
    d2 = dt.date(2020, 4, 1)
    head15 = ("Date received,Product,Sub-product,Issue,Sub-issue,Company public response,Company,State,ZIP code,Tags,"
              "Submitted via,Date sent to company,Company response to consumer,Timely response?,Complaint ID\n")
    land(home, "cfpb_complaints", d2, "complaints15.csv",
         head15 + "2020-04-01,Mortgage,,Trouble,,,BANK X,CA,90210,,Web,2020-04-01,In progress,Yes,9000001\n")
    land(home, "cfpb_complaints", d2, "complaints.json", json.dumps([
        {"date_received": "2020-03-30T12:00:00-05:00", "product": "Credit card", "issue": "Fees", "company": "BANK Y",
         "complaint_what_happened": "call me 13800138000", "timely": "Yes", "complaint_id": 9000002,
         "tags": None, "has_narrative": True},
        {"date_received": "2020-04-02", "product": "Credit card", "issue": "Fees", "company": "BANK Y", "complaint_id": 9000003},
    ]))
    got = {e.file_name: (e.outcome, e.rows_loaded, e.rows_quarantined) for e in ingest_day(con, home, d2).entries}
    assert got == {"complaints15.csv": ("loaded", 1, 0), "complaints.json": ("loaded", 1, 1)}
    assert con.execute("SELECT date_received, complaint_what_happened FROM staging.cfpb_complaints WHERE complaint_id = '9000002'").fetchall() == [
        (dt.date(2020, 3, 30), "call me [手机号]")]
    assert "future" in con.execute("SELECT reason FROM meta.quarantine_rows WHERE file_name = 'complaints.json'").fetchall()[0][0]
    # a JSON record reads back from its landing file as the object (with its extra key); no text copy in the warehouse
    (r,) = con.execute("SELECT _row FROM staging.cfpb_complaints WHERE complaint_id = '9000002'").fetchall()[0]
    shown = raw_line(home, "cfpb_complaints", d2, "complaints.json", r, con).text
    assert '"has_narrative":true' in shown and "13800138000" in shown
    accounting(con)
