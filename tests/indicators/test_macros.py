"""Given/expect tests of the shared as-of table macros (indicators/macros.sql): each reads only rows loaded by D,
with its event date by D, and keeps the latest such version of each key."""

from __future__ import annotations

import pytest

from tests.indicators.given import macros, merchant, staged

D = "2026-03-10"
BEFORE, AFTER = "2026-03-09", "2026-03-11"


@pytest.fixture
def con(mem_warehouse):
    macros(mem_warehouse)
    return mem_warehouse


def rows(con, sql):
    return con.execute(sql).fetchall()


def test_registry_as_of_is_the_latest_row_loaded_by_d(con):
    merchant(con, "S1", region_code="210100", shop_name="甲店", day=BEFORE)
    merchant(con, "S1", region_code="210200", shop_name="甲店（新）", day=AFTER)  # a change after D
    merchant(con, "S2", day=AFTER)  # registered after D: unknown on D
    assert rows(con, f"SELECT shop_id, shop_name, region_code FROM registry_as_of(DATE '{D}')") == [
        ("S1", "甲店", "210100")]
    assert rows(con, f"SELECT shop_id, region_code FROM registry_as_of(DATE '{AFTER}') ORDER BY 1") == [
        ("S1", "210200"), ("S2", "210100")]


def test_registry_versions_of_one_day_are_ordered_by_file_then_row(con):
    staged(con, "registry", D, file_name="registry_b.csv", platform="tmall", shop_id="S1", region_code="B")
    staged(con, "registry", D, file_name="registry_a.csv", platform="tmall", shop_id="S1", region_code="A")
    assert rows(con, f"SELECT region_code FROM registry_as_of(DATE '{D}')") == [("B",)]


def test_dim_merchant_as_of_has_the_view_columns_and_matches_it_when_nothing_changed_later(con):
    merchant(con, "S1", day=BEFORE)
    merchant(con, "S2", uscc="91210100MA0TEST01X", day=D)
    view = con.execute("SELECT * FROM staging.dim_merchant ORDER BY shop_id")
    view_cols = [c[0] for c in view.description]
    view_rows = view.fetchall()
    macro = con.execute(f"SELECT * FROM dim_merchant_as_of(DATE '{D}') ORDER BY shop_id")
    assert [c[0] for c in macro.description] == view_cols
    assert macro.fetchall() == view_rows
    merchant(con, "S1", uscc="91210100MA0TEST02X", day=AFTER)  # the view moves, D does not
    assert rows(con, f"SELECT uscc FROM dim_merchant_as_of(DATE '{D}') WHERE shop_id = 'S1'") == [
        ("91210100MA0TEST00X",)]
    assert rows(con, "SELECT uscc FROM staging.dim_merchant WHERE shop_id = 'S1'") == [("91210100MA0TEST02X",)]


def order(con, day, order_id, status, purchased=f"{BEFORE} 10:00:00", file_name="orders.csv"):
    staged(con, "olist_orders", day, file_name=file_name, order_id=order_id, order_status=status,
           order_purchase_timestamp=purchased, customer_id="c1")


def test_orders_as_of_keeps_the_latest_version_loaded_by_d(con):
    order(con, BEFORE, "O1", "processing")
    order(con, D, "O1", "delivered")
    order(con, AFTER, "O1", "canceled")  # an update after D
    order(con, D, "O2", "delivered", purchased=f"{AFTER} 09:00:00")  # purchased after D: not an order of D
    assert rows(con, f"SELECT order_id, order_status FROM orders_as_of(DATE '{D}')") == [("O1", "delivered")]
    assert rows(con, f"SELECT order_status FROM orders_as_of(DATE '{BEFORE}')") == [("processing",)]


def test_orders_as_of_window_bounds_are_applied_to_the_purchase_time(con):
    order(con, D, "O1", "delivered", purchased=f"{BEFORE} 23:59:59")
    order(con, D, "O2", "delivered", purchased=f"{D} 00:00:00")
    assert rows(con, f"SELECT order_id FROM orders_as_of(DATE '{D}', purchased_from := DATE '{D}')") == [("O2",)]
    assert rows(con, f"SELECT order_id FROM orders_as_of(DATE '{D}', purchased_before := DATE '{D}')") == [("O1",)]


@pytest.mark.parametrize(("macro", "table", "key", "column", "other"), [
    ("order_payments_as_of", "olist_order_payments", {"order_id": "O1", "payment_sequential": 1},
     "payment_type", {}),
    ("customers_as_of", "olist_customers", {"customer_id": "c1"}, "customer_unique_id", {}),
    ("products_as_of", "olist_products", {"product_id": "K1"}, "product_category_name", {}),
    ("abnormal_operations_as_of", "abnormal_operations", {"uscc": "91210100MA0TEST00X", "listed_date": BEFORE},
     "removed_date", {}),
    ("serious_violations_as_of", "serious_violations", {"uscc": "91210100MA0TEST00X", "listed_date": BEFORE},
     "removed_date", {}),
])
def test_keyed_source_as_of_is_the_latest_version_loaded_by_d(con, macro, table, key, column, other):
    values = {"price": ("1.00", "2.00", "3.00"), "payment_type": ("credit_card", "voucher", "boleto"),
              "customer_unique_id": ("p1", "p2", "p3"), "product_category_name": ("a", "b", "c"),
              "removed_date": (None, BEFORE, D)}[column]
    for day, value in zip((BEFORE, D, AFTER), values):
        staged(con, table, day, **key, **other, **{column: value})
    first = next(iter(key))
    staged(con, table, AFTER, **{**key, first: key[first] + "X"}, **other, **{column: values[0]})  # a new key after D
    got = rows(con, f"SELECT {column}::VARCHAR FROM {macro}(DATE '{D}')")
    assert got == [(values[1],)]


def test_order_items_as_of_are_the_lines_loaded_by_d(con):
    for day, line in ((BEFORE, 1), (D, 2), (AFTER, 3)):
        staged(con, "olist_order_items", day, order_id="O1", order_item_id=line, product_id="K1", seller_id="S1", price=1)
    assert rows(con, f"SELECT order_item_id FROM order_items_as_of(DATE '{D}') ORDER BY 1") == [(1,), (2,)]


def test_reviews_as_of_latest_version_answered_and_loaded_by_d(con):
    staged(con, "olist_order_reviews", BEFORE, review_id="R1", order_id="O1", review_score=1,
           review_answer_timestamp=f"{BEFORE} 08:00:00")
    staged(con, "olist_order_reviews", D, review_id="R1", order_id="O1", review_score=5,
           review_answer_timestamp=f"{BEFORE} 08:00:00")
    staged(con, "olist_order_reviews", AFTER, review_id="R1", order_id="O1", review_score=3,
           review_answer_timestamp=f"{BEFORE} 08:00:00")
    staged(con, "olist_order_reviews", D, review_id="R2", order_id="O2", review_score=5,
           review_answer_timestamp=f"{AFTER} 08:00:00")  # answered after D
    assert rows(con, f"SELECT review_id, review_score FROM reviews_as_of(DATE '{D}')") == [("R1", 5)]
    assert rows(con, f"SELECT count(*) FROM reviews_as_of(DATE '{D}', answered_from := DATE '{D}')") == [(0,)]


def test_price_observations_as_of_observed_and_loaded_by_d(con):
    def obs(oid, observed, loaded):
        staged(con, "price_observations", loaded, observation_id=oid, observed_at=f"{observed} 10:00:00",
               observed_date=observed, platform="tmall", shop_id="S1", sku_id="K1", price_type="list", price=10)
    obs("o1", BEFORE, BEFORE)
    obs("o2", BEFORE, AFTER)  # a late file: delivered after D
    obs("o3", AFTER, D)  # dated after D
    obs("o4", D, D)
    assert rows(con, f"SELECT observation_id FROM price_observations_as_of(DATE '{D}') ORDER BY 1") == [
        ("o1",), ("o4",)]


def test_complaints_as_of_latest_version_registered_and_loaded_by_d(con):
    staged(con, "complaints_12315", BEFORE, complaint_no="C1", registered_date=BEFORE, handling_status="处理中")
    staged(con, "complaints_12315", D, complaint_no="C1", registered_date=BEFORE, handling_status="已办结")
    staged(con, "complaints_12315", AFTER, complaint_no="C1", registered_date=BEFORE, handling_status="已撤销")
    staged(con, "complaints_12315", D, complaint_no="C2", registered_date=AFTER)
    assert rows(con, f"SELECT complaint_no, handling_status FROM complaints_12315_as_of(DATE '{D}')") == [
        ("C1", "已办结")]
    staged(con, "cfpb_complaints", D, complaint_id="1", company="X", date_received=BEFORE, company_response="In progress")
    staged(con, "cfpb_complaints", AFTER, complaint_id="1", company="X", date_received=BEFORE,
           company_response="Closed with explanation")
    staged(con, "cfpb_complaints", D, complaint_id="2", company="X", date_received=AFTER)
    assert rows(con, f"SELECT complaint_id, company_response FROM cfpb_complaints_as_of(DATE '{D}')") == [
        ("1", "In progress")]


def test_penalties_as_of_orders_one_days_versions_by_data_updated_at(con):
    def penalty(loaded, status, updated, file_name="p.csv"):
        staged(con, "penalties", loaded, file_name=file_name, decision_no="决定1", party_name="某公司",
               decision_date=BEFORE, status=status, data_updated_at=updated)
    penalty(D, "正常", "2026-03-10 12:00:00", file_name="p_z.csv")
    penalty(D, "撤销", "2026-03-10 18:00:00", file_name="p_a.csv")  # same day, updated later: wins over the file name
    penalty(AFTER, "正常", None)
    assert rows(con, f"SELECT status FROM penalties_as_of(DATE '{D}')") == [("撤销",)]
    assert rows(con, f"SELECT count(*) FROM penalties_as_of(DATE '{BEFORE}')") == [(0,)]
