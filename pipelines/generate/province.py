"""The day loop of the synthetic province: each simulated day, prices, orders, complaints, registers and
reviews, in that order; then the answer files.

Random numbers: the static world comes from `default_rng([seed, 0])` (world.py), and every simulated day
has its own `default_rng([seed, 1, day + 10000])`, passed to each job of the day in the order below (its
draws are therefore part of the output: reordering the jobs changes the bytes). A few fixed side streams
(`[seed, 2..6]`) serve the product catalogue, the phantom history, the parallel-pricing walk, the register
events and the regulators' USCCs. Work is vectorised over all listings / orders / shops of the day, and
every day's rows are written as soon as they are made (flat memory in --days).

Days t < 0 are the history carried by the first drop (its files are closed after day 0).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from .complaints import Complaints
from .landing import Landing
from .orders import OrderBook, write_products
from .power import power_labels, write_power_truth
from .price_rows import PriceRows
from .prices import PriceBook
from .registers import Registers
from .side_sources import SideSources
from .sinks import Sink
from .truth import expected_tiers, truth_rows, write_answers
from .world import HISTORY_DAYS, build_world


class Province:
    def __init__(self, out: Path, start: dt.date, days: int, scale: float, seed: int,
                 compress: bool = False, history_days: int = HISTORY_DAYS, clean: bool = False,
                 power: str | None = None):
        self.out = Path(out)
        self.start = start
        self.days = days
        self.seed = seed
        self.history_days = history_days
        self.power = power
        self.w = build_world(start, days, scale, seed, clean=clean, power=power)
        self.landing = Landing(self.out, start, compress)
        self.registers = Registers(self.w, self.landing, days, seed)
        self.prices = PriceBook(self.w, start, days, seed, history_days)
        self.price_rows = PriceRows(self.w, start, seed)
        self.orders = OrderBook(self.w, start, days, scale)
        self.complaints = Complaints(self.w, start)
        # issue 22: quality sampling, spot-check results and their plants, on their own streams (side_sources.py)
        self.side = SideSources(self.w, self.landing, self.registers.events, start, days, seed, history_days, clean)

    def run(self, quiet: bool = True) -> dict:
        sinks = self.landing.day_sinks(0)
        write_products(sinks, self.w, self.seed)
        self.side.register(0)
        self.registers.shops_opened(0, sinks)
        self.price_rows.phantom_prehistory(sinks, self.prices)
        self.side.prehistory(sinks)
        for t in range(-self.history_days, self.days):
            if t > 0:
                sinks = self.landing.day_sinks(t)
            self._day(t, sinks)
            if t >= 0:
                self.landing.close_day(sinks)
                if not quiet:
                    print(f"  {self.start + dt.timedelta(days=t)}: done", flush=True)
        return self._finish()

    def _day(self, t: int, sinks: dict[str, Sink]) -> None:
        rng = np.random.default_rng([self.seed, 1, t + 10000])
        offer = self.prices.offer(t, rng)
        self.price_rows.day(t, sinks, rng, offer, self.prices)
        offer.release_shown()
        sold = self.orders.day(t, sinks, rng, rng.poisson(offer.rate), offer.order_price)
        if sold is not None:
            self.prices.record_trades(*sold)
        self.prices.remember(t, offer)
        self.complaints.day(t, sinks, rng, self.orders.today_by_shop)
        self.registers.day(t)
        if t > 0:
            self.registers.shops_opened(t, sinks)
        self.orders.reviews.flush(t, sinks)
        self.side.day(t, sinks)

    def _finish(self) -> dict:
        """Write the answer files; return row counts per file plus truth, enterprise, shop and PII counts."""
        rows = self.side.truth(truth_rows(self.w, self.start, self.history_days))
        tiers = self.side.tiers(expected_tiers(self.w, self.registers.events, self.days, rows))
        n_pii = write_answers(self.out, rows, tiers, self.complaints.pii)
        if self.power:   # strength and context of every truth row (power.py)
            write_power_truth(self.out, rows, power_labels(self.w, rows))
        summary = dict(sorted(self.landing.counts.items()))
        summary["ground_truth_rows"] = len(rows)
        summary["enterprises"] = len(tiers)
        summary["shops"] = int(len(self.w.shop_id))
        summary["planted_pii"] = n_pii
        return summary


def generate_province(out: Path, start: dt.date, days: int, scale: float, seed: int, quiet: bool = True,
                      compress: bool = False, history_days: int = HISTORY_DAYS, clean: bool = False,
                      power: str | None = None) -> dict:
    return Province(out, start, days, scale, seed, compress=compress, history_days=history_days,
                    clean=clean, power=power).run(quiet=quiet)
