"""As of D, everywhere: a rerun of D after the register, penalties, lists, reviews, orders, complaints and prices
changed AFTER D gives byte-identical work tables, for every family (indicators/macros.sql)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from indicators.compute import compute_day
from tests.indicators.credit.given import uscc
from warehouse.migrate import apply_migrations

D = date(2026, 3, 10)
AFTER = "2026-03-12"
SHOPS = 6

FAMILIES = {
    "price": ("ind__price__", "mart__price_"),
    "collusion": ("ind__collusion__", "mart__collusion_screens"),
    "discrimination": ("ind__discrimination__",),
    "complaints": ("ind__complaints__", "mart__complaint_"),
    "integrity": ("ind__integrity__", "mart__marketplace_integrity"),
    "credit": ("credit__records", "mart__entity_matches", "mart__merchant_credit_tiers", "mart__inspection_sample"),
}


def _lineage(day: str) -> str:
    return f"CAST('{day}' AS DATE) AS _business_date, 'given_{day}.csv' AS _file_name, 'sha' AS _sha256"


def given_province(con) -> None:
    """Six shops of six entities over 45 days: prices of five SKUs in one region (promotions and probes on D), orders,
    customers,
    reviews, 12315 complaints, a penalty and a list entry, all loaded on or before D."""
    codes = [uscc(n) for n in range(1, SHOPS + 1)]
    con.execute("CREATE TEMP TABLE codes AS SELECT unnest(?) AS code, generate_subscripts(?, 1) AS n", [codes, codes])
    con.execute(f"""INSERT INTO staging.registry BY NAME
        SELECT 'tmall' AS platform, 'S' || n AS shop_id, '店' || n AS shop_name, code AS uscc, true AS uscc_valid,
               '公司' || n AS company_name, CASE WHEN n % 2 = 0 THEN '210100' ELSE '210200' END AS region_code,
               DATE '2020-01-01' AS established_date, {_lineage('2026-01-01')}, n AS _row
        FROM codes""")
    # prices: list prices every day for 45 days, a promotion announced on D, cohort probes on D
    con.execute("""INSERT INTO staging.price_observations BY NAME
        SELECT 'o' || s || '_' || k || '_' || d AS observation_id, (day + INTERVAL 10 HOUR) AS observed_at,
               day AS observed_date, 'tmall' AS platform, 'S' || s AS shop_id, 'K' || k AS sku_id,
               '210100' AS region_code, '食品' AS category,
               CASE WHEN d = 0 THEN 'promo' ELSE 'list' END AS price_type,
               (100 + s * 3 + k + (d * 7 + s) % 5 + CASE WHEN s = 1 AND d = 0 THEN 60 ELSE 0 END)::DECIMAL(18, 2) AS price,
               'CNY' AS currency, CASE WHEN d = 0 THEN 190 END AS reference_price,
               CASE WHEN d = 0 THEN DATE '2026-03-10' END AS promo_start, false AS basis_disclosed,
               'new' AS condition, day AS _business_date, 'prices.csv' AS _file_name, 'sha' AS _sha256,
               row_number() OVER () AS _row
        FROM range(1, 7) AS s(s), range(1, 6) AS k(k), range(0, 45) AS dd(d),
             LATERAL (SELECT DATE '2026-03-10' - CAST(d AS INTEGER) AS day)""")
    con.execute("""INSERT INTO staging.price_observations BY NAME
        SELECT 'p' || s || '_' || c || '_' || r AS observation_id,
               TIMESTAMP '2026-03-10 11:00:00' + to_minutes(CAST(r * 120 AS INTEGER)) + to_seconds(CAST(c AS INTEGER)) AS observed_at,
               DATE '2026-03-10' AS observed_date, 'tmall' AS platform, 'S' || s AS shop_id, 'K1' AS sku_id,
               '210100' AS region_code, 'checkout' AS price_type,
               (100 + CASE WHEN cohort = 'existing' AND s = 2 THEN 15 ELSE 0 END + r % 2)::DECIMAL(18, 2) AS price,
               'CNY' AS currency, cohort AS account_cohort, 'new' AS condition,
               DATE '2026-03-10' AS _business_date, 'probes.csv' AS _file_name, 'sha' AS _sha256, row_number() OVER () AS _row
        FROM range(1, 4) AS s(s), range(0, 4) AS cc(c), range(0, 4) AS rr(r),
             LATERAL (SELECT ['control', 'control', 'new', 'existing'][c + 1] AS cohort)""")
    # orders: every shop sells every day; buyers repeat; shop S3 is brushed on D by one buyer
    con.execute("""CREATE TEMP TABLE given_orders AS
        SELECT 'ord' || s || '_' || d || '_' || j AS order_id, s, d, j,
               TIMESTAMP '2026-03-10 09:00:00' - to_days(CAST(d AS INTEGER)) + to_minutes(CAST(j * 7 AS INTEGER)) AS ts,
               CASE WHEN s = 3 AND d = 0 THEN 'cust_brush_' || j ELSE 'cust_' || s || '_' || d || '_' || j END AS customer_id,
               CASE WHEN s = 3 AND d = 0 THEN 'person_brush' ELSE 'person_' || ((s * 31 + d * 7 + j) % 40) END AS person
        FROM range(1, 7) AS s(s), range(0, 30) AS dd(d), range(0, 6) AS jj(j)""")
    con.execute("""INSERT INTO staging.olist_orders BY NAME
        SELECT order_id, customer_id, 'delivered' AS order_status, ts AS order_purchase_timestamp,
               ts + INTERVAL 2 DAY AS order_delivered_customer_date, ts + INTERVAL 5 DAY AS order_estimated_delivery_date,
               CAST(ts AS DATE) AS _business_date, 'orders.csv' AS _file_name, 'sha' AS _sha256, row_number() OVER () AS _row
        FROM given_orders""")
    con.execute("""INSERT INTO staging.olist_order_items BY NAME
        SELECT order_id, 1 AS order_item_id, 'K' || (1 + j % 2) AS product_id, 'S' || s AS seller_id,
               (100 + s * 3 + CASE WHEN person LIKE 'person_1%' THEN 9 ELSE 0 END)::DECIMAL(18, 2) AS price,
               CAST(ts AS DATE) AS _business_date, 'items.csv' AS _file_name, 'sha' AS _sha256, row_number() OVER () AS _row
        FROM given_orders""")
    con.execute("""INSERT INTO staging.olist_customers BY NAME
        SELECT customer_id, person AS customer_unique_id, CAST(ts AS DATE) AS _business_date, 'customers.csv' AS _file_name,
               'sha' AS _sha256, row_number() OVER () AS _row
        FROM given_orders""")
    con.execute("""INSERT INTO staging.olist_order_reviews BY NAME
        SELECT 'rev_' || order_id AS review_id, order_id, CASE WHEN s = 4 AND d < 2 THEN 5 ELSE 1 + (j + d) % 5 END AS review_score,
               ts + INTERVAL 5 DAY AS review_creation_date,
               ts + CASE WHEN s = 5 THEN INTERVAL 2 DAY + INTERVAL 20 MINUTE ELSE INTERVAL 3 DAY END AS review_answer_timestamp,
               CAST(ts + INTERVAL 3 DAY AS DATE) AS _business_date, 'reviews.csv' AS _file_name, 'sha' AS _sha256,
               row_number() OVER () AS _row
        FROM given_orders WHERE d >= 3""")
    # complaints in the month to date; S6 surges on D
    con.execute("""INSERT INTO staging.complaints_12315 BY NAME
        SELECT 'C' || s || '_' || d || '_' || j AS complaint_no, DATE '2026-03-10' - CAST(d AS INTEGER) AS registered_date,
               'S' || s AS shop_id, '210100' AS region_code, ['质量', '价格', '售后'][1 + j % 3] AS complaint_category,
               CASE WHEN j % 2 = 0 THEN '已办结' ELSE '处理中' END AS handling_status, j % 3 <> 0 AS responded_on_time,
               DATE '2026-03-10' - CAST(d AS INTEGER) AS _business_date, 'c.csv' AS _file_name, 'sha' AS _sha256,
               row_number() OVER () AS _row
        FROM range(1, 7) AS s(s), range(0, 9) AS dd(d), range(0, CASE WHEN s = 6 AND d = 0 THEN 9 ELSE 1 END) AS jj(j)""")
    con.execute(f"""INSERT INTO staging.penalties BY NAME
        SELECT '市监罚〔2025〕1号' AS decision_no, '公司1' AS party_name, '法人' AS party_type, ? AS party_uscc,
               true AS party_uscc_valid, '虚假宣传' AS penalty_category, DATE '2025-12-01' AS decision_date,
               5000.0 AS fine_amount_yuan, '正常' AS status, {_lineage('2025-12-02')}, 1 AS _row""", [codes[0]])
    con.execute(f"""INSERT INTO staging.abnormal_operations BY NAME
        SELECT ? AS uscc, true AS uscc_valid, '公司2' AS company_name, DATE '2026-01-20' AS listed_date,
               {_lineage('2026-01-21')}, 1 AS _row""", [codes[1]])


def changed_after_d(con) -> None:
    """Everything a later day may bring: register changes, penalties, list removals, reviews, orders, complaints."""
    later = _lineage(AFTER)
    con.execute(f"""INSERT INTO staging.registry BY NAME
        SELECT platform, shop_id, shop_name || '（更名）' AS shop_name, '{uscc(99)}' AS uscc, false AS uscc_valid,
               company_name || '（更名）' AS company_name, '210300' AS region_code, DATE '2026-03-11' AS established_date,
               {later}, _row
        FROM staging.registry""")
    con.execute(f"""INSERT INTO staging.registry BY NAME
        SELECT 'tmall' AS platform, 'S9' AS shop_id, '新店' AS shop_name, ? AS uscc, true AS uscc_valid,
               '新公司' AS company_name, '210100' AS region_code, {later}, 99 AS _row""", [uscc(98)])
    con.execute(f"""INSERT INTO staging.penalties BY NAME
        SELECT decision_no, party_name, party_type, party_uscc, party_uscc_valid, penalty_category, decision_date,
               fine_amount_yuan, '已撤销' AS status, {later}, 2 AS _row FROM staging.penalties""")
    con.execute(f"""INSERT INTO staging.penalties BY NAME
        SELECT '市监罚〔2026〕9号' AS decision_no, '公司3' AS party_name, ? AS party_uscc, true AS party_uscc_valid,
               DATE '2026-03-11' AS decision_date, 90000.0 AS fine_amount_yuan, {later}, 3 AS _row""",
                [uscc(3)])
    con.execute(f"""INSERT INTO staging.abnormal_operations BY NAME
        SELECT uscc, uscc_valid, company_name, listed_date, DATE '2026-03-11' AS removed_date, {later}, 2 AS _row
        FROM staging.abnormal_operations""")
    con.execute(f"""INSERT INTO staging.serious_violations BY NAME
        SELECT ? AS uscc, true AS uscc_valid, DATE '2026-03-11' AS listed_date, {later}, 1 AS _row""", [uscc(4)])
    # reviews: a new version of an old review, and reviews answered after D
    con.execute(f"""INSERT INTO staging.olist_order_reviews BY NAME
        SELECT review_id, order_id, 6 - review_score AS review_score, review_creation_date, review_answer_timestamp,
               {later}, _row FROM staging.olist_order_reviews""")
    con.execute(f"""INSERT INTO staging.olist_order_reviews BY NAME
        SELECT 'late_' || order_id AS review_id, order_id, 5 AS review_score,
               TIMESTAMP '2026-03-11 10:00:00' AS review_answer_timestamp, {later}, _row
        FROM staging.olist_order_reviews WHERE _business_date < DATE '2026-03-12'""")
    # orders updated after D (canceled), customers merged, new orders of D loaded late, complaints updated
    con.execute(f"""INSERT INTO staging.olist_orders BY NAME
        SELECT order_id, customer_id, 'canceled' AS order_status, order_purchase_timestamp, {later}, _row
        FROM staging.olist_orders""")
    con.execute(f"""INSERT INTO staging.olist_customers BY NAME
        SELECT customer_id, 'person_merged' AS customer_unique_id, {later}, _row FROM staging.olist_customers""")
    con.execute(f"""INSERT INTO staging.olist_order_items BY NAME
        SELECT order_id, order_item_id, product_id, seller_id, price * 3 AS price, {later}, _row
        FROM staging.olist_order_items""")
    con.execute(f"""INSERT INTO staging.olist_order_payments BY NAME
        SELECT order_id, 1 AS payment_sequential, 'voucher' AS payment_type, {later}, _row
        FROM staging.olist_orders WHERE _business_date < DATE '2026-03-12'""")
    con.execute(f"""INSERT INTO staging.complaints_12315 BY NAME
        SELECT complaint_no, registered_date, 'S9' AS shop_id, '210300' AS region_code, '其他' AS complaint_category,
               '已撤销' AS handling_status, {later}, _row FROM staging.complaints_12315""")
    con.execute(f"""INSERT INTO staging.price_observations BY NAME
        SELECT observation_id || '_late' AS observation_id, observed_at, observed_date, platform, shop_id, sku_id,
               region_code, price_type, price * 0.5 AS price, currency, reference_price, promo_start, basis_disclosed,
               condition, {later}, _row FROM staging.price_observations""")


def work_tables(con) -> dict[str, list[str]]:
    """Every work table as its rows, each row's repr, sorted (byte-identical means these lists are equal)."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'work' ORDER BY 1").fetchall()]
    return {n: sorted(repr(r) for r in con.execute(f'SELECT * FROM work."{n}"').fetchall()) for n in names}  # noqa: S608 - names from the catalogue


@pytest.fixture(scope="module")
def reruns():
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    given_province(con)
    compute_day(con, D, {})
    first = work_tables(con)
    register_on_d = con.execute(f"SELECT * FROM registry_as_of(DATE '{D}') ORDER BY shop_id").fetchall()
    changed_after_d(con)
    register_after = con.execute(f"SELECT * FROM registry_as_of(DATE '{AFTER}') ORDER BY shop_id").fetchall()
    compute_day(con, D, {})
    second = work_tables(con)
    con.close()
    return first, second, register_on_d, register_after


def test_the_changes_after_d_are_real(reruns):
    _first, _second, register_on_d, register_after = reruns
    assert len(register_after) == len(register_on_d) + 1
    assert {r[6] for r in register_after} - {r[6] for r in register_on_d} == {"210300"}  # region moved


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_rerun_of_d_is_byte_identical_after_later_changes(reruns, family):
    first, second, _, _ = reruns
    tables = sorted(t for t in first if t.startswith(FAMILIES[family]))
    assert tables, f"no work table of the {family} family was computed"
    assert any(first[t] for t in tables), f"the {family} family computed nothing on the given province"
    for table in tables:
        assert second[table] == first[table], f"{table} changed after data loaded after D"
