"""Every suite: the good batch passes; a deliberately broken batch fails on the expected expectation."""

from __future__ import annotations

import pytest

from expectations.gate import run_gate
from expectations.suites import BLOCKING, WARNING, load_suites
from indicators.compute import mart_catalogue
from pipelines.ingest.catalogue import all_tables
from tests.expectations.conftest import D


def failures(con, suite: str, severity: str = BLOCKING) -> set[tuple[str, str | None]]:
    outcome = run_gate(con, D, [suite])[suite]
    return {(r.expectation, r.column_name) for r in outcome.results if not r.success and r.severity == severity}


def _named(expectation) -> str | None:
    if getattr(expectation, "column", None):
        return expectation.column
    if getattr(expectation, "column_list", None):
        return ",".join(expectation.column_list)
    if getattr(expectation, "column_A", None):
        return f"{expectation.column_A},{expectation.column_B}"
    return None


def failures_of(con, suite: str, expectation: str, column: str | None) -> set[tuple[str, str | None]]:
    """Validate only the suite's expectations of this type and column (GX costs ~30 ms per
    expectation; the whole suite on the good batch is test_good_batches_pass_every_suite)."""
    from expectations.gate import _columns_named, batch_frame, suite_context, validate_frame

    spec = load_suites()[suite]
    context = suite_context(con, spec, D)
    pairs = [(e, sev) for e, sev in spec.build(D, context)
             if e.expectation_type == expectation and _named(e) == column and sev == BLOCKING]
    assert pairs, f"{suite} has no blocking {expectation}({column})"
    df = batch_frame(con, suite, D, _columns_named(pairs))
    outcome = validate_frame(suite, df, D, context, pairs=pairs)
    return {(r.expectation, r.column_name) for r in outcome.results if not r.success}


def test_every_staging_table_and_mart_has_a_suite():
    suites = load_suites()
    for t in all_tables():
        assert f"staging.{t.table}" in suites, f"no suite for staging.{t.table}"
        assert suites[f"staging.{t.table}"].source == t.source
    for mart in mart_catalogue()["marts"]:
        assert f"mart.{mart}" in suites, f"no suite for mart {mart}"
    assert "meta.ingestion_ledger" in suites
    for spec in suites.values():  # every suite uses only the two severities and builds without context
        assert {sev for _, sev in spec.build(D, {})} <= {BLOCKING, WARNING}, spec.name


OURS = sorted({n for n in load_suites() if not n.startswith("mart.")}
              | {"mart.indicator_flags", "mart.price_reference_checks"})


def test_good_batches_pass_every_suite(warehouse):
    outcomes = run_gate(warehouse, D, OURS)
    assert len(outcomes) == len(all_tables()) + 1 + 2  # staging tables, the ledger, the two foundation marts
    assert len(all_tables()) == 18
    for name, outcome in outcomes.items():
        bad = [(r.expectation, r.column_name, r.observed_value, r.details) for r in outcome.results if not r.success]
        assert bad == [], name
        assert outcome.rows >= 1, name  # the good batch really was validated
    assert outcomes["staging.price_observations"].rows == 2


FUT = "TIMESTAMP '2026-03-11 08:00:00'"
BROKEN = [
    # (suite, SQL that breaks the batch, expected failing expectation, column)
    ("staging.price_observations", "UPDATE staging.price_observations SET observation_id = 'o1'",
     "expect_column_values_to_be_unique", "observation_id"),
    ("staging.price_observations", "UPDATE staging.price_observations SET price_type = 'flash' WHERE _row = 2",
     "expect_column_values_to_be_in_set", "price_type"),
    ("staging.price_observations", "UPDATE staging.price_observations SET price = 0 WHERE _row = 1",
     "expect_column_min_to_be_between", "price"),
    ("staging.price_observations", f"UPDATE staging.price_observations SET observed_at = {FUT} WHERE _row = 1",
     "expect_column_max_to_be_between", "observed_at"),
    ("staging.price_observations", "UPDATE staging.price_observations SET observed_date = DATE '2026-03-01'",
     "expect_column_pair_values_to_be_equal", "observed_date,_observed_day"),
    ("staging.olist_orders", "UPDATE staging.olist_orders SET order_id = 'A'",
     "expect_column_values_to_be_unique", "order_id"),
    ("staging.olist_orders", f"UPDATE staging.olist_orders SET order_purchase_timestamp = {FUT}",
     "expect_column_max_to_be_between", "order_purchase_timestamp"),
    ("staging.olist_order_items", "UPDATE staging.olist_order_items SET order_item_id = 1",
     "expect_compound_columns_to_be_unique", "order_id,order_item_id"),
    ("staging.olist_order_items", "UPDATE staging.olist_order_items SET price = 0 WHERE _row = 2",
     "expect_column_min_to_be_between", "price"),
    ("staging.olist_order_items", "UPDATE staging.olist_order_items SET freight_value = -1 WHERE _row = 2",
     "expect_column_values_to_be_between", "freight_value"),
    ("staging.olist_order_reviews", "UPDATE staging.olist_order_reviews SET review_score = 6 WHERE _row = 1",
     "expect_column_values_to_be_between", "review_score"),
    ("staging.olist_order_payments", "UPDATE staging.olist_order_payments SET payment_value = -3 WHERE _row = 1",
     "expect_column_values_to_be_between", "payment_value"),
    ("staging.olist_customers", "UPDATE staging.olist_customers SET customer_id = 'C1'",
     "expect_column_values_to_be_unique", "customer_id"),
    ("staging.olist_sellers", "UPDATE staging.olist_sellers SET seller_id = 'S1'",
     "expect_column_values_to_be_unique", "seller_id"),
    ("staging.olist_products", "UPDATE staging.olist_products SET product_id = 'K1'",
     "expect_column_values_to_be_unique", "product_id"),
    ("staging.olist_category_translation",
     "UPDATE staging.olist_category_translation SET product_category_name = 'pet_shop'",
     "expect_column_values_to_be_unique", "product_category_name"),
    ("staging.online_retail_lines", "UPDATE staging.online_retail_lines SET is_cancellation = false",
     "expect_column_pair_values_to_be_equal", "is_cancellation,_c_invoice"),
    ("staging.online_retail_lines", f"UPDATE staging.online_retail_lines SET invoice_date = {FUT} WHERE _row = 2",
     "expect_column_max_to_be_between", "invoice_date"),
    ("staging.cfpb_complaints", "UPDATE staging.cfpb_complaints SET complaint_id = '1001'",
     "expect_column_values_to_be_unique", "complaint_id"),
    ("staging.cfpb_complaints", "UPDATE staging.cfpb_complaints SET date_received = DATE '2026-03-11' WHERE _row = 1",
     "expect_column_max_to_be_between", "date_received"),
    ("staging.complaints_12315", "UPDATE staging.complaints_12315 SET complaint_no = 'T1'",
     "expect_column_values_to_be_unique", "complaint_no"),
    ("staging.complaints_12315",
     "UPDATE staging.complaints_12315 SET economic_loss_recovered_yuan = -1 WHERE _row = 1",
     "expect_column_values_to_be_between", "economic_loss_recovered_yuan"),
    ("staging.complaints_12315",
     "UPDATE staging.complaints_12315 SET complaint_text = '请回电 13812345678' WHERE _row = 2",
     "expect_column_values_to_be_null", "_complaint_text_personal_data"),
    ("staging.penalties", "UPDATE staging.penalties SET fine_amount_yuan = -5 WHERE _row = 1",
     "expect_column_values_to_be_between", "fine_amount_yuan"),
    ("staging.penalties", "UPDATE staging.penalties SET header_version = 'v9' WHERE _row = 1",
     "expect_column_values_to_be_in_set", "header_version"),
    ("staging.penalties", "UPDATE staging.penalties SET decision_date = DATE '2026-04-01' WHERE _row = 2",
     "expect_column_max_to_be_between", "decision_date"),
    ("staging.abnormal_operations",
     "UPDATE staging.abnormal_operations SET removed_date = DATE '2024-12-31' WHERE _row = 2",
     "expect_column_pair_values_a_to_be_greater_than_b", "removed_date,listed_date"),
    ("staging.serious_violations",
     "UPDATE staging.serious_violations SET listed_date = DATE '2026-03-11' WHERE _row = 1",
     "expect_column_max_to_be_between", "listed_date"),
    ("staging.quality_sampling", "UPDATE staging.quality_sampling SET result = '基本合格' WHERE _row = 2",
     "expect_column_values_to_be_in_set", "result"),
    ("staging.quality_sampling",
     "UPDATE staging.quality_sampling SET published_date = DATE '2026-03-11' WHERE _row = 1",
     "expect_column_max_to_be_between", "published_date"),
    ("staging.inspection_results",
     "UPDATE staging.inspection_results SET inspection_date = DATE '2026-03-12' WHERE _row = 2",
     "expect_column_max_to_be_between", "inspection_date"),
    ("staging.inspection_results",
     "INSERT INTO staging.inspection_results SELECT * FROM staging.inspection_results WHERE _row = 1",
     "expect_compound_columns_to_be_unique", "_file_name,_row"),
    ("staging.registry", "INSERT INTO staging.registry SELECT * FROM staging.registry WHERE _row = 1",
     "expect_compound_columns_to_be_unique", "_file_name,_row"),
    # row count below the metadata minimum for a day whose file arrived (every row lost)
    ("staging.price_observations", "DELETE FROM staging.price_observations",
     "expect_table_row_count_to_be_between", None),
    # ledger identities: loaded rows must be in staging, quarantined rows in meta.quarantine_rows
    ("meta.ingestion_ledger", "DELETE FROM staging.olist_sellers WHERE _row = 2",
     "expect_column_pair_values_to_be_equal", "rows_loaded,rows_staged"),
    ("meta.ingestion_ledger",
     "INSERT INTO meta.quarantine_rows VALUES ('registry', DATE '2026-03-10', 'registry.csv', NULL, 3, 'shop_id', 'x', 'y')",
     "expect_column_pair_values_to_be_equal", "rows_quarantined,rows_in_quarantine"),
    # marts
    ("mart.indicator_flags", "UPDATE work.mart__indicator_flags SET severity = 'urgent'",
     "expect_column_values_to_be_in_set", "severity"),
    ("mart.indicator_flags", "UPDATE work.mart__indicator_flags SET evidence = 'lowest price was 50'",
     "expect_column_values_to_be_json_parseable", "evidence"),
    ("mart.indicator_flags",
     "UPDATE work.mart__indicator_flags SET evidence = '{\"buyer_phone\": \"13812345678\"}'",
     "expect_column_values_to_be_null", "_evidence_personal_data_fields"),
    ("mart.indicator_flags",
     "UPDATE work.mart__indicator_flags SET evidence = '{\"buyer\": \"张三 zhangsan@example.com\"}'",
     "expect_column_values_to_be_null", "_evidence_personal_data_fields"),
    # an identifier field holding a bare mobile number (a buyer id that is a phone) is personal data
    ("mart.indicator_flags",
     "UPDATE work.mart__indicator_flags SET evidence = '{\"top_buyer_id\": \"13812345678\"}'",
     "expect_column_values_to_be_null", "_evidence_invalid_identifier_fields"),
    ("mart.indicator_flags", "UPDATE work.mart__indicator_flags SET window_end = DATE '2026-03-12'",
     "expect_column_values_to_be_between", "window_end"),
    ("mart.indicator_flags", "INSERT INTO work.mart__indicator_flags SELECT * FROM work.mart__indicator_flags",
     "expect_column_values_to_be_unique", "flag_id"),
    ("mart.price_reference_checks", "UPDATE work.mart__price_reference_checks SET promo_price = -1",
     "expect_column_values_to_be_between", "promo_price"),
    ("mart.price_reference_checks", "UPDATE work.mart__price_reference_checks SET check_status = 'maybe'",
     "expect_column_values_to_be_in_set", "check_status"),
]


@pytest.mark.parametrize("suite, breaking_sql, expectation, column", BROKEN,
                         ids=[f"{b[0]}-{b[2].removeprefix('expect_')}-{b[3]}" for b in BROKEN])
def test_a_broken_batch_fails_on_the_expected_expectation(warehouse, suite, breaking_sql, expectation, column):
    assert failures_of(warehouse, suite, expectation, column) == set()
    warehouse.execute(breaking_sql)
    assert failures_of(warehouse, suite, expectation, column) == {(expectation, column)}


def test_every_suite_of_this_package_has_a_broken_case():
    """Staging, ledger and the two foundation mart suites are covered here; other marts' suites are
    tested beside those marts."""
    assert set(OURS) <= {b[0] for b in BROKEN}


def test_a_source_without_a_file_that_day_passes_its_row_bounds(warehouse):
    warehouse.execute("DELETE FROM staging.price_observations")
    warehouse.execute("DELETE FROM meta.ingestion_ledger WHERE source = 'price_observations'")
    outcome = run_gate(warehouse, D, ["staging.price_observations"])["staging.price_observations"]
    assert outcome.rows == 0 and outcome.passed
    assert not any(r.expectation == "expect_table_row_count_to_be_between" and r.severity == BLOCKING
                   for r in outcome.results)  # no minimum without a file


def _row_counts(con, suite):
    outcome = run_gate(con, D, [suite])[suite]
    return {r.severity: r.success for r in outcome.results if r.expectation == "expect_table_row_count_to_be_between"}


def test_row_bounds_are_per_file_of_the_day(warehouse, monkeypatch):
    from expectations.suites import source_table
    from tests.expectations.conftest import insert_good

    table = source_table("olist", "olist_sellers")
    monkeypatch.setitem(table.row_bounds, "min", 2)
    monkeypatch.setitem(table.row_bounds, "max", 3)
    assert _row_counts(warehouse, "staging.olist_sellers") == {BLOCKING: True, WARNING: True}  # 2 rows, 1 file
    insert_good(warehouse, "olist_sellers", file_name="olist_sellers_dataset_part2.csv")
    assert _row_counts(warehouse, "staging.olist_sellers") == {BLOCKING: True, WARNING: True}  # 4 rows, 2 files
    warehouse.execute("DELETE FROM staging.olist_sellers WHERE _file_name LIKE '%part2%' AND _row = 2")
    assert _row_counts(warehouse, "staging.olist_sellers") == {BLOCKING: False, WARNING: True}  # 3 < 2 x 2
    monkeypatch.setitem(table.row_bounds, "min", 1)
    monkeypatch.setitem(table.row_bounds, "max", 1)
    assert _row_counts(warehouse, "staging.olist_sellers") == {BLOCKING: True, WARNING: False}  # 3 > 2 x 1


def test_unregistered_flagged_shop_is_a_warning_not_blocking(warehouse):
    warehouse.execute("UPDATE work.mart__indicator_flags SET shop_id = 'S404'")
    outcome = run_gate(warehouse, D, ["mart.indicator_flags"])["mart.indicator_flags"]
    assert outcome.passed
    assert [(r.expectation, r.column_name) for r in outcome.warnings] == [
        ("expect_column_values_to_be_in_set", "_shop_in_dim_merchant")]
    assert '"S404"' not in (outcome.warnings[0].observed_value or "")  # observed value is the flag, not data


def test_a_missing_candidate_table_fails_closed(warehouse):
    warehouse.execute("DROP TABLE work.mart__price_reference_checks")
    outcome = run_gate(warehouse, D, ["mart.price_reference_checks"])["mart.price_reference_checks"]
    assert not outcome.passed
    assert outcome.blocking_failures[0].expectation == "batch_readable"


def test_only_named_columns_are_taken_from_duckdb(warehouse):
    from expectations.gate import _columns_named, batch_frame

    spec = load_suites()["staging.price_observations"]
    pairs = spec.build(D, {})
    df = batch_frame(warehouse, spec.name, D, _columns_named(pairs))
    assert "url" not in df.columns and "product_name" not in df.columns
    assert {"observation_id", "price", "observed_at", "_observed_day"} <= set(df.columns)
    assert len(df) == 2


def test_nullable_columns_may_be_all_null(warehouse):
    warehouse.execute("UPDATE staging.price_observations SET reference_price = NULL, promo_start = NULL")
    warehouse.execute("UPDATE staging.registry SET established_date = NULL")
    for suite in ("staging.price_observations", "staging.registry"):
        outcome = run_gate(warehouse, D, [suite])[suite]
        assert [r for r in outcome.results if not r.success] == [], suite


def test_a_row_condition_keeps_every_column(warehouse):
    import great_expectations.expectations as gxe

    from expectations.gate import _columns_named

    pairs = [(gxe.ExpectColumnValuesToBeNull(column="reference_price", row_condition='price_type == "list"',
                                             condition_parser="pandas"), BLOCKING)]
    assert _columns_named(pairs) is None
