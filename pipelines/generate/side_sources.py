"""The issue-22 part of the province, driven by province.py through four calls: the sources `quality_sampling` and
`inspection_results`, and the plants of competition.exclusive_dealing, advertising.absolute_terms and
quality.failed_sample_on_sale (all on the extra listings of extras.py, with their own random streams).

    side = SideSources(world, landing, events, start, days, seed, history_days, clean)
    side.register(0)          # before the first drop's registry is written: the extra shops join it
    side.prehistory(sinks)    # the extra listings' days before the common history (first drop)
    side.day(t, sinks)        # every day: extra price rows; from day 0 the two sources' files
    rows = side.truth(truth_rows(...)); tiers = side.tiers(expected_tiers(..., rows))
"""

from __future__ import annotations

import datetime as dt

from .exclusive import plant_exclusive
from .extras import Extras
from .inspections import Inspections
from .landing import Landing
from .listings_ads import plant_absolute_terms
from .quality import QualitySampling
from .sinks import Sink
from .truth import sort_truth
from .world import World


class SideSources:
    def __init__(self, w: World, landing: Landing, events: dict, start: dt.date, days: int, seed: int,
                 history_days: int, clean: bool = False):
        self.landing = landing
        self.x = Extras(w, start, days, seed, history_days, clean=clean, events=events)
        self.exclusive = plant_exclusive(self.x)
        plant_absolute_terms(self.x)
        self.quality = QualitySampling(self.x, landing)
        self.x.finish()
        self.inspections = Inspections(self.x, landing)

    def register(self, t: int) -> None:
        cols = self.x.registry_cols() if t == 0 else None
        if cols:
            self.landing.add_rows("registry", t, cols)

    def prehistory(self, sinks: dict[str, Sink]) -> None:
        self.x.prehistory(sinks)

    def day(self, t: int, sinks: dict[str, Sink]) -> None:
        self.x.day(t, sinks)
        self.quality.day(t)
        self.inspections.day(t)

    def truth(self, rows: list[tuple]) -> list[tuple]:
        """The main world's ground-truth rows with the issue-22 plants, sorted as truth_rows sorts."""
        return sort_truth(rows + self.x.truth_rows())

    def tiers(self, tiers: list[tuple]) -> list[tuple]:
        """Expected tiers with the extra enterprises and the spot-check results that move a tier."""
        factors = self.inspections.tier_factors()
        out = [(u, *factors[u]) if t == "A" and u in factors else (u, t, r) for u, t, r in tiers]
        for j in range(len(self.x.ent_city)):
            uscc = str(self.x.ent_uscc[j])
            out.append((uscc, *factors.get(uscc, ("A", "clean"))))
        return sorted(out)
