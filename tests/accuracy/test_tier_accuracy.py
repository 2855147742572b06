"""Tier accuracy on the shared generated province (tests/accuracy/conftest.py) against its expected_tiers.csv, and
the published 双随机 draws reproduce from their seeds."""

from __future__ import annotations

import csv

import duckdb
import pytest

from indicators.credit import tiers


def _read(province, mart: str) -> list[dict]:
    con = duckdb.connect()
    cur = con.execute("SELECT * FROM read_parquet($p, hive_partitioning = true)",
                      {"p": str(province.home.mart_dir(mart) / "dt=*" / "*.parquet")})
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


@pytest.mark.slow
def test_tier_accuracy_at_least_0_9(province):
    result = province.evaluation["tiers"]
    print(f"\ntiers: {result['equal']}/{result['enterprises']} equal ({result['accuracy']:.3f})")
    assert result["latest_dt"] == province.days[-1].isoformat()
    assert result["published"] == result["enterprises"]  # every expected enterprise gets a tier
    assert result["accuracy"] >= 0.9


@pytest.mark.slow
def test_register_rules_are_exact_on_the_province(province):
    """The tiers the register alone decides (lists, penalties) match the generator exactly."""
    with open(province.truth / "expected_tiers.csv", encoding="utf-8") as fh:
        expected = {r["uscc"]: r for r in csv.DictReader(fh)}
    last = province.days[-1]
    got = {r["uscc"]: r["tier"] for r in _read(province, "merchant_credit_tiers") if r["dt"] == last}
    register_reasons = ("严重违法失信名单", "经营异常名录", "重大行政处罚", "行政处罚")
    decided = [r for r in expected.values() if r["reason"].startswith(register_reasons)]
    assert len(decided) >= 10
    wrong = [(r["uscc"], r["reason"], r["expected_tier"], got.get(r["uscc"])) for r in decided
             if got.get(r["uscc"]) != r["expected_tier"]]
    assert not wrong


@pytest.mark.slow
def test_the_published_draws_reproduce_from_their_seeds(province):
    """An auditor with the published tiers and the seed of each day recomputes each day's draw exactly."""
    from tests.indicators.credit.test_inspection_sample import audit

    cfg = tiers.load_config()
    ratios = {t: cfg[f"ratio_{t.lower()}"] for t in "ABCD"}
    draws, firms = _read(province, "inspection_sample"), _read(province, "merchant_credit_tiers")
    drawn_before: dict = {}
    for d in province.days:
        today = {r["uscc"]: r for r in draws if r["dt"] == d}
        assert today, d
        seeds = {r["seed"] for r in today.values()}
        assert seeds == {tiers.seed_for(d, cfg)[0]}
        recent = frozenset(u for u, when in drawn_before.items() if (d - when).days <= cfg["recent_inspection_days"])
        tiers_today = [{"uscc": r["uscc"], "tier": r["tier"], "region_code": r["region_code"] or "000000"}
                       for r in firms if r["dt"] == d]
        assert {u: r["draw_order"] for u, r in today.items()} == audit(tiers_today, seeds.pop(), ratios, recent)
        drawn_before.update({u: d for u in today})
