"""A listing whose observations disagree on its platform or region (a feed error: CONTRACT §3 says region_code is the
shop's registered prefecture) gets the same ones on every rerun: the smallest (min), not whichever any_value() met
first, which depends on thread timing. Given/expect on the in-memory warehouse, for every price rule that takes them."""

from __future__ import annotations

from datetime import date

import pytest

from tests.indicators.given import observation
from tests.indicators.price._run import days, indicator, rows

RUN = date(2026, 11, 12)
RULES = ["price.cn_reference_7d", "price.eu_prior_30d", "price.phantom_reference", "price.pre_promo_runup",
         "price.spike_mad", "price.sustained_below_market"]


@pytest.mark.parametrize("rule", RULES)
def test_the_smallest_platform_and_region_are_taken(mem_warehouse, rule):
    con = mem_warehouse
    for d in days(date(2026, 10, 1), 43):
        # the listing S1/K1 promoted every day, seen twice a day: once as tmall/210200, once as jd/210100
        for platform, region, at in (("tmall", "210200", "09:00:00"), ("jd", "210100", "15:00:00")):
            observation(con, d.isoformat(), "S1", "K1", 80.0, reference_price=100.0, promo_start="2026-10-01",
                        platform=platform, region_code=region, at=at)
        for k in range(4):  # other sellers of the SKU, so the cross-seller rules have a row for it
            observation(con, d.isoformat(), f"P{k}", "K1", 90.0 + k, price_type="list")
    out = [r for r in rows(con, indicator(rule), RUN) if r["shop_id"] == "S1"]
    assert out, rule
    assert {(r["platform"], r["region_code"]) for r in out} == {("jd", "210100")}, rule
