from __future__ import annotations

from tests.reliability import figures


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures.print_once(terminalreporter)
