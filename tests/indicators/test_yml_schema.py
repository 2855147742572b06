"""Indicator and mart ymls are checked when they are loaded: a misspelt key is an error that names the
file and the key, and every shipped yml passes."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from indicators import compute, registry
from pipelines.core.errors import UserError
from pipelines.ingest.yml_spec import read_yml, validated

INDICATORS = Path(str(resources.files("indicators")))


def test_every_shipped_indicator_and_mart_yml_validates():
    indicator_files = [p for p in INDICATORS.glob("*/*.yml") if p.parent.name != "marts"]
    assert len(indicator_files) == len(registry.load_catalogue())
    for path in indicator_files:
        validated(registry.IndicatorSpec, read_yml(path), path)
    mart_files = sorted((INDICATORS / "marts").glob("*.yml"))
    assert {p.stem for p in mart_files} == set(compute.mart_catalogue()["marts"])
    for path in mart_files:
        validated(compute.MartSpec, read_yml(path), path)


def test_a_misspelt_indicator_key_names_the_file_and_the_key(tmp_path, monkeypatch):
    family = tmp_path / "price"
    family.mkdir()
    for ending in (".yml", ".sql"):
        shutil.copy(INDICATORS / "price" / f"spike_mad{ending}", family / f"spike_mad{ending}")
    meta = family / "spike_mad.yml"
    text = meta.read_text(encoding="utf-8")
    assert "\nthresholds:" in text
    meta.write_text(text.replace("\nthresholds:", "\nthreshold:", 1), encoding="utf-8")
    monkeypatch.setattr(registry, "_family_dirs", lambda: iter([family]))
    with pytest.raises(UserError) as err:
        registry.load_catalogue()
    assert str(meta) in str(err.value) and "unknown key 'threshold'" in str(err.value)


def test_a_misspelt_mart_key_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "price_anomalies.yml"
    text = (INDICATORS / "marts" / "price_anomalies.yml").read_text(encoding="utf-8")
    path.write_text(text.replace("\nschema_version:", "\nschema_verison:", 1), encoding="utf-8")
    with pytest.raises(UserError) as err:
        compute.read_mart_file(path)
    assert str(path) in str(err.value) and "'schema_verison'" in str(err.value)
