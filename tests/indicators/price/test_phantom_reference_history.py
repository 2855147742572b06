"""Issue 20: where the history is shorter than price.phantom_reference needs (72 of 90 days), the mart and the
bulletin say so ("insufficient history: 60 of 72 days") instead of staying silent.

The case: a feed 60 days old; a listing showing a never-traded 原价 on every one of the 60 days was not reported
at all."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
from markupsafe import Markup

from indicators.compute import compute_day, mart_catalogue
from pipelines.core.home import Home
from pipelines.core.sql import quote_ident
from pipelines.publish.parquet import publish_partition
from pipelines.serve.bulletin import coverage
from tests.indicators.given import merchant, observation, trade
from tests.indicators.price._run import days, indicator, rows
from warehouse.migrate import apply_migrations

RUN = date(2026, 11, 10)


def shown(con, shop, sku, n_days, every=1, start=None):
    """A strike-through 原价 of 160 over a promo price of 100 on every `every`-th day of the n_days to RUN (RUN
    included); a list price of 100 on the other days (the listing is observed daily)."""
    start = start or RUN - timedelta(days=n_days - 1)
    for k, d in enumerate(days(start, n_days)):
        if (n_days - 1 - k) % every == 0:
            observation(con, d.isoformat(), shop, sku, 100, reference_price=160, promo_start=str(start),
                        basis_disclosed=True)
        else:
            observation(con, d.isoformat(), shop, sku, 100, price_type="list")


def young_feed(con):
    merchant(con, "S1")
    shown(con, "S1", "K1", 60)                 # a never-traded 原价 on every one of the feed's 60 days
    trade(con, "2026-10-01 10:00:00", "S1", "K1", 100)
    shown(con, "S2", "K2", 60, every=3)        # shown on 20 of 60 days: not the pattern
    shown(con, "S3", "K3", 60)                 # shown every day, but it did sell at the reference
    trade(con, "2026-10-02 10:00:00", "S3", "K3", 160)


def test_a_feed_of_60_days_reports_insufficient_history_not_silence(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.phantom_reference")
    young_feed(con)
    out = {r["shop_id"]: r for r in rows(con, ind, RUN)}
    s1 = out["S1"]
    assert s1["days_shown"] == 60 and s1["trades_at_or_above"] == 0
    assert not s1["flagged"]                                       # the rule needs 72 days: not a lead ...
    assert s1["history_status"] == "insufficient_history"          # ... but not silence either
    assert (s1["history_days"], s1["history_required_days"]) == (60, 72)
    assert out["S2"]["history_status"] == "short_history" and out["S2"]["history_days"] == 60
    assert out["S3"]["history_status"] == "short_history"          # traded at the reference
    assert not any(r["flagged"] for r in out.values())


def test_a_full_history_is_checked_and_flagged_by_the_rule(mem_warehouse):
    con, ind = mem_warehouse, indicator("price.phantom_reference")
    shown(con, "S1", "K1", 90)
    [row] = rows(con, ind, RUN)
    assert row["flagged"] and row["history_status"] == "checked" and row["history_days"] == 90


def test_the_mart_says_insufficient_history_and_the_bulletin_counts_it(tmp_path):
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    young_feed(con)
    compute_day(con, RUN)
    spec = mart_catalogue()["marts"]["price_anomalies"]
    assert spec["schema_version"] >= 3
    got = con.execute(
        "SELECT listing_id, reference_history_status, reference_history_days, reference_history_required_days,"
        " flag_phantom_reference FROM work.mart__price_anomalies ORDER BY listing_id").fetchall()
    assert ("S1:K1", "insufficient_history", 60, 72, False) in got
    assert {r[1] for r in got} == {"insufficient_history", "short_history"}   # every listing shows a 原价 today

    home = Home(tmp_path / "home").ensure()
    table = con.sql(f"SELECT * FROM work.{quote_ident('mart__price_anomalies')}").to_arrow_table()
    publish_partition(home.mart_dir("price_anomalies"), RUN, table)
    [note] = coverage.insufficient_history(con, home, RUN)
    assert note["indicator_id"] == "price.phantom_reference" and note["rows"] == 1
    assert (note["shortest"], note["longest"], note["required"]) == (60, 60, 72)
    html = str(coverage.note_html([note]))
    assert "insufficient history: 60 of 72 days" in html and "历史不足（60/72 天）" in html
    page = "<html><body><h1>t</h1><h2>重点线索 x</h2></body></html>"
    with_note = coverage.with_history_note(page, con, home, RUN)
    assert with_note.index('id="insufficient-history"') < with_note.index("<h2>重点线索")
    assert coverage.with_history_note(page, con, home, RUN - timedelta(days=1)) == page   # no partition: no note
    con.close()


def test_the_note_is_empty_without_insufficient_history():
    assert coverage.note_html([]) == Markup("")


def test_every_history_status_column_of_a_mart_is_counted_by_the_note():
    """A mart column `<stem>_history_status` is an indicator reporting insufficient history: the note lists it."""
    declared = {(c.mart, f"{c.stem}_status") for c in coverage.HISTORY_CHECKS}
    found = {(mart, col) for mart, spec in mart_catalogue()["marts"].items() for col in spec["columns"]
             if col.endswith("history_status")}
    assert found and found == declared
    for c in coverage.HISTORY_CHECKS:
        cols = mart_catalogue()["marts"][c.mart]["columns"]
        assert {f"{c.stem}_days", f"{c.stem}_required_days"} <= set(cols)
        labels = mart_catalogue()["marts"][c.mart]["value_labels"][f"{c.stem}_status"]
        assert coverage.INSUFFICIENT in labels
