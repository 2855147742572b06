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


class IngestFailed(RunError):
    """Ingesting a file failed for a reason that is not the file's fault (exit 1): out of memory, a full
    disk, a DuckDB internal error or a bug. The file is not booked as `rejected` (docs/RELIABILITY.md)."""

    def __init__(self, message: str, file: str | None = None):
        super().__init__(message)
        self.file = file


class SchemaMismatch(RunError):
    """The warehouse's raw/staging tables differ from the source ymls (a yml column without a migration,
    or a migration edited after it was applied). The message names table, column and the command to run."""
