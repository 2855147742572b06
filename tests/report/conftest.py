from __future__ import annotations

import pytest

from tests.report.fakehome import RUN_DATE, build_fake_home


@pytest.fixture(scope="session")
def fake_home(tmp_path_factory):
    """A published home (12 days of leads, complaint rates, tiers, the draw) with the bulletin built."""
    from pipelines.serve.bulletin import build_bulletin
    from warehouse.db import connect_writer

    home = build_fake_home(tmp_path_factory.mktemp("fake-home"))
    con = connect_writer(home.db_path)
    try:
        bulletin = build_bulletin(con, home, RUN_DATE)
    finally:
        con.close()
    return home, bulletin
