"""二选一 (competition.exclusive_dealing): multi-homing merchants that leave every platform but one, toward the
same platform P in one month; with the decoys a detector must not count and ordinary churn around them.

All merchants here are extra enterprises (extras.py) with one shop per platform, each shop offering the same one
or two products (popular SKUs of the main world, never a planted SKU nor the cost-shock category), listed from
the start of the extra history (16 weeks back), so each is multi-homing in the 8 weeks before any exit.

- planted (`N_EXITING` merchants): on P and one or two other platforms; each leaves every other platform on one
  day or over up to 4 days (a 3-platform merchant's second shop first), all exits inside one calendar month
  `[exit_first, exit_last]`, the last one 20 days before the last generated day (so it has been away >= 14 days
  on the last days of the run); the shop on P stays. Ground truth: one row (platform P, exit range).
  When the run starts inside that month (the sample: exits 10-08..10-22, run from 10-29), a second case toward
  another platform P' in the month before (exits ending 8 days before that month ends), which the indicator
  reports on the run days of the planted month (it reports the month of D and the month before).
- decoy "closes everywhere" (`N_CLOSING`, toward platform Q): leaves the other platforms in the same month, then
  closes on Q 6 days later: gone from every platform, not an exit (the issue: "a merchant that closes everywhere
  is not an exit").
- decoy "pause" (`N_PAUSING`, toward platform Q2): the shop on the other platform is away for 8 days and comes
  back (not away for 14 days).
- background churn (`N_CHURN`): 2–3 platforms; `N_CHURN_CLOSE` of them close one shop on a random day of the
  history or the run (a 2-platform merchant doing so is an ordinary exit, toward whichever platform it kept).

Random stream `default_rng([seed, 7, 2])`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .extras import Extras
from .world import CITIES, PLATFORM_IDS, PLATFORMS, SHOCK_CATEGORY

INDICATOR = "competition.exclusive_dealing"
N_EXITING = 7
N_CLOSING = 4
N_PAUSING = 3
N_CHURN = 12
N_CHURN_CLOSE = 4
EXIT_SPAN = 14          # the exits of the planted month spread over at most 14 days
EXIT_LAST_BEFORE_END = 20   # the last planted exit is this many days before the last generated day
CLOSE_LAG = 6           # a closing decoy leaves its last platform this many days after the others
PAUSE_DAYS = 8          # a pausing decoy's shop is away this long
MULTIHOMING_DAYS = 56   # multi-homing is judged over the 8 weeks before an exit (issue 22)


def exit_window(start: dt.date, days: int) -> tuple[int, int]:
    """Day offsets of the first and last planted exit: one calendar month, at most EXIT_SPAN days."""
    last = days - 1 - EXIT_LAST_BEFORE_END
    d_last = start + dt.timedelta(days=last)
    month_first = (d_last.replace(day=1) - start).days
    return max(month_first, last - EXIT_SPAN), last


def plant_exclusive(x: Extras) -> dict:
    """Add the merchants to `x`; returns the planted platform and decoy platforms (for the docs and tests)."""
    rng = np.random.default_rng([x.seed, 7, 2])
    w = x.w
    planted_skus = {p.sku for p in w.plants}
    counts = np.bincount(w.l_sku, minlength=len(w.sku_id))
    pool = [int(k) for k in np.argsort(-counts, kind="stable")
            if w.sku_cat[k] != SHOCK_CATEGORY and int(k) not in planted_skus][:20]
    city_w = np.array([c[2] for c in CITIES], float)
    end = x.days - 1
    first_e, last_e = exit_window(x.start, x.days)
    order = rng.permutation(len(PLATFORMS))
    P, Q, Q2 = int(order[0]), int(order[1]), int(order[2])

    def merchant(kept: int | None, n_plat: int) -> tuple[list[int], list[int]]:
        """A new enterprise with one shop per platform (kept first when given) and its products."""
        city = int(rng.choice(len(CITIES), p=city_w / city_w.sum()))
        ent = x.add_enterprise(city)
        others = [int(p) for p in rng.permutation(len(PLATFORMS)) if p != kept]
        plats = ([kept] if kept is not None else []) + others[: n_plat - (kept is not None)]
        skus = [int(k) for k in rng.choice(pool, size=1 + int(rng.random() < 0.3), replace=False)]
        return [x.add_shop(ent, p) for p in plats], skus

    def list_shop(shop: int, skus: list[int], last: int, gap: tuple[int, int] | None = None) -> None:
        for k in skus:
            x.add_listing(shop, k, x.first_day, last, gap)

    out = {"platforms": [], "closing_platform": PLATFORM_IDS[Q], "pausing_platform": PLATFORM_IDS[Q2]}
    cases = [(P, first_e, last_e)]
    month_a = x.date(last_e).replace(day=1)
    if x.start.replace(day=1) == month_a:
        # the run has days in the planted month, on which the month before is reported too: a second case there,
        # toward another platform
        last_b = (month_a - x.start).days - 8
        b_first = (x.date(last_b).replace(day=1) - x.start).days
        cases.append((int(order[3]), max(b_first, last_b - EXIT_SPAN), last_b))
    # a case is planted only when the data show its merchants multi-homing before the exits (not with history_days=0)
    cases = [c for c in cases if c[1] - MULTIHOMING_DAYS >= x.first_day]
    for kept, c_first, c_last in ([] if x.clean else cases):
        closed = []
        for i in range(N_EXITING):
            shops, skus = merchant(kept, 2 + i % 2)
            e = c_first + int(round(i * (c_last - c_first) / max(1, N_EXITING - 1)))
            list_shop(shops[0], skus, end)
            for j, s in enumerate(shops[1:]):
                c = max(c_first, e - int(rng.integers(1, 5))) if j < len(shops) - 2 else e
                list_shop(s, skus, c)
                closed.append(c)
        out["platforms"].append(PLATFORM_IDS[kept])
        # exit dates: last day seen on the platform left .. first day away
        x.truth.append((INDICATOR, PLATFORM_IDS[kept], "", "", "", "", x.date(min(closed)), x.date(max(closed) + 1)))
    for i in range(N_CLOSING):
        shops, skus = merchant(Q, 2 + i % 2)
        c = first_e + int(round(i * (last_e - first_e) / max(1, N_CLOSING - 1)))
        list_shop(shops[0], skus, c + CLOSE_LAG)
        for s in shops[1:]:
            list_shop(s, skus, c)
    for i in range(N_PAUSING):
        shops, skus = merchant(Q2, 2)
        c = first_e + int(round(i * (last_e - first_e) / max(1, N_PAUSING - 1)))
        list_shop(shops[0], skus, end)
        list_shop(shops[1], skus, end, gap=(c + 1, c + PAUSE_DAYS))
    churn_close = set(rng.choice(N_CHURN, size=N_CHURN_CLOSE, replace=False).tolist())
    for i in range(N_CHURN):
        shops, skus = merchant(None, 2 + int(rng.random() < 0.5))
        gone = int(rng.integers(0, len(shops))) if i in churn_close else -1
        c = int(rng.integers(min(x.first_day + 28, end), end + 1))
        for j, s in enumerate(shops):
            list_shop(s, skus, c if j == gone else end)
    return out
