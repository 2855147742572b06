"""The source ymls are checked when the catalogue loads them: a misspelt key is an error that names
the file and the key, and every shipped yml passes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import get_args

import pytest
import yaml

from pipelines.core.errors import UserError
from pipelines.ingest.catalogue import SOURCE_IDS, SOURCES_DIR, TYPES, all_sources, read_source_file
from pipelines.ingest.source_spec import ColumnType


def copy_of(tmp_path: Path, source: str) -> Path:
    target = tmp_path / f"{source}.yml"
    shutil.copy(SOURCES_DIR / f"{source}.yml", target)
    return target


def test_every_shipped_source_yml_validates():
    files = sorted(SOURCES_DIR.glob("*.yml"))
    assert {p.stem for p in files} == set(SOURCE_IDS)
    for path in files:
        source = read_source_file(path)
        assert source.id == path.stem and source.schedule and source.tables


def test_source_ids_come_from_the_folder_in_order():
    orders = [s.order for s in all_sources()]
    assert orders == sorted(orders)
    assert SOURCE_IDS[0] == "price_observations"  # the order the daily run has always ingested in


def test_a_misspelt_table_key_names_the_file_and_the_key(tmp_path):
    path = copy_of(tmp_path, "registry")
    path.write_text(path.read_text(encoding="utf-8").replace("    history: true", "    histroy: true"),
                    encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_source_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "'histroy'" in message and "tables[registry]" in message
    assert "history" in message  # the keys allowed there are listed


def test_a_misspelt_column_key_names_the_column(tmp_path):
    path = copy_of(tmp_path, "price_observations")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["tables"][0]["columns"][1]["nulable"] = False
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(UserError, match=r"unknown key 'nulable' at tables\[price_observations\]\.columns\[observed_at\]"):
        read_source_file(path)


def test_a_source_without_a_schedule_or_with_a_wrong_id_is_refused(tmp_path):
    path = copy_of(tmp_path, "penalties")
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(ln for ln in text.split("\n") if not ln.startswith("schedule:")), encoding="utf-8")
    with pytest.raises(UserError, match="missing key 'schedule'"):
        read_source_file(path)
    path.write_text(text.replace('schedule: "0 2 * * *"', 'schedule: "daily"'), encoding="utf-8")
    with pytest.raises(UserError, match="cron"):
        read_source_file(path)
    renamed = path.rename(tmp_path / "fines.yml")
    renamed.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match="differs from the file name"):
        read_source_file(renamed)


def test_column_types_of_the_yml_model_are_the_catalogue_types():
    assert set(get_args(ColumnType)) == set(TYPES)
