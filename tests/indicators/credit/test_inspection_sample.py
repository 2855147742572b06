"""The 双随机 draw: reproducible from its seed alone, ratios within rounding, recent draws to the back."""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest

from indicators.credit import tiers
from tests.indicators.credit.conftest import RUN, VERSIONS, build_tiers, rows
from tests.indicators.credit.given import abnormal, penalty, serious, shop, uscc

CFG = tiers.load_config()
REGIONS = ("210100", "210200", "210300")


def province(con, n=120):
    """n entities over 3 regions; tiers spread by penalties and list entries."""
    for i in range(n):
        code = uscc(i + 1, REGIONS[i % 3])
        shop(con, f"S{i}", code, region=REGIONS[i % 3])
        if i % 5 == 1:
            penalty(con, code, "2026-06-01", fine_wan=1)          # B
        elif i % 7 == 2:
            abnormal(con, code, "2025-06-01")                       # C
        elif i % 11 == 3:
            serious(con, code, "2025-06-01")                        # D


def draw(con, run_date=RUN, overrides=None):
    build_tiers(con, run_date, overrides)
    tiers.build_inspection_sample(con, run_date, VERSIONS, overrides)
    return rows(con, "SELECT * FROM work.mart__inspection_sample")


def audit(firms, seed, ratios, recent=frozenset()):
    """The draw recomputed from the published seed and the tier list alone (what an auditor does)."""
    strata = {}
    for f in firms:
        strata.setdefault((f["tier"], f["region_code"]), []).append(f["uscc"])
    drawn = {}
    for (tier, _region), members in strata.items():
        order = sorted(members, key=lambda u: (u in recent, hashlib.sha256(f"{seed}:{u}".encode()).hexdigest()))
        n = math.ceil(Fraction(str(ratios[tier])) * len(members))
        for k, u in enumerate(order[:n], start=1):
            drawn[u] = k
    return drawn


def ratios(cfg=CFG):
    return {t: cfg[f"ratio_{t.lower()}"] for t in "ABCD"}


def test_the_draw_reproduces_from_its_seed_alone(con):
    province(con)
    got = draw(con)
    seed = got[0]["seed"]
    assert {r["seed"] for r in got} == {seed} and got[0]["seed_source"] == "derived_from_date"
    assert seed == hashlib.sha256(f"{CFG['seed_salt']}/{RUN.isoformat()}".encode()).hexdigest()[:16]
    firms = rows(con, "SELECT uscc, tier, region_code FROM work.mart__merchant_credit_tiers")
    assert {r["uscc"]: r["draw_order"] for r in got} == audit(firms, seed, ratios())
    for r in got:
        assert r["draw_key"] == tiers.draw_key(seed, r["uscc"])
    again = draw(con)
    assert again == got


def test_ratios_are_respected_within_rounding_in_every_stratum(con):
    province(con)
    got = draw(con)
    firms = rows(con, "SELECT tier, region_code, count(*) AS n FROM work.mart__merchant_credit_tiers GROUP BY ALL")
    assert {f["tier"] for f in firms} == {"A", "B", "C", "D"}
    drawn = {}
    for r in got:
        drawn[(r["tier"], r["region_code"])] = drawn.get((r["tier"], r["region_code"]), 0) + 1
    for f in firms:
        ratio = Fraction(str(CFG[f"ratio_{f['tier'].lower()}"]))
        n = drawn.get((f["tier"], f["region_code"]), 0)
        assert n == math.ceil(ratio * f["n"]), f
        assert ratio * f["n"] <= n < ratio * f["n"] + 1
    # riskier tiers are checked more
    share = {t: sum(drawn.get((t, g), 0) for g in REGIONS) / sum(f["n"] for f in firms if f["tier"] == t)
             for t in "ABCD"}
    assert share["A"] < share["B"] < share["C"] < share["D"]


def test_exact_products_are_not_rounded_up(con):
    province(con, n=30)  # 10 firms per region
    overrides = {"credit.scoring": {"ratio_a": 0.1, "ratio_b": 0.1, "ratio_c": 0.1, "ratio_d": 0.1}}
    got = draw(con, overrides=overrides)
    for r in got:
        assert r["stratum_sample_size"] == math.ceil(Fraction(1, 10) * r["stratum_size"])


def test_another_seed_gives_another_draw_and_a_published_seed_is_used_as_is(con):
    province(con)
    default = {r["uscc"] for r in draw(con)}
    published = {"credit.scoring": {"seed_by_date": {RUN.isoformat(): "8274-1193-5502"}}}
    got = draw(con, overrides=published)
    assert {r["seed"] for r in got} == {"8274-1193-5502"} and got[0]["seed_source"] == "seed_by_date"
    assert {r["uscc"] for r in got} != default
    firms = rows(con, "SELECT uscc, tier, region_code FROM work.mart__merchant_credit_tiers")
    assert {r["uscc"]: r["draw_order"] for r in got} == audit(firms, "8274-1193-5502", ratios())


def _published(con, day):
    """What the publish stage does once the day's draw (the work table) is published."""
    con.execute("INSERT OR REPLACE INTO meta.published_partitions VALUES ('inspection_sample', ?, 0, 'sha', 1, 'r', ?)",
                [day, datetime(2026, 1, 1)])
    tiers.record_published(con, "inspection_sample", day)


def test_firms_drawn_in_the_last_12_months_go_to_the_back(con):
    province(con)
    day1 = RUN - timedelta(days=1)
    first = {r["uscc"] for r in draw(con, run_date=day1)}
    _published(con, day1)
    second = draw(con)
    firms = rows(con, "SELECT uscc, tier, region_code FROM work.mart__merchant_credit_tiers")
    assert {r["uscc"]: r["draw_order"] for r in second} == audit(firms, second[0]["seed"], ratios(), first)
    again = {r["uscc"] for r in second if r["drawn_last_12m"]}
    assert again <= first
    # only a stratum too small to avoid them draws a firm again (D at 70% of a handful of firms)
    by_stratum = {}
    for f in firms:
        by_stratum.setdefault((f["tier"], f["region_code"]), set()).add(f["uscc"])
    for r in second:
        if r["drawn_last_12m"]:
            fresh = by_stratum[(r["tier"], r["region_code"])] - first
            assert r["draw_order"] > len(fresh)
            assert r["last_drawn_dt"] == day1


def test_unpublished_or_old_draws_do_not_move_firms(con):
    province(con)
    day1 = RUN - timedelta(days=1)
    draw(con, run_date=day1)                       # computed but never published (e.g. blocked by the gate)
    assert rows(con, "SELECT * FROM meta.inspection_draws") == []  # compute keeps no history
    old = RUN - timedelta(days=CFG["recent_inspection_days"] + 1)
    draw(con, run_date=old)
    _published(con, old)                           # published, but more than 12 months ago
    got = draw(con)
    assert not any(r["drawn_last_12m"] for r in got)
    firms = rows(con, "SELECT uscc, tier, region_code FROM work.mart__merchant_credit_tiers")
    assert {r["uscc"]: r["draw_order"] for r in got} == audit(firms, got[0]["seed"], ratios())


@pytest.mark.parametrize("day", [date(2026, 11, 10), date(2027, 1, 1)])
def test_default_seed_depends_on_the_date_only(day):
    assert tiers.seed_for(day, CFG) == tiers.seed_for(day, tiers.load_config())
    assert tiers.seed_for(day, CFG)[0] != tiers.seed_for(day + timedelta(days=1), CFG)[0]
