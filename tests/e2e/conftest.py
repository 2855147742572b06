from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.generate.sample import sample_days, sample_landing


def lay_sample(home: Path) -> list:
    shutil.copytree(sample_landing(), home / "landing", dirs_exist_ok=True)
    return sample_days()


@pytest.fixture(scope="session")
def cli_home(demo_home):
    """A home with every sample day run through the CLI, as `market-monitor demo` does."""
    return demo_home
