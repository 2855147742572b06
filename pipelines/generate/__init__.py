"""Synthetic Liaoning province with planted ground truth (issue 4).

    from pipelines.generate import generate
    summary = generate(out, start, days, scale=1.0, seed=20261111)

writes OUT/landing/<source>/<YYYY-MM-DD>/..., OUT/ground_truth.csv, OUT/expected_tiers.csv and
OUT/planted_pii.txt. Same seed -> byte-identical files. See docs/GENERATOR.md.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from .province import generate_province
from .world import HISTORY_DAYS

__all__ = ["generate", "write_sample", "SAMPLE_START", "SAMPLE_DAYS", "SAMPLE_SEED", "SAMPLE_SCALE",
           "SAMPLE_DIR", "DEFAULT_SEED"]

DEFAULT_SEED = 20261111
SAMPLE_START = dt.date(2026, 10, 29)
SAMPLE_DAYS = 14
SAMPLE_SEED = DEFAULT_SEED
SAMPLE_SCALE = 0.02
SAMPLE_DIR = Path(__file__).resolve().parent / "sample_province"


def generate(out: Path, start: dt.date, days: int, scale: float = 1.0, seed: int = DEFAULT_SEED,
             quiet: bool = True, *, compress: bool = False, history_days: int = HISTORY_DAYS,
             clean: bool = False, power: str | None = None) -> dict:
    """Write a synthetic province into OUT (usable directly as a market-monitor home).

    Returns row counts per source/file plus ground-truth, enterprise, shop and PII counts.
    `compress` writes the UTF-8 bulk files as one-CSV `.zip` files; `history_days` is how many days
    before `start` the first drop carries (default 35). `clean` plants no anomaly (same world and campaigns;
    the false-positive control of docs/ACCURACY.md): ground_truth.csv is then empty.
    `power` (a context of power.CONTEXTS) plants every kind at each strength of power.STRENGTHS in that context and
    writes OUT/power_truth.csv (docs/ACCURACY.md, power curves).
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    if scale <= 0:
        raise ValueError("scale must be > 0")
    out = Path(out)
    if (out / "landing").exists():
        shutil.rmtree(out / "landing")
    out.mkdir(parents=True, exist_ok=True)
    return generate_province(out, start, int(days), float(scale), int(seed), quiet=quiet,
                             compress=compress, history_days=history_days, clean=clean,
                             power=power)


def write_sample(dest: Path = SAMPLE_DIR) -> dict:
    """(Re)generate the bundled demo province (committed as pipelines/generate/sample_province/)."""
    return generate(Path(dest), SAMPLE_START, SAMPLE_DAYS, scale=SAMPLE_SCALE, seed=SAMPLE_SEED,
                    compress=True)
