"""Run one indicator on the in-memory warehouse and return its rows as dicts."""

from __future__ import annotations

from datetime import date, timedelta

from indicators.compute import run_indicator
from indicators.registry import load_catalogue


def indicator(indicator_id):
    return next(i for i in load_catalogue() if i.id == indicator_id)


def rows(con, ind, run_date, overrides=None):
    run_indicator(con, ind, run_date, overrides or {})
    cur = con.execute(f'SELECT * FROM work."{ind.work_table}" ORDER BY entity_id')
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def days(start: date, n: int):
    return [start + timedelta(days=i) for i in range(n)]
