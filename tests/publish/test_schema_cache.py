"""The per-process caches that keep every publish from rebuilding what did not change: the parsed yml
(pipelines.ingest.yml_spec.read_yml) and the computed mart schemas (pipelines.publish.dictionary). Neither
may ever return something stale or shared."""

from __future__ import annotations

from dataclasses import replace

import indicators.compute as compute_mod
import pipelines.publish.dictionary as dictionary
from pipelines.ingest.yml_spec import read_yml


def test_read_yml_rereads_an_edited_file_and_hands_out_copies(tmp_path):
    path = tmp_path / "a.yml"
    path.write_text("mart: one\ncolumns: {x: {zh: 甲, en: a}}\n", encoding="utf-8")
    first = read_yml(path)
    first["columns"]["x"]["zh"] = "changed by a caller"
    assert read_yml(path) == {"mart": "one", "columns": {"x": {"zh": "甲", "en": "a"}}}
    path.write_text("mart: two\n", encoding="utf-8")
    assert read_yml(path) == {"mart": "two"}


def test_computed_schemas_follow_the_catalogue_in_use_and_are_not_shared(monkeypatch):
    full = dictionary.computed_schemas()
    assert "indicator_flags" in full and len(full) > 2
    full["indicator_flags"].append("added by a caller")
    full["not_a_mart"] = []
    again = dictionary.computed_schemas()
    assert "not_a_mart" not in again and "added by a caller" not in again["indicator_flags"]
    assert again == dictionary._build_schemas()  # the cached value is what a fresh build gives

    key = dictionary.schema_key()
    marts = {"marts": {m: s for m, s in compute_mod.mart_catalogue()["marts"].items() if m == "indicator_flags"}}
    for module in (compute_mod, dictionary):
        monkeypatch.setattr(module, "mart_catalogue", lambda: marts)
    assert dictionary.schema_key() != key  # a narrowed catalogue is another key, never the full one's value
    assert dictionary.computed_schemas() == {"indicator_flags": again["indicator_flags"]}


def test_the_schema_key_changes_with_the_sql(monkeypatch):
    key = dictionary.schema_key()
    catalogue = compute_mod.load_catalogue()
    edited = [replace(catalogue[0], sql=catalogue[0].sql + "\n-- edited"), *catalogue[1:]]
    monkeypatch.setattr(compute_mod, "load_catalogue", lambda: edited)
    assert dictionary.schema_key() != key
