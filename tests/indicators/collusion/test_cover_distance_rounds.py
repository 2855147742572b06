"""Given/expect tests of the repetition condition of collusion.cover_distance (cover_weeks, markup_tolerance).

A cover arrangement keeps the same designated winner and holds each cover's markup over it round after round; a
chance cover shape of independent prices (a cheap seller, competitors that happen to list close together) moves as
soon as one of them reprices. The cell is flagged only when this week and each of the cover_weeks - 1 (2) weeks
before have the cover shape with the same lowest seller and every one of this week's covers at the same markup over
the winner (within markup_tolerance, 0.2 %)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.indicators.collusion.test_cover_distance_clean import (
    CELL,
    RUN,
    WEEK,
    _background,
    _category,
    _list_days,
)
from tests.indicators.price._run import indicator, rows

W42 = WEEK - timedelta(days=14)   # Monday of ISO week 42 (two rounds before the current week 44)
W43 = WEEK - timedelta(days=7)
COVERS = [118.0, 119.0, 120.0, 121.0]


def _round(con, monday, prices, n=7, sku="K1"):
    """One week (or the first n days of it) of list prices of the winner X0 and the covers X1..X4."""
    for i, p in enumerate(prices):
        _list_days(con, f"X{i}", sku, p, monday, n)


def _k1(con):
    _category(con)
    row = next(r for r in rows(con, indicator("collusion.cover_distance"), RUN) if r["entity_id"] == f"K1:210100:{CELL}")
    return row, json.loads(row["evidence"])


def test_designated_winner_with_covers_held_for_three_weeks_is_flagged(mem_warehouse):
    """Given the same winner at 100 and covers at 118-121 in weeks 42, 43 and 44 (to Thursday). Expect a flag with
    cover_rounds 3 and both earlier rounds listed with the winner and no markup move."""
    con = mem_warehouse
    _background(con)
    _round(con, W42, [100.0] + COVERS, n=18)
    row, ev = _k1(con)
    assert row["flagged"] and ev["cover_rounds"] == 3 and ev["cover_weeks_required"] == 3
    assert [r["week"] for r in ev["earlier_rounds"]] == ["2026-W42", "2026-W43"]
    assert all(r["lowest_shop_id"] == "X0" and r["max_markup_move"] == 0 and r["covers_seen"] == 4
               for r in ev["earlier_rounds"])


def test_two_rounds_are_not_enough(mem_warehouse):
    """Given the same pattern from week 43 only (nothing in the cell in week 42). Expect no flag: cover_rounds 2 < 3
    (the boundary of cover_weeks: one week earlier start is the flag above)."""
    con = mem_warehouse
    _background(con)
    _round(con, W43, [100.0] + COVERS, n=11)
    row, ev = _k1(con)
    assert row["rd"] > row["threshold"] and ev["cover_rounds"] == 2 and not row["flagged"]


def test_covers_moving_in_step_with_the_winner_hold_their_markup(mem_warehouse):
    """Given the winner repricing 100 -> 105 -> 110 week by week and every cover moving in step (the same markups
    over it). Expect a flag: a cover priced off the winner keeps its distance, not its price."""
    con = mem_warehouse
    _background(con)
    for monday, f in ((W42, 1.0), (W43, 1.05)):
        _round(con, monday, [round(p * f, 2) for p in [100.0] + COVERS])
    _round(con, WEEK, [round(p * 1.10, 2) for p in [100.0] + COVERS], n=4)
    row, ev = _k1(con)
    assert row["flagged"] and ev["cover_rounds"] == 3
    assert all(r["max_markup_move"] <= 0.0001 for r in ev["earlier_rounds"])


@pytest.mark.parametrize(("earlier_cover", "flagged"), [(118.19, True), (118.21, False)])
def test_markup_tolerance_boundary(mem_warehouse, earlier_cover, flagged):
    """Given the held pattern, except that cover X1 listed at 118.19 (markup move 0.19 % against this week's 118.00
    over a winner at 100) or 118.21 (0.21 %) in week 42. Expect a flag below markup_tolerance (0.2 %), none above."""
    con = mem_warehouse
    _background(con)
    _round(con, W42, [100.0, earlier_cover] + COVERS[1:])
    _round(con, W43, [100.0] + COVERS, n=11)
    row, ev = _k1(con)
    assert ev["earlier_rounds"][0]["max_markup_move"] == round(earlier_cover / 100 - 1.18, 4)
    assert row["flagged"] is flagged and ev["cover_rounds"] == (3 if flagged else 2)


def test_another_winner_in_an_earlier_round_breaks_the_rounds(mem_warehouse):
    """Given week 42 with a different lowest seller (X1 at 99 undercuts X0 at 100; the others as before), then weeks
    43-44 with X0 the winner at 100 and the covers at 118-121. Expect no flag: the designated winner is not the same
    in every round."""
    con = mem_warehouse
    _background(con)
    _round(con, W42, [100.0, 99.0] + COVERS[1:])
    _round(con, W43, [100.0] + COVERS, n=11)
    row, ev = _k1(con)
    assert ev["earlier_rounds"][0]["lowest_shop_id"] == "X1" and ev["cover_rounds"] == 2 and not row["flagged"]
