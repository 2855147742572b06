"""A small in-memory warehouse with one good batch in every staging table, the ledger rows that
account for it, and good candidate partitions of the marts, all for business date D."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest

D = date(2026, 3, 10)

# Two good rows per staging table, as SQL literals (column -> (row 1, row 2)).
GOOD = {
    "price_observations": {
        "observation_id": ("'o1'", "'o2'"), "observed_at": ("TIMESTAMP '2026-03-10 10:00:00'",) * 2,
        "observed_date": ("DATE '2026-03-10'",) * 2, "platform": ("'jd'",) * 2, "shop_id": ("'S1'",) * 2,
        "sku_id": ("'K1'", "'K2'"), "region_code": ("'310101'",) * 2, "price_type": ("'promo'", "'list'"),
        "price": ("99.00", "120.00"), "currency": ("'CNY'",) * 2, "reference_price": ("129.00", "NULL"),
        "promo_start": ("DATE '2026-03-09'", "NULL"), "basis_disclosed": ("false", "NULL"),
        "account_cohort": ("NULL", "'control'"),
    },
    "olist_orders": {
        "order_id": ("'A'", "'B'"), "customer_id": ("'C1'", "'C2'"), "order_status": ("'delivered'", "'shipped'"),
        "order_purchase_timestamp": ("TIMESTAMP '2026-03-10 09:00:00'",) * 2,
        "order_approved_at": ("TIMESTAMP '2026-03-10 09:10:00'", "NULL"),
        "order_delivered_customer_date": ("TIMESTAMP '2026-03-13 12:00:00'", "NULL"),
    },
    "olist_order_items": {
        "order_id": ("'A'", "'A'"), "order_item_id": ("1", "2"), "product_id": ("'K1'",) * 2,
        "seller_id": ("'S1'",) * 2, "price": ("50.00",) * 2, "freight_value": ("5.00", "0.00"),
    },
    "olist_order_reviews": {
        "review_id": ("'R1'", "'R2'"), "order_id": ("'A'", "'B'"), "review_score": ("5", "1"),
        "review_creation_date": ("TIMESTAMP '2026-03-10 00:00:00'",) * 2,
        "review_answer_timestamp": ("TIMESTAMP '2026-03-10 10:00:00'", "NULL"),
    },
    "olist_order_payments": {
        "order_id": ("'A'", "'B'"), "payment_sequential": ("1", "1"), "payment_type": ("'credit_card'", "'boleto'"),
        "payment_installments": ("1", "3"), "payment_value": ("55.00", "20.00"),
    },
    "olist_customers": {
        "customer_id": ("'C1'", "'C2'"), "customer_unique_id": ("'U1'", "'U1'"),
        "customer_zip_code_prefix": ("'01001'", "'20000'"),
    },
    "olist_sellers": {"seller_id": ("'S1'", "'S2'"), "seller_zip_code_prefix": ("'01001'", "'20000'")},
    "olist_products": {"product_id": ("'K1'", "'K2'"), "product_weight_g": ("100", "NULL")},
    "olist_category_translation": {
        "product_category_name": ("'beleza_saude'", "'pet_shop'"),
        "product_category_name_english": ("'health_beauty'", "'pet_shop'"),
    },
    "online_retail_lines": {
        "invoice_no": ("'536365'", "'C536379'"), "quantity": ("6", "-1"),
        "invoice_date": ("TIMESTAMP '2026-03-10 08:26:00'",) * 2, "unit_price": ("2.550", "27.500"),
        "is_cancellation": ("false", "true"),
    },
    "cfpb_complaints": {
        "date_received": ("DATE '2026-03-10'",) * 2, "company": ("'ACME'",) * 2,
        "date_sent_to_company": ("DATE '2026-03-10'", "NULL"), "timely": ("true", "false"),
        "complaint_id": ("'1001'", "'1002'"),
    },
    "complaints_12315": {
        "complaint_no": ("'T1'", "'T2'"), "registered_date": ("DATE '2026-03-10'",) * 2,
        "respondent_uscc": ("'91310000MA1FL0001X'",) * 2, "respondent_uscc_valid": ("true",) * 2,
        "shop_id": ("'S1'",) * 2, "region_code": ("'310101'",) * 2,
        "complaint_text": ("'虚假原价，联系电话 1**********'", "'未按约发货'"),
        "closed_date": ("DATE '2026-03-12'", "NULL"), "economic_loss_recovered_yuan": ("10.00", "NULL"),
    },
    "penalties": {
        "decision_no": ("'沪市监罚〔2026〕1号'", "'沪市监罚〔2026〕2号'"), "party_name": ("'某公司'",) * 2,
        "party_uscc": ("'91310000MA1FL0001X'",) * 2, "party_uscc_valid": ("true",) * 2,
        "decision_date": ("DATE '2026-03-10'",) * 2, "fine_amount_yuan": ("50000.00", "NULL"),
        "confiscated_amount_yuan": ("0.00", "NULL"), "header_version": ("'v2'", "'v1'"),
    },
    "abnormal_operations": {
        "uscc": ("'91310000MA1FL0001X'", "'91310000MA1FL0002X'"), "uscc_valid": ("true",) * 2,
        "listed_date": ("DATE '2026-03-10'", "DATE '2025-01-02'"), "removed_date": ("NULL", "DATE '2026-03-10'"),
    },
    "serious_violations": {
        "uscc": ("'91310000MA1FL0001X'", "'91310000MA1FL0002X'"), "uscc_valid": ("true",) * 2,
        "listed_date": ("DATE '2026-03-10'", "DATE '2025-01-02'"), "removed_date": ("NULL", "DATE '2026-03-10'"),
    },
    "quality_sampling": {
        "sampling_id": ("'CC2026-001'", "'CC2026-002'"), "product_name": ("'电热水壶'", "'儿童玩具'"),
        "sku_id": ("'K1'", "NULL"), "shop_id": ("'S1'", "NULL"), "uscc": ("'91310000MA1FL0001X'",) * 2,
        "uscc_valid": ("true",) * 2, "result": ("'不合格'", "'合格'"), "failed_items": ("'耐热性'", "NULL"),
        "published_date": ("DATE '2026-03-10'", "DATE '2026-02-20'"),
    },
    "inspection_results": {
        "task_id": ("'SJ2026-01'",) * 2, "uscc": ("'91310000MA1FL0001X'", "'91310000MA1FL0002X'"),
        "uscc_valid": ("true",) * 2, "inspection_date": ("DATE '2026-03-10'", "DATE '2026-03-09'"),
        "result": ("'未发现问题'", "'通过登记的住所(经营场所)无法联系'"),
    },
    "registry": {
        "platform": ("'jd'", "'tmall'"), "shop_id": ("'S1'", "'S2'"), "uscc": ("'91310000MA1FL0001X'",) * 2,
        "uscc_valid": ("true",) * 2, "region_code": ("'310101'", "'320100'"),
        "established_date": ("DATE '2020-01-01'",) * 2,
    },
}
SOURCE_OF = {t: ("olist" if t.startswith("olist_") else ("online_retail" if t == "online_retail_lines" else t))
             for t in GOOD}
FILE_OF = {t: (f"{t}_dataset.csv" if t.startswith("olist_") and t != "olist_category_translation"
               else ("product_category_name_translation.csv" if t == "olist_category_translation" else f"{t}.csv"))
           for t in GOOD}


def insert_good(con, table: str, file_name: str | None = None, day: date = D) -> None:
    cols = GOOD[table]
    file_name = file_name or FILE_OF[table]
    for i in range(2):
        names = list(cols) + ["_business_date", "_file_name", "_sha256", "_row"]
        values = [cols[c][i] for c in cols] + ["$d", "$f", "'0' || $f", str(i + 1)]
        sql = f'INSERT INTO staging."{table}" ({", ".join(names)}) VALUES ({", ".join(values)})'
        con.execute(sql, {"d": day, "f": file_name})
    con.execute(
        "INSERT INTO meta.ingestion_ledger VALUES ($s, $d, $f, 'abc', 100, 2, 2, 0, 'loaded', NULL, 'utf-8', now()::TIMESTAMP)",
        {"s": SOURCE_OF[table], "d": day, "f": file_name})


FLAG = {
    "flag_id": "'f1'", "indicator_id": "'price.cn_reference_7d'", "family": "'price'", "entity_type": "'promotion'",
    "entity_id": "'S1:K1:2026-03-09'", "platform": "'jd'", "shop_id": "'S1'", "uscc": "'91310000MA1FL0001X'",
    "sku_id": "'K1'", "region_code": "'310101'", "window_start": "DATE '2026-03-02'",
    "window_end": "DATE '2026-03-10'", "value": "1.3", "threshold": "1.0", "severity": "'high'",
    "evidence": "'{\"observation_ids\": [\"o1\"], \"lowest_tx_order_id\": \"A\", \"rpi\": 1.3}'",
    "policy_ref": "'明码标价和禁止价格欺诈规定 第十四条'", "pipeline_version": "'0+test'", "schema_version": "1",
}
CHECK = {
    "promotion_id": "'S1:K1:2026-03-09'", "platform": "'jd'", "shop_id": "'S1'", "uscc": "'91310000MA1FL0001X'",
    "sku_id": "'K1'", "region_code": "'310101'", "promo_start": "DATE '2026-03-09'",
    "first_seen_date": "DATE '2026-03-10'", "reference_price_shown": "129.00", "promo_price": "99.00",
    "basis_disclosed": "false", "lowest_tx_price_7d": "50.00", "tx_count_7d": "2", "last_tx_price": "50.00",
    "cn_basis_price": "50.00", "cn_basis_source": "'lowest_7d'", "implied_discount": "0.2326",
    "true_discount_cn": "-0.98", "rpi_cn": "2.58", "disc_gap_cn": "1.21", "check_status": "'checked'",
    "flag_cn_reference_7d": "true", "pipeline_version": "'0+test'", "schema_version": "1",
    # the EU 30-day columns the price engineer added to this mart
    "prior_price_30d": "120.00", "prior_price_source": "'in_window'", "announced_reduction": "0.2326",
    "eu_check_status": "'checked'", "flag_eu_prior_30d": "false",
}


def insert_mart_row(con, table: str, values: dict, day: date = D) -> None:
    names = ["dt", *values]
    sql = f'INSERT INTO work."{table}" ({", ".join(names)}) VALUES ($d, {", ".join(values.values())})'
    con.execute(sql, {"d": day})


def build_foundation_marts(con, day: date) -> None:
    """The candidate partitions of the two foundation marts, with their real schemas, computed by the
    production code (only the indicators that mart reads, so marts in progress elsewhere do not interfere)."""
    from indicators.compute import build_indicator_flags, pipeline_version, run_indicator
    from indicators.registry import load_catalogue, mart_sql
    from pipelines.core.sql import bind

    sql = mart_sql("price_reference_checks")
    used = set(re.findall(r"work\.(ind__\w+)", sql)) | {"ind__price__cn_reference_7d"}
    catalogue = [i for i in load_catalogue() if i.work_table in used]
    for ind in catalogue:
        run_indicator(con, ind, day, {})
    versions = {"pipeline_version": pipeline_version(), "schema_version": 1}
    build_indicator_flags(con, catalogue, day, versions)
    con.execute(f"CREATE OR REPLACE TABLE work.mart__price_reference_checks AS {sql}",
                bind(sql, {"run_date": day} | versions))


@pytest.fixture(scope="session")
def _good_warehouse():
    from warehouse.migrate import apply_migrations

    con = duckdb.connect(":memory:")
    apply_migrations(con)
    for table in GOOD:
        insert_good(con, table)
    build_foundation_marts(con, D)
    con.execute("DELETE FROM work.mart__indicator_flags")
    con.execute("DELETE FROM work.mart__price_reference_checks")
    insert_mart_row(con, "mart__indicator_flags", FLAG)
    insert_mart_row(con, "mart__price_reference_checks", CHECK)
    yield con
    con.close()


@pytest.fixture
def warehouse(_good_warehouse):
    """Every staging table and both foundation marts hold a good batch for D; whatever a test
    changes is rolled back."""
    _good_warehouse.execute("BEGIN TRANSACTION")
    try:
        yield _good_warehouse
    finally:
        _good_warehouse.execute("ROLLBACK")
