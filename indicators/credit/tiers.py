"""Credit-risk tiers (A/B/C/D) and the 双随机 spot-check draw: the builders of three marts.

    entity_matches         (build_order 70)  records tied to registered legal entities, or why not
    merchant_credit_tiers  (build_order 80)  score = sum of factor contributions, hard rules, tier, change
    inspection_sample      (build_order 90)  the draw, stratified by tier x region, from a published seed

The SQL is in indicators/credit/records.sql and indicators/marts/<mart>.sql; this module only loads the
configuration (indicators/credit/config/scoring.yml, overridable in HOME/config.yml under
`indicators: {credit.scoring: {...}}`), binds it as named parameters, and keeps the history the daily
recomputation needs in the warehouse:

    meta.credit_flag_history   every published indicator_flags partition (the flag factor looks back 12 months)
    meta.credit_tier_history   every published tier list and its contributions (previous_tier, changed_factors)
    meta.inspection_draws      every published draw (firms drawn in the last 12 months go to the back)

The histories hold only what was published: publish writes them (`record_published`, called by
pipelines/run/daily.py:publish once the mart's partition is swapped in), from the very batch the gate
validated; compute never does. A run for D reads the histories of dates before D plus its own candidate
flags (work.mart__indicator_flags), so a blocked day's leads, tiers or draw never feed a later day.
Each table is rewritten for the published date only (delete dt = D, insert), so a republished D replaces
D, and a run reads only dates before D: rerunning an old date gives the same answer.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from datetime import date
from functools import lru_cache
from importlib import resources

import duckdb
import yaml

from indicators.compute import create_macros
from pipelines.core.sql import bind
from pipelines.ingest import entity
from pipelines.ingest.entity import CONFIDENCE

log = logging.getLogger(__name__)

CONFIG_KEY = "credit.scoring"
TIERS = ("A", "B", "C", "D")

# --------------------------------------------------------------------------- configuration

@lru_cache(maxsize=1)
def _defaults() -> dict:
    text = (resources.files("indicators") / "credit" / "config" / "scoring.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_config(overrides: dict | None = None) -> dict:
    """scoring.yml with HOME/config.yml overrides (`indicators: {credit.scoring: {...}}`) applied.

    Mappings (category points, severity points, seeds by date) are merged key by key; an unknown key is
    an error, as for indicator thresholds."""
    cfg = copy.deepcopy(_defaults())
    for name, value in ((overrides or {}).get(CONFIG_KEY) or {}).items():
        if name not in cfg:
            raise KeyError(f"config overrides unknown parameter {name!r} of {CONFIG_KEY}")
        if isinstance(cfg[name], dict) and isinstance(value, dict):
            cfg[name] = {**cfg[name], **{str(k): v for k, v in value.items()}}
        else:
            cfg[name] = value
    _validate(cfg)
    return cfg


def _validate(cfg: dict) -> None:
    ratios = [float(cfg[f"ratio_{t.lower()}"]) for t in TIERS]
    if any(not 0 <= r <= 1 for r in ratios):
        raise ValueError(f"{CONFIG_KEY}: sampling ratios must lie in [0, 1], got {ratios}")
    if ratios != sorted(ratios):
        raise ValueError(f"{CONFIG_KEY}: sampling ratios must not fall from A to D (riskier tiers are "
                         f"checked more), got {ratios}")
    cutoffs = [float(cfg["cutoff_b"]), float(cfg["cutoff_c"]), float(cfg["cutoff_d"])]
    if not cutoffs[0] < cutoffs[1] < cutoffs[2]:
        raise ValueError(f"{CONFIG_KEY}: cut-offs must rise from B to D, got {cutoffs}")
    if float(cfg["penalty_half_life_days"]) <= 0:
        raise ValueError(f"{CONFIG_KEY}: penalty_half_life_days must be positive")


def seed_for(run_date: date, cfg: dict) -> tuple[str, str]:
    """(seed, how it was chosen) for the draw of `run_date`.

    A seed published for the date (`seed_by_date`) is used as is; otherwise the default is derived from
    the date alone: sha256(seed_salt + "/" + YYYY-MM-DD) as hex, first 16 characters."""
    by_date = {str(k): v for k, v in (cfg.get("seed_by_date") or {}).items()}
    if run_date.isoformat() in by_date:
        return str(by_date[run_date.isoformat()]), "seed_by_date"
    digest = hashlib.sha256(f"{cfg['seed_salt']}/{run_date.isoformat()}".encode()).hexdigest()[:16]
    return digest, "derived_from_date"


def draw_key(seed: str, uscc: str) -> str:
    """The order key of a firm in the draw (as in the SQL): sha256(seed + ':' + uscc), hex."""
    return hashlib.sha256(f"{seed}:{uscc}".encode()).hexdigest()


def sql_parameters(cfg: dict, run_date: date) -> dict:
    """Every value the credit SQL may bind (bind keeps only those a statement names)."""
    categories = cfg["penalty_category_points"]
    flag_points = cfg["flag_indicator_points"]
    seed, seed_source = seed_for(run_date, cfg)
    scalars = {k: v for k, v in cfg.items() if not isinstance(v, (dict, list))}
    return scalars | {
        "run_date": run_date,
        "revoked_status_patterns": [str(p) for p in cfg["revoked_status_patterns"]],
        "category_patterns": [str(k) for k in categories],
        "category_points": [float(v) for v in categories.values()],
        "flag_points_low": float(flag_points["low"]),
        "flag_points_medium": float(flag_points["medium"]),
        "flag_points_high": float(flag_points["high"]),
        "conf_uscc": CONFIDENCE["uscc"],
        "conf_name_exact": CONFIDENCE["name_exact"],
        "conf_name_normalised": CONFIDENCE["name_normalised"],
        "seed": seed,
        "seed_source": seed_source,
    }


# --------------------------------------------------------------------------- helpers

def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The work schema and the entity macros. The meta.credit_* histories and meta.inspection_draws come
    from warehouse/migrations/003_credit_history.sql (every meta table comes from a migration)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS work")
    entity.register(con)
    create_macros(con)  # records.sql reads the sources through the as-of-D macros


def _table_exists(con, schema: str, name: str) -> bool:
    rows = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = $s AND table_name = $n",
                       {"s": schema, "n": name}).fetchall()
    return rows[0][0] > 0


def _sql(relative: str) -> str:
    return (resources.files("indicators") / relative).read_text(encoding="utf-8")


def _create(con, target: str, sql: str, values: dict) -> int:
    con.execute(f"CREATE OR REPLACE TABLE {target} AS {sql}", bind(sql, values))
    return con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]  # noqa: S608 (target: a constant)


def build_records(con, run_date: date, cfg: dict) -> int:
    """work.credit__records: penalties and list entries in scope, tied to entities (or not)."""
    ensure_tables(con)
    return _create(con, "work.credit__records", _sql("credit/records.sql"), sql_parameters(cfg, run_date))


def _ensure_run_flags(con) -> None:
    """The tiers read the run's candidate flags (work.mart__indicator_flags, built before them by compute_day).
    A builder called on its own (the credit unit tests) has none: an empty table with the columns read."""
    if not _table_exists(con, "work", "mart__indicator_flags"):
        con.execute("CREATE TABLE work.mart__indicator_flags AS SELECT * FROM meta.credit_flag_history LIMIT 0")


# --------------------------------------------------------------------------- histories, written at publish

# {mart: (history table, the SELECT of its rows from the mart's candidate batch for $d)}: the batch publish
# just wrote (dt = D, the gate's filter), so each history holds exactly what was published
_HISTORY_ROWS = {
    "indicator_flags": (
        "meta.credit_flag_history",
        "SELECT dt, flag_id, indicator_id, family, entity_id, platform, shop_id, uscc, window_start::DATE, "
        "window_end::DATE, value::DOUBLE, threshold::DOUBLE, severity FROM work.mart__indicator_flags "
        "WHERE dt = $d AND flag_id IS NOT NULL"),
    "merchant_credit_tiers": (
        "meta.credit_tier_history",
        "SELECT dt, uscc, tier, score, hard_rule, contrib_penalties, contrib_fines, contrib_abnormal, "
        "contrib_serious, contrib_complaints, contrib_flags FROM work.mart__merchant_credit_tiers WHERE dt = $d"),
    "inspection_sample": (
        "meta.inspection_draws",
        "SELECT dt, uscc, tier, region_code, draw_order, seed FROM work.mart__inspection_sample WHERE dt = $d"),
}


def record_published(con, mart: str, run_date: date) -> int | None:
    """After `mart`'s partition for D was published: replace D in the history that keeps that mart (None
    for a mart without one). Returns the rows kept. Called by the publish stage only."""
    if mart not in _HISTORY_ROWS:
        return None
    history, select = _HISTORY_ROWS[mart]
    con.execute(f"DELETE FROM {history} WHERE dt = $d", {"d": run_date})  # noqa: S608 - table name from _HISTORY_ROWS, date bound
    con.execute(f"INSERT INTO {history} {select}", {"d": run_date})  # noqa: S608 - table and SELECT from _HISTORY_ROWS, date bound
    return con.execute(f"SELECT count(*) FROM {history} WHERE dt = $d", {"d": run_date}).fetchall()[0][0]  # noqa: S608 - table name from _HISTORY_ROWS, date bound


# --------------------------------------------------------------------------- mart builders

def build_entity_matches(con, run_date: date, versions: dict, overrides: dict | None = None) -> dict:
    cfg = load_config(overrides)
    build_records(con, run_date, cfg)
    rows = _create(con, "work.mart__entity_matches", _sql("marts/entity_matches.sql"),
                   sql_parameters(cfg, run_date) | versions)
    unmatched = con.execute("SELECT count(*) FROM work.mart__entity_matches WHERE match_method = 'unmatched'"
                            ).fetchall()[0][0]
    log.info("entity_matches %s: %d records, %d unmatched", run_date, rows, unmatched)
    return {"entity_matches:unmatched": unmatched}


def build_merchant_credit_tiers(con, run_date: date, versions: dict, overrides: dict | None = None) -> dict:
    cfg = load_config(overrides)
    build_records(con, run_date, cfg)
    _ensure_run_flags(con)
    # reads the published history before D and this run's candidate flags; writes no history (publish does)
    _create(con, "work.mart__merchant_credit_tiers", _sql("marts/merchant_credit_tiers.sql"),
            sql_parameters(cfg, run_date) | versions)
    dist = dict(con.execute("SELECT tier, count(*) FROM work.mart__merchant_credit_tiers GROUP BY tier ORDER BY tier"
                            ).fetchall())
    log.info("merchant_credit_tiers %s: %s", run_date, ", ".join(f"{t} {dist.get(t, 0)}" for t in TIERS))
    return {f"tier:{t}": dist.get(t, 0) for t in TIERS}


def build_inspection_sample(con, run_date: date, versions: dict, overrides: dict | None = None) -> dict:
    cfg = load_config(overrides)
    ensure_tables(con)
    if not _table_exists(con, "work", "mart__merchant_credit_tiers") or con.execute(
            "SELECT count(*) FROM work.mart__merchant_credit_tiers WHERE dt <> $d", {"d": run_date}).fetchall()[0][0]:
        build_merchant_credit_tiers(con, run_date, versions, overrides)  # not built for this date yet
    params = sql_parameters(cfg, run_date)
    rows = _create(con, "work.mart__inspection_sample", _sql("marts/inspection_sample.sql"), params | versions)
    # 一公开: the seed is printed in the run output and stored with every drawn row
    log.info("inspection_sample %s: %d firms drawn with seed %s (%s)", run_date, rows, params["seed"],
             params["seed_source"])
    return {"inspection_sample:seed": params["seed"]}
