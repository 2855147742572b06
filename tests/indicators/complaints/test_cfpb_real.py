"""The CFPB real sample end to end: landing -> ingest -> indicators -> gate -> published complaint_rates,
checked against an independent count done here with the csv module."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date

import pyarrow.parquet as pq
import pytest

from expectations.gate import record, run_gate
from pipelines.core.home import Home
from pipelines.run.daily import compute, ingest, new_run_id, publish
from warehouse.db import connect_writer


def independent_counts(sample, run_date: date):
    """Company-level volume and timeliness of the month to date of run_date, from the raw file."""
    with open(sample, encoding="utf-8", newline="") as fh:
        fh.readline(), fh.readline()   # the two lines of archive-tool output
        rows = list(csv.DictReader(fh))
    month = run_date.strftime("%Y-%m")
    keep = [r for r in rows if r["Date received"][:7] == month and r["Date received"] <= run_date.isoformat()]
    volume = Counter(r["Company"] for r in keep)
    timely = Counter(r["Company"] for r in keep if r["Timely response?"] == "Yes")
    closed_labels = {"Closed with explanation", "Closed with monetary relief", "Closed with non-monetary relief",
                     "Closed with relief", "Closed without relief", "Closed"}
    relief_labels = {"Closed with monetary relief", "Closed with non-monetary relief", "Closed with relief"}
    closed = Counter(r["Company"] for r in keep if r["Company response to consumer"] in closed_labels)
    relief = Counter(r["Company"] for r in keep if r["Company response to consumer"] in relief_labels)
    return len(rows), volume, timely, closed, relief


@pytest.mark.parametrize("run_date", [date(2019, 4, 30), date(2020, 3, 19)])
def test_cfpb_sample_company_volume_and_timeliness(real_data, tmp_path, run_date):
    sample = real_data / "cfpb_consumer_complaints" / "complaints_sample.csv"
    home = Home(tmp_path / "home").ensure()
    landing = home.landing_dir("cfpb_complaints", run_date)
    landing.mkdir(parents=True)
    lines = sample.read_bytes().split(b"\n", 2)
    (landing / "complaints.csv").write_bytes(lines[2])      # a copy without the two archive-tool lines

    run_id = new_run_id(run_date)
    con = connect_writer(home.db_path)
    try:
        ingest(home, run_date, run_id, con=con)
        compute(home, run_date, run_id, con=con)
        # the gate of this mart and its inputs only (the whole gate is the e2e tests' business)
        outcomes = run_gate(con, run_date, ["staging.cfpb_complaints", "mart.complaint_rates",
                                            "mart.complaint_categories"])
        record(con, run_id, run_date, list(outcomes.values()))
        result = publish(home, run_date, run_id, con=con)
        read, loaded, quarantined = con.execute(
            "SELECT sum(rows_read), sum(rows_loaded), sum(rows_quarantined) FROM meta.ingestion_ledger "
            "WHERE source = 'cfpb_complaints'").fetchall()[0]
    finally:
        con.close()
    assert "complaint_rates" in result.published, result.blocked
    assert "complaint_categories" in result.published, result.blocked

    total, volume, timely, closed, relief = independent_counts(sample, run_date)
    table = pq.read_table(home.mart_dir("complaint_rates") / f"dt={run_date}" / "part-0.parquet").to_pylist()
    cfpb = {r["entity_id"]: r for r in table if r["source"] == "cfpb_complaints"}
    assert len(volume) > 10
    assert {k: r["complaints"] for k, r in cfpb.items()} == dict(volume)
    assert {k: r["timely_responses"] for k, r in cfpb.items() if r["timely_responses"]} == dict(timely)
    assert {k: r["closed_complaints"] for k, r in cfpb.items() if r["closed_complaints"]} == dict(closed)
    assert {k: r["relief_complaints"] for k, r in cfpb.items() if r["relief_complaints"]} == dict(relief)
    month_total = sum(volume.values())
    for company, r in cfpb.items():
        assert r["complaint_share"] == pytest.approx(volume[company] / month_total, abs=1e-6)
        assert r["orders"] is None and r["raw_rate_per_10k"] is None and r["posterior_rate_per_10k"] is None
        assert r["timely_rate"] == pytest.approx(timely[company] / volume[company], abs=1e-6)
    # every record is accounted for: the rows dated after run_date are quarantined as future
    assert read == total == loaded + quarantined
