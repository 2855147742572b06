"""Errors that reach a person: each carries a message meant to be read, not a traceback."""


class MarketMonitorError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 1


class UserError(MarketMonitorError):
    """Bad usage or bad input the user must fix (exit 2). Name the file, row and column."""

    exit_code = 2


class RunError(MarketMonitorError):
    """The run failed (exit 1). Say which stage and why."""

    exit_code = 1


class WarehouseBusy(RunError):
    """Another process holds the warehouse for writing."""


class QualityGateFailed(RunError):
    """A blocking expectation failed; the partition was not published."""
