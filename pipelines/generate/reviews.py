"""Reviews of the day's orders: the survey is sent the day after delivery (or at the estimated date when
undelivered) and each review lands in the drop of the day it is answered. Planted fast/before-delivery
answers and 5-star bursts are made here too.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fmt
from .sinks import Sink

SCORE_P = [0.11, 0.03, 0.08, 0.19, 0.59]   # review scores 1..5 (Olist-like)
# order review modes (orders.py): what kind of review an order gets
NORMAL, NO_REVIEW, FAST, BURST = 0, 1, 2, 3
DELIVERED, SHIPPED, CANCELED = 0, 1, 2


class ReviewQueue:
    """Reviews waiting for the day they are answered."""

    def __init__(self, days: int):
        self.days = days
        self.pending: dict[int, list[dict]] = {}
        self.seq = 0

    def schedule(self, t: int, rng: np.random.Generator, oid: pa.Array, status: np.ndarray, mode: np.ndarray,
                 deliv: np.ndarray, est: np.ndarray, burst_day: np.ndarray, day: int) -> None:
        """Decide which of day t's orders get a review, when and with what score (times in seconds from
        the order day `day`)."""
        n = len(status)
        rv = np.flatnonzero(((status == DELIVERED) & (mode != NO_REVIEW) & (rng.random(n) < 0.85)) |
                            (mode >= FAST) | ((status == SHIPPED) & (rng.random(n) < 0.5)))
        if len(rv) == 0:
            return
        m = mode[rv]
        create = np.where(status[rv] == SHIPPED, est[rv], (deliv[rv] // 86400 + 1) * 86400)
        answer = create + 2 * 3600 + rng.lognormal(np.log(20 * 3600), 0.8, len(rv)).astype(np.int64)
        score = rng.choice(np.arange(1, 6), len(rv), p=SCORE_P)
        fast = m == FAST
        quick = rng.random(len(rv)) < 0.75
        answer = np.where(fast & quick, deliv[rv] + rng.integers(120, 2400, len(rv)), answer)
        answer = np.where(fast & ~quick, deliv[rv] - rng.integers(3600, 10 * 3600, len(rv)), answer)
        create = np.where(fast, (answer // 86400) * 86400, create)
        bm = m == BURST
        answer = np.where(bm, (burst_day[rv] - t) * 86400 + rng.integers(9 * 3600, 21 * 3600, len(rv)), answer)
        create = np.where(bm, np.minimum(create, (answer // 86400) * 86400), create)
        score = np.where(fast | bm, 5, score)
        ans_day = t + answer // 86400
        for d in np.unique(ans_day):
            s = ans_day == d
            self.pending.setdefault(int(d), []).append(dict(
                order_id=oid.take(pa.array(rv[s])), score=score[s], create=create[s], answer=answer[s],
                base_day=day))

    def flush(self, t: int, sinks: dict[str, Sink]) -> None:
        """Write the reviews answered on day t (after the last day, the rest are never answered)."""
        lst = self.pending.pop(t, [])
        if t == self.days - 1:
            self.pending.clear()
        for r in lst:
            n = len(r["score"])
            rid = fmt.join("rv", fmt.zint(np.arange(self.seq, self.seq + n), 9))
            self.seq += n
            has_msg = (r["score"] <= 2) & (np.arange(n) % 2 == 0)
            msg = np.where(has_msg, "质量一般，和描述不太一样", "")
            sinks["olist_order_reviews_dataset.csv"].write({
                "review_id": rid, "order_id": r["order_id"], "review_score": fmt.ints(r["score"]),
                "review_comment_title": None,
                "review_comment_message": pc.if_else(pa.array(has_msg), pa.array(msg), pa.nulls(n, pa.string())),
                "review_creation_date": fmt.timestamps(np.full(n, r["base_day"]), r["create"]),
                "review_answer_timestamp": fmt.timestamps(np.full(n, r["base_day"]), r["answer"])})
