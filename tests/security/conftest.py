from __future__ import annotations

from tests.reliability import figures
from tests.reliability.conftest import template_d1  # noqa: F401 - the shared run home, as a fixture


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures.print_once(terminalreporter)
