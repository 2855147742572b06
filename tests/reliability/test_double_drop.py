"""The same price file dropped twice (issue 19), through the real CLI on the bundled sample's first day:
the price zip again under another name (identical content: `duplicate`) and its CSV re-saved by a
spreadsheet with CRLF line endings (other bytes, the same observation_ids: every row quarantined as a
duplicate naming the first file and row). The day exits 0 and every mart is published, including
price_reference_checks, which the duplicate observation_ids used to block at the gate."""

from __future__ import annotations

import shutil
import zipfile

import duckdb
import pytest

from tests.reliability.helpers import D1, cli, lay_days, partitions

pytestmark = pytest.mark.slow


def test_price_file_dropped_twice_publishes_the_day(tmp_path):
    home = tmp_path / "home"
    lay_days(home, days=(D1,))
    folder = home / "landing" / "price_observations" / D1.isoformat()
    (original,) = sorted(folder.glob("*.zip"))
    shutil.copyfile(original, folder / "price_observations_resent.zip")
    with zipfile.ZipFile(original) as zf:
        (member,) = zf.namelist()
        text = zf.read(member)
    (folder / "price_observations_from_excel.csv").write_bytes(text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    done = cli(home, "run", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        ledger = {n: (o, r, lo, q, m) for n, o, r, lo, q, m in con.execute(
            "SELECT file_name, outcome, rows_read, rows_loaded, rows_quarantined, message FROM meta.ingestion_ledger "
            "WHERE source = 'price_observations'").fetchall()}
        first = f"{original.name}/{member}"
        assert ledger[first][0] == "loaded"
        n = ledger[first][1]
        copy = ledger[f"price_observations_resent.zip/{member}"]
        assert copy[:4] == ("duplicate", 0, 0, 0) and f"duplicate of {first}" in copy[4]
        excel = ledger["price_observations_from_excel.csv"]
        assert excel[:4] == ("loaded", n, 0, n)
        reasons = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE reason LIKE '%already loaded from ' || $f || ' row %') "
            "FROM meta.quarantine_rows WHERE file_name = 'price_observations_from_excel.csv'", {"f": first}
        ).fetchall()
        # every row loaded from the first copy is named; the few the first copy quarantined itself
        # (bad values) are quarantined again for those reasons
        assert reasons == [(n, ledger[first][2])] and ledger[first][3] == n - ledger[first][2]
        assert con.execute("SELECT count(*) FROM staging.price_observations WHERE _business_date = $d",
                           {"d": D1}).fetchall() == [(ledger[first][2],)]
        blocked = con.execute("SELECT count(*) FROM meta.quality_results WHERE business_date = $d "
                              "AND severity = 'blocking' AND NOT success", {"d": D1}).fetchall()
        assert blocked == [(0,)]
    finally:
        con.close()
    published = partitions(home)
    assert any(p.startswith(f"price_reference_checks/dt={D1}/") for p in published), sorted(published)
    assert any(p.startswith(f"price_anomalies/dt={D1}/") for p in published)
