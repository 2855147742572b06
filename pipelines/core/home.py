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
# Everything beside the partitions lives outside the mart folders, so that a glob over a mart folder
# (`<mart>/*/*`, `<mart>/**`, Polars' scan of the folder) sees nothing but parquet (docs/CONTRACT.md §1):
# manifests in marts/_manifests/<mart>.json, publish temp files in marts/.staging/<mart>/ (on the same
# filesystem as the marts, so the swap into place stays an atomic rename).
MANIFESTS_DIR = "_manifests"
STAGING_DIR = ".staging"
LEGACY_MANIFEST_NAME = "_manifest.json"  # marts/<mart>/_manifest.json before 0.2.0; moved at the next publish
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

    @property
    def manifests_dir(self) -> Path:
        """marts/_manifests: one manifest per mart (not a mart: no partitions)."""
        return self.marts / MANIFESTS_DIR

    def manifest_path(self, mart: str) -> Path:
        """The mart's manifest: schema version, columns, and per partition its rows, sha256 and columns."""
        return self.manifests_dir / f"{mart}.json"

    def legacy_manifest_path(self, mart: str) -> Path:
        """Where a home published before 0.2.0 keeps the mart's manifest (moved by the next publish)."""
        return self.mart_dir(mart) / LEGACY_MANIFEST_NAME

    @property
    def staging_dir(self) -> Path:
        """marts/.staging: files being published, written here and renamed into their partition."""
        return self.marts / STAGING_DIR

    def mart_staging_dir(self, mart: str) -> Path:
        return self.staging_dir / mart

    @classmethod
    def of_mart_dir(cls, mart_dir: os.PathLike | str) -> tuple["Home", str]:
        """The home and mart name of a folder laid out as Home.mart_dir(mart) (HOME/marts/<mart>)."""
        folder = Path(mart_dir)
        home = cls(folder.parent.parent)
        if home.mart_dir(folder.name) != folder:
            raise ValueError(f"{folder} is not a mart folder HOME/marts/<mart>")
        return home, folder.name

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
