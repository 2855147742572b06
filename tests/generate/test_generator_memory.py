"""The generator's memory savings change no byte (issue 23, the 100 M day): the price book's 30-day ring keeps a slot
per simulated day only, and the day's offer is the same as with the full ring."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pipelines.generate.prices import PriceBook
from pipelines.generate.world import build_world

START = dt.date(2026, 11, 5)  # the festival warm-up: promotions start and take honest references from the ring


@pytest.mark.parametrize("history_days,days", [(0, 1), (2, 5), (9, 12)])
def test_short_ring_gives_the_offers_of_the_full_ring(history_days, days):
    w = build_world(START, days, 0.05, 7)
    short = PriceBook(w, START, days, 7, history_days)
    full = PriceBook(w, START, days, 7, history_days)
    full.ring = np.full((30, len(w.l_shop)), np.nan, np.float32)   # the ring as it was before
    assert short.ring.shape[0] == min(30, history_days + days)
    for t in range(-history_days, days):
        a = short.offer(t, np.random.default_rng([7, 1, t + 10000]))
        b = full.offer(t, np.random.default_rng([7, 1, t + 10000]))
        for name in ("price", "ref", "order_price", "rate"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=f"{name} on day {t}")
        short.remember(t, a)
        full.remember(t, b)
    assert (short.pkind > 0).any(), "no promotion started: the honest references were not exercised"


def test_world_row_indices_are_compact():
    w = build_world(START, 1, 0.05, 7)
    assert {w.l_shop.dtype, w.l_sku.dtype, w.l_sched.dtype} == {np.dtype(np.int32)}
