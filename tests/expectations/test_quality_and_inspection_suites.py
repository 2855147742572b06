"""The two sources of issue 22: what their suites warn about (the blocking checks are in test_suites.py)."""

from __future__ import annotations

from expectations.gate import run_gate
from expectations.suites import BLOCKING, WARNING
from tests.expectations.conftest import D


def failed(con, suite: str) -> dict[tuple[str, str | None], str]:
    outcome = run_gate(con, D, [suite])[suite]
    return {(r.expectation, r.column_name): r.severity for r in outcome.results if not r.success}


def test_a_failed_sample_without_failed_items_is_a_warning(warehouse):
    assert failed(warehouse, "staging.quality_sampling") == {}
    # a pass without failed items is normal; a fail without them is what gets warned about
    warehouse.execute("UPDATE staging.quality_sampling SET failed_items = NULL")
    assert failed(warehouse, "staging.quality_sampling") == {
        ("expect_column_values_to_not_be_null", "failed_items"): WARNING}


def test_an_unfamiliar_inspection_result_is_a_warning_and_bracket_width_does_not_matter(warehouse):
    # the good batch spells 无法联系 with half-width brackets; the published wording uses full-width ones
    warehouse.execute("UPDATE staging.inspection_results SET result = '通过登记的住所（经营场所）无法联系' "
                      "WHERE _row = 2")
    assert failed(warehouse, "staging.inspection_results") == {}
    warehouse.execute("UPDATE staging.inspection_results SET result = '基本合格' WHERE _row = 1")
    assert failed(warehouse, "staging.inspection_results") == {
        ("expect_column_values_to_be_in_set", "_result_wording"): WARNING}


def test_an_inspection_dated_after_the_run_date_blocks(warehouse):
    warehouse.execute("UPDATE staging.inspection_results SET inspection_date = DATE '2026-03-11' WHERE _row = 1")
    assert failed(warehouse, "staging.inspection_results") == {
        ("expect_column_max_to_be_between", "inspection_date"): BLOCKING}


def test_every_known_inspection_result_has_a_class_in_the_followup_mart(warehouse):
    """The suite's list of wordings and the class the follow-up mart and the tiers give a result
    (indicators/macros.sql inspection_result_class) agree: a known wording is never 'other'."""
    from expectations.suites.staging_inspection_results import KNOWN_RESULTS
    from indicators.compute import create_macros

    create_macros(warehouse)
    for wording in KNOWN_RESULTS:
        full_width = wording.replace("(", "（").replace(")", "）")
        classes = warehouse.execute("SELECT inspection_result_class($a), inspection_result_class($b)",
                                    {"a": wording, "b": full_width}).fetchall()[0]
        assert classes[0] == classes[1] and classes[0] in ("pass", "fail", "unreachable", "no_activity"), wording
