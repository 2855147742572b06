"""The home folder: all state of one deployment (docs/CONTRACT.md §1)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import UserError

HOME_ENV = "MARKET_MONITOR_HOME"
DEFAULT_HOME = "./var"
# A mart partition is one parquet file: marts/<mart>/dt=<YYYY-MM-DD>/part-0.parquet.
PART_NAME = "part-0.parquet"
PARTITION_PREFIX = "dt="
MANIFEST_NAME = "_manifest.json"
# The data dictionary is published as one file beside the marts: marts/data_dictionary/data_dictionary.parquet.
DICTIONARY_MART = "data_dictionary"
DICTIONARY_FILE = "data_dictionary.parquet"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, cli_value: str | os.PathLike | None = None) -> "Home":
        """`--home`, else $MARKET_MONITOR_HOME, else ./var (docs/CONTRACT.md §1)."""
        chosen = cli_value or os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(chosen).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def db_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def marts(self) -> Path:
        return self.root / "marts"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def quality(self) -> Path:
        return self.root / "quality"

    @property
    def config_file(self) -> Path:
        """Optional overrides of indicator thresholds and run settings (YAML)."""
        return self.root / "config.yml"

    def landing_dir(self, source: str, business_date) -> Path:
        return self.landing / source / str(business_date)

    def quarantine_dir(self, source: str, business_date) -> Path:
        return self.quarantine / source / str(business_date)

    def mart_dir(self, mart: str) -> Path:
        return self.marts / mart

    def partition_dir(self, mart: str, business_date) -> Path:
        """marts/<mart>/dt=<D>: one business date of a mart."""
        return self.mart_dir(mart) / f"{PARTITION_PREFIX}{business_date}"

    def partition_file(self, mart: str, business_date) -> Path:
        return self.partition_dir(mart, business_date) / PART_NAME

    def partition_files(self, mart: str) -> list[Path]:
        """Every published partition file of a mart, oldest date first."""
        return sorted(self.mart_dir(mart).glob(f"{PARTITION_PREFIX}*/{PART_NAME}"))

    def partition_glob(self, mart: str) -> Path:
        """The glob of a mart's partition files, for DuckDB's read_parquet."""
        return self.mart_dir(mart) / f"{PARTITION_PREFIX}*" / PART_NAME

    def manifest_path(self, mart: str) -> Path:
        """The mart's manifest: schema version, columns, rows and sha256 per partition."""
        return self.mart_dir(mart) / MANIFEST_NAME

    @property
    def dictionary_file(self) -> Path:
        """The published data dictionary (one row per mart column)."""
        return self.mart_dir(DICTIONARY_MART) / DICTIONARY_FILE

    def ensure(self) -> "Home":
        for path in (self.landing, self.marts, self.quarantine, self.reports, self.quality):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def inside(self, path: os.PathLike | str) -> Path:
        """Resolve `path` and refuse it unless it stays inside the home folder."""
        resolved = Path(path).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise UserError(f"path {path} leaves the home folder {self.root}; refused")
        return resolved
