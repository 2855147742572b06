from __future__ import annotations

from datetime import date

import pytest

from indicators.credit import tiers

RUN = date(2026, 11, 10)
VERSIONS = {"pipeline_version": "test", "schema_version": 1}


@pytest.fixture
def con(mem_warehouse):
    tiers.ensure_tables(mem_warehouse)
    return mem_warehouse


def rows(con, sql, params=None):
    cur = con.execute(sql, params or {})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def build_tiers(con, run_date=RUN, overrides=None):
    tiers.build_entity_matches(con, run_date, VERSIONS, overrides)
    tiers.build_merchant_credit_tiers(con, run_date, VERSIONS, overrides)
    return {r["uscc"]: r for r in rows(con, "SELECT * FROM work.mart__merchant_credit_tiers")}
