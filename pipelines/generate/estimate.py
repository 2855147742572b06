"""How big a province will be before it is written: rows and bytes per source, and whether the disk has room.

The estimate is measured, not modelled: one day (no history) is generated at a probe scale of
min(scale, PROBE_SCALE) into a temporary folder, and its rows and bytes per source are extrapolated linearly
to the requested scale and to every day the run writes (the run's days plus the history days the first drop
carries). Listings, orders and complaints all grow linearly with the scale beyond a floor of a few hundred
shops, so above the probe scale the extrapolation is close; below it the probe *is* the requested scale. Days
differ (a campaign peak carries ~3x the orders of an ordinary day), which is why the disk check keeps a
margin (DISK_MARGIN) rather than trusting the figure to the byte.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .province import generate_province

PROBE_SCALE = 1.0
DISK_MARGIN = 1.5   # the disk must hold 1.5x the estimate: campaign days and the answer files are larger


@dataclass(frozen=True)
class Estimate:
    days_written: int           # run days + history days in the first drop
    rows: dict[str, int]        # per landing file kind
    total_rows: int
    total_bytes: int

    def describe(self) -> str:
        price = self.rows.get("price_observations", 0)
        return (f"estimate: {self.days_written} day(s) of data, about {self.total_rows:,} rows "
                f"({price:,} price observations), {_human(self.total_bytes)} on disk")


def estimate_province(start: dt.date, days: int, scale: float, seed: int, history_days: int) -> Estimate:
    """Generate one probe day at min(scale, PROBE_SCALE) and extrapolate to the whole run."""
    probe = min(float(scale), PROBE_SCALE)
    with tempfile.TemporaryDirectory(prefix="mm-estimate-") as tmp:
        counts = generate_province(Path(tmp), start, 1, probe, seed, quiet=True, history_days=0)
        probe_bytes = sum(p.stat().st_size for p in (Path(tmp) / "landing").rglob("*") if p.is_file())
    factor = (scale / probe) * (days + history_days)
    rows = {k: int(round(v * factor)) for k, v in counts.items()
            if not k.startswith(("ground_truth", "enterprises", "shops", "planted"))}
    return Estimate(days_written=days + history_days, rows=rows, total_rows=sum(rows.values()),
                    total_bytes=int(probe_bytes * factor))


def disk_shortfall(out: Path, est: Estimate) -> str | None:
    """A message when the disk under OUT lacks room for the estimate (with the margin), else None."""
    probe = Path(out)
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    need = int(est.total_bytes * DISK_MARGIN)
    if free >= need:
        return None
    return (f"not enough disk space under {out}: the province needs about {_human(est.total_bytes)} "
            f"(with a {DISK_MARGIN:g}x margin {_human(need)}) and {_human(free)} is free. "
            f"Write fewer days of history (--history-days; {est.days_written} days in all with --days), "
            f"a smaller --scale or fewer --days, or choose another --out")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
