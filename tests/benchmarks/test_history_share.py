"""benchmarks.history_share on a small warehouse file of given rows: the copy without history holds the day's
observations only, the original is not touched, each run is a child process measured, and the table reports them."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from benchmarks.history_share import main, measure, table
from tests.indicators.given import observation
from warehouse.migrate import apply_migrations

DAY = date(2026, 11, 20)


@pytest.fixture
def warehouse(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    apply_migrations(con)
    for back in range(8):  # 8 days: 7 before the run date and the run date, 6 sellers of one SKU
        d = (DAY - timedelta(days=back)).isoformat()
        for k in range(6):
            observation(con, d, f"S{k}", "K1", 100.0 + k + back, price_type="list")
    con.close()
    return db


def _counts(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FILTER (WHERE observed_date < $d), count(*) FILTER (WHERE observed_date = $d) "
                           "FROM staging.price_observations", {"d": DAY}).fetchone()
    finally:
        con.close()


def test_with_and_without_history(warehouse, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    result = measure(warehouse, DAY, ["price.spike_mad"], 1, "1GB", work)
    assert result["counts"] == {"history_rows": 42, "day_rows": 6}
    assert _counts(warehouse) == (42, 6)                      # the original is only copied
    assert _counts(work / "without_history.duckdb") == (0, 6)  # the copy keeps the day
    [with_h], [without] = result["rules"]["price.spike_mad"]["with"], result["rules"]["price.spike_mad"]["without"]
    assert with_h["rows"] == without["rows"] == 6              # one row per listing of the day, either way
    assert with_h["cpu"] > 0 and without["wall"] > 0 and with_h["rss_gb"] > 0.05
    out = table(result)
    assert "| `price.spike_mad` |" in out and "6 on the day, 42 before it (88% of the rows)" in out


def test_a_failing_run_is_reported(warehouse, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    result = measure(warehouse, DAY, ["price.spike_mad"], 1, "not-a-size", work)
    assert "error" in result["rules"]["price.spike_mad"]["with"][0]
    assert "failed:" in table(result)


def test_an_unknown_rule_is_refused(warehouse):
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(warehouse), "--date", DAY.isoformat(), "price.no_such_rule"])
    assert exc.value.code == 2
