"""The shape of a source yml (pipelines/ingest/sources/<id>.yml), checked when the catalogue loads it.

The keys are documented in the docstring of pipelines.ingest.catalogue; this module only says which
keys exist, which are required and what type each value has.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from pipelines.ingest.yml_spec import StrictSpec

ColumnType = Literal["text", "free_text", "enum", "uscc", "timestamp", "date", "integer", "boolean", "price",
                     "decimal"]


class DescriptionSpec(StrictSpec):
    zh: str = ""
    en: str = ""


class PublisherSpec(StrictSpec):
    name: str | None = None
    url: str | None = None


class ColumnSpec(StrictSpec):
    name: str
    type: ColumnType = "text"
    aliases: list[str] = []
    required: bool = False
    nullable: bool = True
    scale: int = 2
    values: list[str] = []
    null_values: list[str] = []
    strip_decimal_zero: bool = False
    description: DescriptionSpec = DescriptionSpec()


class DerivedSpec(StrictSpec):
    name: str
    type: str  # a column type above or a DuckDB type such as "DECIMAL(18, 2)"
    sql: str


class VersionSpec(StrictSpec):
    name: str
    detect: list[str]


class RowBoundsSpec(StrictSpec):
    min: int | None = None
    max: int | None = None


class TableSpec(StrictSpec):
    table: str
    file_patterns: list[str] = ["*"]
    formats: list[Literal["csv", "json"]] = ["csv"]
    columns: list[ColumnSpec]
    key: list[str] = []
    history: bool = False
    current_order: list[str] = []
    event_column: str | None = None
    row_bounds: RowBoundsSpec = RowBoundsSpec()
    versions: list[VersionSpec] = []
    derived: list[DerivedSpec] = []
    description: DescriptionSpec = DescriptionSpec()


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
_EXPECTED = re.compile(r"^(daily|on_events|weekly:(" + "|".join(WEEKDAYS) + r"))$")


class SourceSpec(StrictSpec):
    id: str
    title: str
    order: int
    schedule: str
    expected: str  # daily | weekly:<mon..sun> | on_events: when a drop for business date D must be there
    publisher: PublisherSpec = PublisherSpec()
    landing_page: str | None = None
    download_url: str | None = None
    licence: str = ""
    refresh: str = ""
    ci_test: bool = False
    tables: list[TableSpec]

    @field_validator("schedule")
    @classmethod
    def _five_cron_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a cron expression of five fields (minute hour day month weekday)")
        return value

    @field_validator("expected")
    @classmethod
    def _known_cadence(cls, value: str) -> str:
        if not _EXPECTED.match(value):
            raise ValueError(f"{value!r} is not one of daily, weekly:<{'|'.join(WEEKDAYS)}>, on_events")
        return value
