from __future__ import annotations

from tests.reliability import figures


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures.print_once(terminalreporter)


import pytest  # noqa: E402

from tests.reliability.helpers import D1, cli, lay_days  # noqa: E402


@pytest.fixture(scope="session")
def template_d1(tmp_path_factory):
    """A home holding the first two sample days' drops, with D1 run once through the CLI (the 'old'
    published state the fault, disk, concurrency and idempotency tests start from; copy it, never
    change it)."""
    home = tmp_path_factory.mktemp("template") / "home"
    lay_days(home)
    done = cli(home, "run", "--date", D1.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    return home
