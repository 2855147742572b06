"""Power mode of the generator (issue 20, pipelines/generate/power.py) and evaluate's power grouping.

The province here is small (2 days, scale 0.02, ~2 s); the planted statistics are recomputed from the generated
landing files with DuckDB, independently of the generator's own arithmetic.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.generate import generate
from pipelines.generate.evaluate import (
    clopper_pearson,
    evaluate,
    format_evaluation,
    format_power,
    merge_power,
)
from pipelines.generate.power import (
    CATEGORICAL,
    CONTEXTS,
    PLANTS_PER_STRENGTH,
    STATISTICS,
    STRENGTHS,
    key_day,
    plant_strength,
    power_cells,
    target,
)
from pipelines.generate.world import CELL_KINDS, PLANT_KINDS
from tests.generate.marts import write_part

START = dt.date(2026, 10, 29)
DAYS = 2
KEY = START + dt.timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def ordinary(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("power") / "ordinary"
    generate(out, START, DAYS, scale=0.02, power="ordinary")
    return out


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _price_rows(out: Path) -> str:
    return str(out / "landing" / "price_observations" / "*" / "price_observations.csv")


def _primary(out: Path, kind: str) -> list[dict]:
    ind = STATISTICS[kind][0]
    return [r for r in _rows(out / "power_truth.csv") if r["indicator_id"] == ind and r["strength"]]


def test_power_mode_plants_the_grid(ordinary):
    truth = _rows(ordinary / "ground_truth.csv")
    power = _rows(ordinary / "power_truth.csv")
    assert [{k: r[k] for k in truth[0]} for r in power] == truth   # same rows, same order, two more columns
    graded = [r for r in power if r["strength"] and r["indicator_id"] not in CATEGORICAL]
    grid = Counter((r["indicator_id"], r["strength"], r["context"]) for r in graded)
    expected = {(STATISTICS[k][0], f"{s:g}", "ordinary") for k in STATISTICS for s in STRENGTHS}
    assert set(grid) == expected and len(expected) == 18 * len(STRENGTHS)
    # PLANTS_PER_STRENGTH independent plants per (indicator, strength, context)
    assert set(grid.values()) == {PLANTS_PER_STRENGTH} and PLANTS_PER_STRENGTH >= 5
    # the categorical ids (issue 22 plants) at their one strength "1", in this context
    cat = Counter(r["indicator_id"] for r in power if r["indicator_id"] in CATEGORICAL)
    assert set(cat) == set(CATEGORICAL)
    assert all(r["strength"] == "1" and r["context"] == "ordinary" for r in power if r["indicator_id"] in CATEGORICAL)
    # a side effect (the run-up also breaks the EU 30-day rule) carries the context but no strength
    side = [r for r in power if not r["strength"] and r["context"]]
    assert side and all(r["context"] == "ordinary" and r["indicator_id"] == "price.eu_prior_30d" for r in side)
    assert all(r["context"] in ("", "ordinary") for r in power)
    # every graded plant's window reaches the key day (an exclusive-dealing case is dated by its exits, reported in
    # the month of the key day or the month before)
    assert all(r["first_date"] <= KEY.isoformat() <= r["last_date"] for r in graded)


def test_power_plants_never_share_a_shop_a_cell_or_a_kinds_sku(ordinary):
    """Independent plants: each graded plant its own shop; no two plants in one (sku, city) market cell (a cell plant
    has no shop_id: its cell is the sku + region of its row); the plants of one id on distinct SKUs."""
    rows = [r for r in _rows(ordinary / "power_truth.csv") if r["strength"] and r["indicator_id"] not in CATEGORICAL]
    shops = [r["shop_id"] for r in rows if r["shop_id"]]
    assert len(shops) == len(set(shops))
    con = duckdb.connect()
    # a shop plant's SKU (complaint and integrity rows name the shop only): its one listing in the price feed
    listed = dict(con.execute(f"""
        SELECT shop_id, list(DISTINCT sku_id) FROM read_csv('{_price_rows(ordinary)}', all_varchar=true)
        WHERE shop_id IN (SELECT unnest(?)) GROUP BY shop_id""", [shops]).fetchall())
    assert all(len(v) == 1 for v in listed.values()) and len(listed) == len(shops)
    sku = [r["sku_id"] or listed[r["shop_id"]][0] for r in rows]
    cells = [(k, r["region_code"]) for k, r in zip(sku, rows)]
    assert len(cells) == len(set(cells))
    for ind in {r["indicator_id"] for r in rows}:
        skus = [k for k, r in zip(sku, rows) if r["indicator_id"] == ind]
        assert len(skus) == len(set(skus)), ind
    # a planted collusion cell holds its own sellers only (no background seller, no other plant's shop)
    size = {PLANT_KINDS[k][0]: n for k, n in CELL_KINDS.items()}
    for r in rows:
        if r["shop_id"]:
            continue
        (n,) = con.execute(f"""
            SELECT count(DISTINCT shop_id) FROM read_csv('{_price_rows(ordinary)}', all_varchar=true)
            WHERE sku_id = ? AND region_code = ?""", [r["sku_id"], r["region_code"]]).fetchone()
        assert n == size[r["indicator_id"]], r


def test_power_cells_on_small_inputs():
    kinds = ["spike", "below", "cover"]
    cells = power_cells(kinds, 4, skus=[10, 11, 12, 13], cities=[2, 3], below_cities=(0, 1))
    assert len(cells) == 12 and len(set(cells.values())) == 12            # one cell per plant, none shared
    for kind in kinds:
        assert len({cells[(kind, i)][0] for i in range(4)}) == 4          # a kind's plants on distinct SKUs
    assert all(cells[("below", i)][1] in (0, 1) for i in range(4))
    assert all(cells[(k, i)][1] in (2, 3) for k in ("spike", "cover") for i in range(4))
    # when a kind has more plants than SKUs, it shares a SKU (never a cell)
    more = power_cells(["spike"], 6, skus=[1, 2, 3], cities=[0, 1])
    assert len(set(more.values())) == 6
    with pytest.raises(ValueError, match="no free"):
        power_cells(["spike"], 7, skus=[1, 2, 3], cities=[0, 1])
    assert [plant_strength(i) for i in (0, 3, 4, 9)] == [(1.2, 0), (3.0, 0), (1.2, 1), (1.5, 2)]


def test_default_mode_writes_no_power_truth(tmp_path):
    generate(tmp_path / "p", START, 1, scale=0.02)
    assert not (tmp_path / "p" / "power_truth.csv").exists()


def test_targets_follow_the_indicator_thresholds():
    """Strength 1 is the threshold itself; s scales the excess over the null (or the distance to a bound)."""
    from pipelines.generate.power import THRESHOLD_KEYS, indicator_value, threshold

    for kind in THRESHOLD_KEYS:
        assert target(kind, 1.0) == pytest.approx(threshold(kind))
    z = indicator_value("price/spike_mad", "z_threshold")
    assert target("spike", 1.5) == pytest.approx(1.5 * z)
    rpi = indicator_value("price/cn_reference_7d", "rpi_threshold")
    assert target("cn7", 2.0) - 1 == pytest.approx(2 * (rpi - 1))
    shown = indicator_value("price/phantom_reference", "shown_share_threshold")
    assert 1 - target("phantom", 2.0) == pytest.approx((1 - shown) / 2)


def test_key_days_of_the_contexts():
    assert key_day("ordinary", START, 14) == 13
    assert key_day("campaign", START, 14) == 13            # 10-29 + 13 = 11-11, the 双11 peak
    assert key_day("campaign", dt.date(2026, 11, 10), 2) == 1
    with pytest.raises(ValueError, match="11-11"):
        key_day("campaign", START, 5)
    with pytest.raises(ValueError, match="context"):
        key_day("festival", START, 5)
    assert CONTEXTS == ("ordinary", "campaign", "small_cell", "new_shop", "high_volume")


def test_spike_modified_z_is_strength_times_threshold(ordinary):
    """price.spike_mad: modified z of the spike against that day's offers of its SKU (median / MAD over the shops'
    list and promo rows, as spike_mad.sql takes them) = strength x z_threshold."""
    con = duckdb.connect()
    for r in _primary(ordinary, "spike"):
        z = con.execute(f"""
            WITH day AS (
                SELECT shop_id, min(CAST(price AS DOUBLE)) AS price FROM read_csv('{_price_rows(ordinary)}', all_varchar=true)
                WHERE sku_id = ? AND CAST(observed_at AS DATE) = ? AND price_type IN ('list', 'promo')
                  AND account_cohort IS NULL AND condition = 'new' AND currency = 'CNY' AND price <> ''
                GROUP BY shop_id)
            SELECT 0.6745 * (max(price) FILTER (WHERE shop_id = ?) - median(price)) / mad(price) FROM day""",
                        [r["sku_id"], KEY, r["shop_id"]]).fetchone()[0]
        assert z == pytest.approx(target("spike", float(r["strength"])), rel=0.03), r


def test_runup_raise_is_one_plus_strength_times_ten_percent(ordinary):
    """price.pre_promo_runup: the raised price over the price before the raise = 1 + strength x (runup_threshold - 1)."""
    con = duckdb.connect()
    for r in _primary(ordinary, "runup"):
        before, raised = con.execute(f"""
            SELECT min(CAST(price AS DOUBLE)) FILTER (WHERE d < ? - 10), max(CAST(price AS DOUBLE)) FILTER (WHERE d < ?)
            FROM (SELECT *, CAST(observed_at AS DATE) AS d FROM read_csv('{_price_rows(ordinary)}', all_varchar=true))
            WHERE shop_id = ? AND sku_id = ? AND price_type = 'list'""", [KEY, KEY, r["shop_id"], r["sku_id"]]).fetchone()
        assert raised / before == pytest.approx(target("runup", float(r["strength"])), abs=0.002), r


def test_paired_probe_gap_is_strength_times_min_gap(ordinary):
    """discrimination.paired_probe: existing/vip pay (1 + strength x min_gap) x control in every round (against the
    median of the round's control and new accounts: 8 % of those carry a ±0.4 % scrape noise, the cohorts none)."""
    con = duckdb.connect()
    for r in _primary(ordinary, "probe"):
        gaps = con.execute(f"""
            WITH p AS (SELECT account_cohort AS c, CAST(price AS DOUBLE) AS price, substr(observed_at, 1, 13) AS rnd
                       FROM read_csv('{_price_rows(ordinary)}', all_varchar=true)
                       WHERE shop_id = ? AND account_cohort IS NOT NULL AND CAST(observed_at AS DATE) = ?)
            SELECT max(price) FILTER (WHERE c = 'vip') / median(price) FILTER (WHERE c IN ('control', 'new')) - 1
            FROM p GROUP BY rnd""", [r["shop_id"], KEY]).fetchall()
        assert len(gaps) == 3
        for (g,) in gaps:
            assert g == pytest.approx(target("probe", float(r["strength"])), abs=0.0015), r


def test_loyalty_premium_is_one_plus_strength_times_five_percent(ordinary):
    """discrimination.loyalty_premium: on the key day repeat buyers pay (1 + strength x (lp_threshold - 1)) x the new buyers."""
    land = ordinary / "landing" / "olist"
    con = duckdb.connect()
    for r in _primary(ordinary, "loyalty"):
        lo, hi = con.execute(f"""
            SELECT min(CAST(i.price AS DOUBLE)), max(CAST(i.price AS DOUBLE))
            FROM read_csv('{land}/*/olist_order_items_dataset.csv', all_varchar=true) AS i
            JOIN read_csv('{land}/*/olist_orders_dataset.csv', all_varchar=true) AS o USING (order_id)
            WHERE i.seller_id = ? AND CAST(o.order_purchase_timestamp AS DATE) = ?""",
                             [r["shop_id"], KEY]).fetchone()
        assert hi / lo == pytest.approx(target("loyalty", float(r["strength"])), abs=0.002), r


def test_parallel_plants_move_together_on_every_step(ordinary):
    """collusion.parallelism: the planted sellers of a cell share every ±3 % step (PAR 1 as documented), whatever
    the strength: each seller's change on a step day is in the step's direction and above min_change (0.5 %), and
    on the other days nobody moves. Before session 28 the shared walk's steps shrank near its bounds and the own
    noise flipped them (realised PAR 0.43-1 in the power provinces)."""
    con = duckdb.connect()
    plants = _primary(ordinary, "parallel")
    assert plants
    con.execute(f"""
        CREATE TABLE d AS SELECT sku_id, region_code, shop_id, CAST(observed_at AS DATE) AS d,
                                 median(CAST(price AS DOUBLE)) AS p
        FROM read_csv('{_price_rows(ordinary)}', all_varchar=true)
        WHERE list_contains(?, sku_id || ':' || region_code) AND price_type IN ('list', 'promo')
          AND account_cohort IS NULL GROUP BY ALL""", [[f"{r['sku_id']}:{r['region_code']}" for r in plants]])
    for r in plants:
        moves = con.execute("""
            WITH m AS (SELECT d, ln(p / lag(p) OVER (PARTITION BY shop_id ORDER BY d)) AS dlog FROM d
                       WHERE sku_id = ? AND region_code = ?)
            SELECT d, min(dlog), max(dlog), count(*) FROM m WHERE dlog IS NOT NULL AND d > ?::DATE - 28
            GROUP BY d ORDER BY d""", [r["sku_id"], r["region_code"], KEY]).fetchall()
        assert len(moves) >= 27, r
        steps = [m for m in moves if max(abs(m[1]), abs(m[2])) > 0.005]
        assert len(steps) >= 13, r                                   # every second day
        for _, lo, hi, n in steps:
            assert n >= 2 and (lo > 0.005 or hi < -0.005), (r, lo, hi)   # all up or all down, none hidden
        assert all(max(abs(m[1]), abs(m[2])) < 1e-3 for m in moves if m not in steps), r


def test_parallel_noise_realises_the_target_correlation():
    """The own noise's sd after clipping is the one that gives the target pair correlation: clipped_sd solves the
    clipped normal's variance (checked on a large sample), and a pair of sellers on exact ±STEP steps correlates at
    target("parallel", s)."""
    from pipelines.generate.planted_prices import NOISE_CLIP, STEP, clipped_sd

    g = np.random.default_rng(1)
    for s in STRENGTHS:
        r = target("parallel", s)
        sd = STEP * (1 / r - 1) ** 0.5
        sigma = clipped_sd(sd)
        assert sigma > sd
        eps = np.clip(g.normal(0, sigma, size=(400_000, 2)), -NOISE_CLIP, NOISE_CLIP)
        assert eps.std() == pytest.approx(sd, rel=0.01)
        steps = g.choice([-STEP, STEP], size=400_000)
        assert np.corrcoef(steps + eps[:, 0], steps + eps[:, 1])[0, 1] == pytest.approx(r, abs=0.003)


def _write_flags(home: Path, day: str, rows: list[dict]) -> None:
    d = home / "marts" / "indicator_flags" / f"dt={day}"
    d.mkdir(parents=True)
    cols = ["indicator_id", "shop_id", "sku_id", "region_code", "window_start", "window_end", "entity_id"]
    pq.write_table(pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in cols}), d / "part-0.parquet")


def test_evaluate_groups_detection_by_indicator_strength_and_context(tmp_path):
    """A hand-made home: two spike plants (1.2x missed, 3x found) in two contexts and a run-up side row."""
    truth = tmp_path / "truth"
    truth.mkdir()
    head = "indicator_id,platform,shop_id,uscc,sku_id,region_code,first_date,last_date"
    rows = ["price.spike_mad,jd,JD1,U1,S1,210100,2026-10-30,2026-10-30",
            "price.spike_mad,jd,JD2,U2,S1,210100,2026-10-30,2026-10-30",
            "price.spike_mad,tmall,TM3,U3,S2,210200,2026-11-11,2026-11-11",
            "price.eu_prior_30d,pdd,PD4,U4,S3,210100,2026-10-30,2026-10-30"]
    labels = ["1.2,ordinary", "3,ordinary", "1.2,campaign", ",ordinary"]
    (truth / "ground_truth.csv").write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    (truth / "power_truth.csv").write_text(
        "\n".join([head + ",strength,context"] + [f"{r},{lab}" for r, lab in zip(rows, labels)]) + "\n",
        encoding="utf-8")
    home = tmp_path / "home"
    _write_flags(home, "2026-10-30", [
        {"indicator_id": "price.spike_mad", "shop_id": "JD2", "sku_id": "S1", "window_start": "2026-10-30",
         "window_end": "2026-10-30"},
        {"indicator_id": "price.eu_prior_30d", "shop_id": "PD4", "sku_id": "S3", "window_start": "2026-10-30",
         "window_end": "2026-10-30"}])
    table = evaluate(home, truth)
    assert table["power"] == {
        ("price.spike_mad", "1.2", "campaign"): {"planted": 1, "detected": 0, "not_judged": 0},
        ("price.spike_mad", "1.2", "ordinary"): {"planted": 1, "detected": 0, "not_judged": 0},
        ("price.spike_mad", "3", "ordinary"): {"planted": 1, "detected": 1, "not_judged": 0},
    }
    assert table["indicators"]["price.spike_mad"]["detected"] == 1
    text = format_evaluation(table)
    assert "power (detected/planted" in text and "price.spike_mad" in text.split("power (")[1]
    # without power_truth.csv the table is the plain one
    (truth / "power_truth.csv").unlink()
    plain = evaluate(home, truth)
    assert "power" not in plain and "power (" not in format_evaluation(plain)


def test_clopper_pearson_exact_bounds():
    """The exact 95 % interval of a binomial rate: closed forms at the edges, a textbook value inside, symmetry."""
    lo, hi = clopper_pearson(5, 5)
    assert lo == pytest.approx(0.025 ** (1 / 5), abs=1e-9) and hi == 1.0          # 0.478: 5 of 5 is not 0.95
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-9)
    assert clopper_pearson(19, 20) == pytest.approx((0.7513, 0.9987), abs=1e-4)     # tables of the exact interval
    assert clopper_pearson(4, 5) == pytest.approx((0.2836, 0.9949), abs=1e-4)
    for k, n in ((3, 7), (1, 5), (9, 10)):
        lo, hi = clopper_pearson(k, n)
        lo2, hi2 = clopper_pearson(n - k, n)
        assert lo == pytest.approx(1 - hi2, abs=1e-9) and hi == pytest.approx(1 - lo2, abs=1e-9)
        assert lo < k / n < hi
    # 72 of 72 is the fewest plants whose lower bound reaches 0.95
    assert clopper_pearson(72, 72)[0] >= 0.95 > clopper_pearson(71, 71)[0]
    with pytest.raises(ValueError, match="k <= n"):
        clopper_pearson(6, 5)


def test_missed_plants_the_mart_reports_as_not_judgeable(tmp_path):
    """A missed plant counts as not judged when its published price_anomalies row says the rule could not be applied
    (phantom: insufficient history; run-up: no baseline; below-market: fewer days with enough peers than the share
    needs, 23 of 28), and as judged and missed otherwise; a detected plant is never not judged."""
    truth = tmp_path / "truth"
    truth.mkdir()
    head = "indicator_id,platform,shop_id,uscc,sku_id,region_code,first_date,last_date"
    rows = ["price.phantom_reference,jd,JD1,U1,S1,210100,2026-10-30,2026-10-30",
            "price.pre_promo_runup,jd,JD2,U2,S2,210100,2026-10-30,2026-10-30",
            "price.sustained_below_market,jd,JD3,U3,S3,210100,2026-10-30,2026-10-30",   # 0 days with peers
            "price.sustained_below_market,jd,JD4,U4,S4,210100,2026-10-30,2026-10-30",   # 28 days: judged, missed
            "price.sustained_below_market,jd,JD5,U5,S5,210100,2026-10-30,2026-10-30",   # 22 days: not judgeable
            "price.phantom_reference,jd,JD6,U6,S6,210100,2026-10-30,2026-10-30",        # checked: judged, missed
            "price.spike_mad,jd,JD7,U7,S7,210100,2026-10-30,2026-10-30"]                # detected
    (truth / "ground_truth.csv").write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    (truth / "power_truth.csv").write_text(
        "\n".join([head + ",strength,context"] + [f"{r},1.5,new_shop" for r in rows]) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    base = {"reference_history_status": None, "runup_promo_start": None, "runup_baseline_median": None,
            "days_with_peers_28d": None}
    write_part(home, "price_anomalies", "2026-10-30", [
        {**base, "shop_id": "JD1", "sku_id": "S1", "reference_history_status": "insufficient_history"},
        {**base, "shop_id": "JD2", "sku_id": "S2", "runup_promo_start": dt.date(2026, 10, 30)},
        {**base, "shop_id": "JD3", "sku_id": "S3", "days_with_peers_28d": 0},
        {**base, "shop_id": "JD4", "sku_id": "S4", "days_with_peers_28d": 28},
        {**base, "shop_id": "JD5", "sku_id": "S5", "days_with_peers_28d": 22},
        {**base, "shop_id": "JD6", "sku_id": "S6", "reference_history_status": "checked"},
        {**base, "shop_id": "JD7", "sku_id": "S7"}])
    _write_flags(home, "2026-10-30", [{"indicator_id": "price.spike_mad", "shop_id": "JD7", "sku_id": "S7",
                                       "window_start": "2026-10-30", "window_end": "2026-10-30"}])
    power = evaluate(home, truth)["power"]
    assert power[("price.phantom_reference", "1.5", "new_shop")] == {"planted": 2, "detected": 0, "not_judged": 1}
    assert power[("price.pre_promo_runup", "1.5", "new_shop")] == {"planted": 1, "detected": 0, "not_judged": 1}
    assert power[("price.sustained_below_market", "1.5", "new_shop")] == {"planted": 3, "detected": 0, "not_judged": 2}
    assert power[("price.spike_mad", "1.5", "new_shop")] == {"planted": 1, "detected": 1, "not_judged": 0}
    assert "0/3 [2]" in format_power(power)
    # merging two provinces sums every count
    merged = merge_power([{"power": power}, {"power": power}])
    assert merged[("price.sustained_below_market", "1.5", "new_shop")] == {"planted": 6, "detected": 0,
                                                                          "not_judged": 4}


# ------------------------------------------------------------------ surge and burst plant sizes (session 27)

def test_negative_binomial_tail_of_the_surge_plants():
    """power.nbinom_sf (what the surge plants are sized with) is the negative binomial upper tail with mean lam and
    Var = lam + alpha lam^2 (here summed from the pmf in log space, as surge.sql does), and the Poisson tail when
    alpha -> 0."""
    from pipelines.generate.power import nbinom_sf, poisson_sf

    def tail(k, lam, alpha):
        r = 1 / alpha
        return sum(math.exp(math.lgamma(j + r) - math.lgamma(r) - math.lgamma(j + 1) + r * math.log(1 / (1 + alpha * lam))
                            + j * math.log(alpha * lam / (1 + alpha * lam))) for j in range(k, k + 2000))
    for k, lam, alpha in [(5, 0.2, 0.5), (8, 1.2, 0.7), (35, 3.0, 0.5), (12, 4.0, 2.1)]:
        assert nbinom_sf(k, lam, alpha) == pytest.approx(tail(k, lam, alpha), rel=1e-6)
    assert nbinom_sf(9, 1.5, 1e-6) == pytest.approx(poisson_sf(9, 1.5), rel=1e-3)


def test_surge_and_burst_plants_pass_the_rules_threshold_at_strength_one():
    """k1 (strength 1) is the smallest count passing the rule's ratio, minimum and tail at its threshold: a plant at
    1.5x has half again as many complaints or five-star reviews, whatever the threshold is set to in the yml."""
    from pipelines.generate.power import (
        COMPLAINT_DISPERSION,
        FIVE_STAR_PER_ORDER,
        burst_count,
        indicator_value,
        nbinom_sf,
        poisson_sf,
        surge_count,
    )
    alpha = indicator_value("complaints/surge", "surge_alpha")
    for orders in (10, 30, 300):
        k1 = surge_count(1, orders)
        lam = max(0.01 * orders, indicator_value("complaints/surge", "min_expected"))
        assert nbinom_sf(k1, lam, COMPLAINT_DISPERSION) < alpha <= nbinom_sf(k1 - 1, lam, COMPLAINT_DISPERSION) or \
            k1 == max(5, math.ceil(5 * lam))
        assert surge_count(1.5, orders) == math.ceil(1.5 * k1)
    p = indicator_value("integrity/rating_burst", "poisson_p_threshold")
    for orders in (5, 20, 100):
        k1 = burst_count(1, orders)
        lam = max(FIVE_STAR_PER_ORDER * orders, 0.5)
        assert k1 >= 10 and poisson_sf(k1, lam) < p
        assert k1 == 10 or poisson_sf(k1 - 1, lam) >= p


# ------------------------------------------------------------------ complaint plants sized as the rules see them (s28)

def test_complaint_plants_are_sized_against_their_expected_orders():
    """A surge plant's k1 is taken at its expected orders of the key day, which on the 双11 peak are the campaign's
    (orders x 3, promotion x 1.3: the rule expects the day's orders and the market's rise), not an ordinary day's;
    a rate plant's share is set against the orders of the posterior's month to date the shop actually has (a shop
    open 15 days has 15 days of orders, not the month's). world.expected_orders is the price book's own demand."""
    import numpy as np

    from pipelines.generate.complaints import BASE_COMPLAINT_RATE
    from pipelines.generate.power import rate_share, surge_count
    from pipelines.generate.prices import PriceBook
    from pipelines.generate.world import build_world, expected_orders

    w = build_world(dt.date(2026, 11, 11), 1, 0.02, 7, power="campaign")
    offer = PriceBook(w, w.start, 1, 7, 35).offer(0, np.random.default_rng(0))
    surges = [p for p in w.plants if p.kind == "surge"]
    for p in [q for q in w.plants if q.kind in ("surge", "rate", "untimely")]:
        assert expected_orders(w, p, 0) == pytest.approx(offer.rate[p.params["listings"][0]])
    for p in surges:
        assert p.params["surge_orders"] == pytest.approx(p.params["rate"] * 1.3 * 3.0)
    p15 = next(p for p in surges if p.params["strength"] == 1.5)
    assert surge_count(1.5, p15.params["surge_orders"], BASE_COMPLAINT_RATE) > surge_count(1.5, p15.params["rate"])

    w = build_world(dt.date(2026, 10, 30), 1, 0.02, 7, power="new_shop")
    for p in [q for q in w.plants if q.kind == "rate"]:
        open_days = p.t0 - int(w.shop_open[p.shops[0]]) + 1
        assert open_days == 15 and p.params["rate_orders"] == pytest.approx(open_days * p.params["rate"])
        assert p.params["rate_share"] == pytest.approx(rate_share(p.params["strength"], open_days * p.params["rate"]))


def test_missed_untimely_plants_with_too_few_answers_are_not_judged(tmp_path):
    """complaints.untimely_response: a missed plant whose complaint_rates row says too few answers to judge a late
    share at the threshold (insufficient_complaints / few_complaints) is not judged; 'checked' is judged and missed."""
    truth = tmp_path / "truth"
    truth.mkdir()
    head = "indicator_id,platform,shop_id,uscc,sku_id,region_code,first_date,last_date"
    rows = [f"complaints.untimely_response,jd,JD{i},U{i},,210100,2026-10-16,2026-10-30" for i in (1, 2, 3)]
    (truth / "ground_truth.csv").write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    (truth / "power_truth.csv").write_text(
        "\n".join([head + ",strength,context"] + [f"{r},1.5,new_shop" for r in rows]) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    write_part(home, "complaint_rates", "2026-10-30", [
        {"shop_id": "JD1", "untimely_judgement_status": "insufficient_complaints"},
        {"shop_id": "JD2", "untimely_judgement_status": "few_complaints"},
        {"shop_id": "JD3", "untimely_judgement_status": "checked"}])
    power = evaluate(home, truth)["power"]
    assert power[("complaints.untimely_response", "1.5", "new_shop")] == {"planted": 3, "detected": 0,
                                                                          "not_judged": 2}
