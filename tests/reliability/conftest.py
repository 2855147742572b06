from __future__ import annotations

from tests.reliability import figures


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures.print_once(terminalreporter)

# the shared run home `template_d1` lives in tests/conftest.py: one instance for tests/reliability and
# tests/security (a fixture imported into two conftests is built twice)
