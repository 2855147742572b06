"""Given/expect tests of competition.exclusive_dealing (二选一): multi-homing merchants leaving every platform but one
within 14 days and staying away, counted per kept platform x month against the other platforms and its own past.

The given market: merchants (one USCC each) with one shop per platform, each shop's listing observed every day
of its presence, bulk-inserted in SQL."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import pytest

from indicators import lineage
from pipelines.core import privacy
from tests.indicators.given import macros
from tests.indicators.price._run import indicator, rows

ID = "competition.exclusive_dealing"
START = date(2025, 9, 1)          # the feed's first day
D = date(2026, 4, 5)              # the run date
EXIT = date(2026, 3, 5)           # the planted exits' first day away
_seq = itertools.count(1)


def uscc(m: int) -> str:
    return f"9121010{m:04d}TEST{m:03d}X"[:18]


def merchant(con, m: int, platforms: dict[str, tuple[date, date]], loaded: date = START):
    """Merchant m with a shop on each platform, its listing observed every day of [first, last] there."""
    for platform, (first, last) in platforms.items():
        shop = f"{platform.upper()}{m:05d}"
        con.execute(
            "INSERT INTO staging.registry (platform, shop_id, uscc, uscc_valid, region_code, _business_date,"
            " _file_name, _sha256, _row) VALUES (?, ?, ?, true, '210100', ?, 'given.csv', 'sha', ?)",
            [platform, shop, uscc(m), loaded, next(_seq)])
        con.execute(
            "INSERT INTO staging.price_observations BY NAME"
            " SELECT $shop || '-' || d::VARCHAR AS observation_id, d::TIMESTAMP + INTERVAL 10 HOUR AS observed_at,"
            " d AS observed_date, $platform AS platform, $shop AS shop_id, 'K1' AS sku_id, 'list' AS price_type,"
            " 10 AS price, d AS _business_date, 'prices.csv' AS _file_name, 'sha' AS _sha256, 1 AS _row"
            " FROM (SELECT CAST(g AS DATE) AS d FROM generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY) t(g))",
            {"shop": shop, "platform": platform, "first": first, "last": last})


ALWAYS = (START, D)


def market(con, n: int = 30, first: int = 0):
    """n merchants on tmall and jd the whole time (no exit)."""
    for m in range(first, first + n):
        merchant(con, m, {"tmall": ALWAYS, "jd": ALWAYS})


def leave_jd(con, ms, exit_day: date = EXIT, closes: date | None = None):
    """Merchants that drop jd on exit_day (last day on jd the day before) and keep tmall (until `closes`)."""
    for m in ms:
        merchant(con, m, {"tmall": (START, closes or D), "jd": (START, exit_day - timedelta(days=1))})


def run(con, run_date=D, overrides=None):
    return {r["entity_id"]: r for r in rows(con, indicator(ID), run_date, {ID: overrides} if overrides else None)}


def test_exits_concentrated_on_the_kept_platform_are_a_lead(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    leave_jd(con, range(6))
    found = run(con)
    assert list(found) == ["tmall:2026-03"]
    row = found["tmall:2026-03"]
    assert row["flagged"] and row["entity_type"] == "platform" and row["platform"] == "tmall"
    assert row["shop_id"] is None and row["uscc"] is None and row["sku_id"] is None
    assert row["window_start"] == row["window_end"] == EXIT
    assert row["exits"] == 6 and row["multihoming_merchants"] == 30
    # no other platform drew an exit and tmall had none before: expected = 30 x min_rate
    assert row["expected"] == pytest.approx(30 * 0.01) and row["value"] == pytest.approx(6 / 0.3)
    assert row["severity"] == "high"
    ev = json.loads(row["evidence"])
    assert ev["merchant_ids"] == [uscc(m) for m in range(6)] and ev["platforms_left"] == ["jd"]
    assert ev["exit_records"][0] == {"merchant_id": uscc(0), "exit_date": EXIT.isoformat(), "left_platforms": ["jd"]}
    macros(con)
    assert con.execute(f"SELECT * FROM {privacy.sql_evidence_findings('$e')}", {"e": row["evidence"]}).fetchall() \
        == [(None, None)]


def test_a_merchant_that_closes_everywhere_is_not_an_exit(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    for m in range(6):  # gone from both platforms on the same day
        merchant(con, m, {"tmall": (START, EXIT - timedelta(days=1)), "jd": (START, EXIT - timedelta(days=1))})
    assert run(con) == {}


def test_winding_down_on_the_kept_platform_too_is_not_an_exit(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    leave_jd(con, range(6), closes=EXIT + timedelta(days=4))  # tmall closes four days later
    assert run(con) == {}
    # six others that keep tmall for the whole away window are exits
    leave_jd(con, range(100, 106))
    assert run(con)["tmall:2026-03"]["exits"] == 6


def test_a_crawl_gap_shorter_than_the_away_days_is_not_an_exit(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    for m in range(6):  # missing from jd for 10 days, then back
        merchant(con, m, {"tmall": ALWAYS, "jd": (START, EXIT - timedelta(days=1))})
        con.execute(
            "INSERT INTO staging.price_observations BY NAME SELECT observation_id || 'b' AS observation_id,"
            " observed_at + INTERVAL 40 DAY AS observed_at, observed_date + 40 AS observed_date, platform, shop_id,"
            " sku_id, price_type, price, _business_date + 40 AS _business_date, _file_name, _sha256, _row"
            " FROM staging.price_observations WHERE shop_id = ? AND observed_date BETWEEN ? AND ?",
            [f"JD{m:05d}", EXIT - timedelta(days=30), EXIT - timedelta(days=1)])
    assert run(con) == {}


def test_exits_spread_over_the_platforms_are_churn_not_a_lead(mem_warehouse):
    con = mem_warehouse
    market(con, 18, first=12)
    leave_jd(con, range(6))
    for m in range(6, 12):  # as many leave tmall and keep jd
        merchant(con, m, {"tmall": (START, EXIT - timedelta(days=1)), "jd": ALWAYS})
    found = run(con)
    assert sorted(found) == ["jd:2026-03", "tmall:2026-03"]
    for row in found.values():
        assert row["exits"] == 6 and row["other_platforms_rate"] == pytest.approx(6 / 30)
        assert row["value"] == pytest.approx(1.0) and not row["flagged"]


def test_its_own_past_months_set_the_bar_too(mem_warehouse):
    con = mem_warehouse
    market(con, 60, first=100)
    # tmall drew 6 exits a month in each of the four months before: six more in March is its usual
    for k, month_start in enumerate([date(2025, 11, 5), date(2025, 12, 5), date(2026, 1, 5), date(2026, 2, 5)]):
        leave_jd(con, range(10 * (k + 1), 10 * (k + 1) + 6), exit_day=month_start)
    leave_jd(con, range(6))
    row = run(con)["tmall:2026-03"]
    assert row["exits"] == 6 and row["other_platforms_rate"] == 0 and row["own_past_rate"] > 0.04
    assert row["expected"] == pytest.approx(row["multihoming_merchants"] * row["own_past_rate"])
    assert row["value"] < 3 and not row["flagged"]


def test_too_few_multihoming_merchants_to_judge(mem_warehouse):
    con = mem_warehouse
    market(con, 3, first=6)
    leave_jd(con, range(6))
    row = run(con)["tmall:2026-03"]
    assert row["multihoming_merchants"] == 9 and row["exits"] == 6 and not row["flagged"]
    assert run(con, overrides={"min_multihoming": 9})["tmall:2026-03"]["flagged"]


def test_as_of_d_an_exit_counts_only_once_its_away_window_has_ended(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    leave_jd(con, range(6))
    # the 14 days [EXIT, EXIT + 13] end on EXIT + 13: not yet known the day before
    assert run(con, EXIT + timedelta(days=12)) == {}
    assert run(con, EXIT + timedelta(days=13))["tmall:2026-03"]["exits"] == 6


def test_data_loaded_or_observed_after_d_changes_nothing(mem_warehouse):
    con = mem_warehouse
    market(con, 24, first=6)
    leave_jd(con, range(6))
    on_d = rows(con, indicator(ID), D)
    # after D: new merchants, the leavers back on jd (observed after D), a late file re-sending their jd days
    # before the exit as if they had stayed (loaded after D), and the register moving every shop to another USCC
    later = D + timedelta(days=1)
    for m in range(6):
        merchant(con, 200 + m, {"jd": (later, later + timedelta(days=30))}, loaded=later)
    con.execute("INSERT INTO staging.price_observations BY NAME SELECT observation_id || 'L' AS observation_id,"
                " observed_at + INTERVAL 35 DAY AS observed_at, observed_date + 35 AS observed_date, platform,"
                " shop_id, sku_id, price_type, price, observed_date + 35 AS _business_date, _file_name, _sha256, _row"
                " FROM staging.price_observations WHERE shop_id LIKE 'JD0000%' AND observed_date >= ?", [EXIT - timedelta(days=5)])
    con.execute("INSERT INTO staging.price_observations BY NAME SELECT observation_id || 'M' AS observation_id,"
                " observed_at + INTERVAL 20 DAY AS observed_at, observed_date + 20 AS observed_date, platform,"
                " shop_id, sku_id, price_type, price, ? AS _business_date, _file_name, _sha256, _row"
                " FROM staging.price_observations WHERE shop_id LIKE 'JD0000%' AND observed_date >= ?",
                [later, EXIT - timedelta(days=20)])
    con.execute("INSERT INTO staging.registry BY NAME SELECT platform, shop_id, '91210100MA0LATER00' AS uscc,"
                " uscc_valid, region_code, ? AS _business_date, _file_name, _sha256, _row FROM staging.registry",
                [later])
    assert rows(con, indicator(ID), D) == on_d


def test_lineage_reads_the_feed_and_the_register():
    assert lineage.tables_read(indicator(ID).sql) == {"staging.price_observations", "staging.registry",
                                                       "meta.blocked_batches"}
