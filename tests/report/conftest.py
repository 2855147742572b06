from __future__ import annotations

import pytest

from tests.report.fakehome import fake_home_with_bulletin


@pytest.fixture(scope="session")
def fake_home(tmp_path_factory):
    """A published home (12 days of leads, complaint rates, tiers, the draw) with the bulletin built."""
    return fake_home_with_bulletin(tmp_path_factory.mktemp("fake-home"))
