"""The marketplace_integrity mart: built from the four integrity work tables, documented columns, gated."""

from __future__ import annotations

from datetime import date

from expectations.gate import validate_frame
from indicators.compute import compute_day, mart_catalogue
from tests.indicators.integrity.given import merchant, order, review

RUN = date(2026, 11, 10)


def test_mart_columns_match_the_data_dictionary_and_pass_the_gate(mem_warehouse):
    con = mem_warehouse
    merchant(con, "S1")
    for m in (0, 10, 20):
        o = order(con, "S1", f"2026-11-10 09:{m:02d}:00", "u1", delivered_at="2026-11-10 12:00:00")
        review(con, o, 5, "2026-11-10 12:05:00")
    order(con, "S2", "2026-11-10 10:00:00", "u2")
    compute_day(con, RUN)
    df = con.sql("SELECT * FROM work.mart__marketplace_integrity ORDER BY shop_id").df()
    spec = mart_catalogue()["marts"]["marketplace_integrity"]
    assert list(df.columns) == ["dt", *spec["columns"]]
    assert list(df["shop_id"]) == ["S1", "S2"]
    s1 = df.iloc[0]
    assert s1["flag_concentrate_rate"] and s1["concentrate_rate"] == 3.0 and s1["five_star_reviews"] == 3
    assert df["platform"].tolist() == ["tmall", "olist"]  # an unregistered seller is an Olist seller
    outcome = validate_frame("mart.marketplace_integrity", df, RUN)
    assert len(outcome.results) >= 10 and outcome.blocking_failures == []
    flags = con.sql("SELECT indicator_id, entity_id FROM work.mart__indicator_flags").fetchall()
    assert flags == [("integrity.concentrate_rate", "S1")]
    broken = df.copy()
    broken.loc[1, "shop_id"] = "S1"
    failed = validate_frame("mart.marketplace_integrity", broken, RUN).blocking_failures
    assert [(f.expectation, f.column_name) for f in failed] == [("expect_column_values_to_be_unique", "shop_id")]
