"""一公开 of the 双随机 draw: the builder of the inspection_followup mart (build_order 95, after inspection_sample).

The SQL is indicators/marts/inspection_followup.sql; this module loads its two parameters from
indicators/credit/config/inspection.yml, overridable in HOME/config.yml:

    indicators:
      inspection:
        followup_days: 30      # a drawn merchant without a result after this many days is overdue
        horizon_days: 365      # a merchant not drawn for this long is no longer followed up

and makes sure the run's draw (work.mart__inspection_sample) exists for the run date. It keeps no history of
its own: it reads the published draws (meta.inspection_draws, written at publish by indicators/credit/tiers.py)
and the results as of the run date (inspection_results_as_of, indicators/macros.sql), so a rerun of an old
date gives the same answer whatever arrived later.
"""

from __future__ import annotations

import copy
import logging
from datetime import date
from functools import lru_cache
from importlib import resources

import yaml

from indicators.credit import tiers

log = logging.getLogger(__name__)

CONFIG_KEY = "inspection"
RESULT_CLASSES = ("pass", "fail", "unreachable", "no_activity", "other", "pending")


@lru_cache(maxsize=1)
def _defaults() -> dict:
    text = (resources.files("indicators") / "credit" / "config" / "inspection.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_config(overrides: dict | None = None) -> dict:
    """inspection.yml with the HOME/config.yml overrides (`indicators: {inspection: {...}}`) applied; an
    unknown key or a value that is not a whole number of days >= 1 is an error naming the key."""
    cfg = copy.deepcopy(_defaults())
    section = (overrides or {}).get(CONFIG_KEY) or {}
    if not isinstance(section, dict):
        raise ValueError(f"config: indicators.{CONFIG_KEY} must be a mapping (e.g. {{followup_days: 60}})")
    for name, value in section.items():
        if name not in cfg:
            raise KeyError(f"config overrides unknown parameter {name!r} of indicators.{CONFIG_KEY} "
                           f"(known: {', '.join(cfg)})")
        cfg[name] = value
    for name, value in cfg.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"config: indicators.{CONFIG_KEY}.{name} must be a whole number of days >= 1 "
                             f"(got {value!r})")
    return cfg


def build_inspection_followup(con, run_date: date, versions: dict, overrides: dict | None = None) -> dict:
    cfg = load_config(overrides)
    tiers.ensure_tables(con)
    if not tiers._table_exists(con, "work", "mart__inspection_sample") or con.execute(
            "SELECT count(*) FROM work.mart__inspection_sample WHERE dt <> $d", {"d": run_date}).fetchall()[0][0]:
        tiers.build_inspection_sample(con, run_date, versions, overrides)  # not drawn for this date yet
    rows = tiers._create(con, "work.mart__inspection_followup", tiers._sql("marts/inspection_followup.sql"),
                         {"run_date": run_date, **cfg} | versions)
    counts = dict(con.execute(
        "SELECT result_class, count(*) FROM work.mart__inspection_followup GROUP BY ALL").fetchall())
    overdue = con.execute("SELECT count(*) FROM work.mart__inspection_followup WHERE overdue").fetchall()[0][0]
    log.info("inspection_followup %s: %d drawn merchants followed up, %d overdue (%s)", run_date, rows, overdue,
             ", ".join(f"{k} {counts.get(k, 0)}" for k in RESULT_CLASSES))
    return {"inspection_followup:overdue": overdue}
