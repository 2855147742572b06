"""Each mart's columns and types are pinned in docs/schema_snapshot.json: BI dashboards break silently
on renamed columns, so a change needs a schema_version bump and a CHANGELOG.md entry."""

from __future__ import annotations

import copy

from pipelines.publish.dictionary import computed_schemas
from pipelines.publish.snapshot import CHANGELOG, pinned_snapshot, snapshot_of, snapshot_problems


def test_mart_schemas_match_the_snapshot_or_are_versioned_and_logged():
    problems = snapshot_problems(snapshot_of(computed_schemas()), pinned_snapshot(),
                                 CHANGELOG.read_text(encoding="utf-8"))
    assert problems == [], "\n".join(problems)


def test_snapshot_is_regenerated_after_a_versioned_change():
    current, pinned = snapshot_of(computed_schemas()), pinned_snapshot()
    for mart, spec in current["marts"].items():
        if mart in pinned["marts"] and spec["schema_version"] == pinned["marts"][mart]["schema_version"]:
            assert spec == pinned["marts"][mart], mart
    assert set(current["marts"]) == set(pinned["marts"]), "run `python -m pipelines.publish.dictionary --write`"


PINNED = {"marts": {"m": {"schema_version": 1, "columns": [{"name": "dt", "type": "DATE"},
                                                            {"name": "price", "type": "DOUBLE"}]}}}


def _changed(rename=None, retype=None, version=1):
    snap = copy.deepcopy(PINNED)
    col = snap["marts"]["m"]["columns"][1]
    if rename:
        col["name"] = rename
    if retype:
        col["type"] = retype
    snap["marts"]["m"]["schema_version"] = version
    return snap


def test_a_rename_without_a_bump_fails():
    problems = snapshot_problems(_changed(rename="price_yuan"), PINNED, "")
    assert len(problems) == 1 and "without a schema_version bump" in problems[0] and "price_yuan" in problems[0]


def test_a_type_change_without_a_bump_fails():
    assert "retyped price DOUBLE->DECIMAL(18,2)" in snapshot_problems(_changed(retype="DECIMAL(18,2)"), PINNED, "")[0]


def test_a_bump_without_a_changelog_entry_fails():
    problems = snapshot_problems(_changed(rename="price_yuan", version=2), PINNED, "## 0.2\n- `other` schema_version 2")
    assert len(problems) == 1 and "CHANGELOG.md has no entry naming `m` with schema_version 2" in problems[0]


def test_a_bump_with_a_changelog_entry_passes():
    log = "## 0.2.0\n\n- `m` schema_version 2: `price` renamed to `price_yuan`.\n"
    assert snapshot_problems(_changed(rename="price_yuan", version=2), PINNED, log) == []


def test_a_new_mart_needs_a_changelog_entry():
    now = copy.deepcopy(PINNED)
    now["marts"]["n"] = {"schema_version": 1, "columns": [{"name": "dt", "type": "DATE"}]}
    assert snapshot_problems(now, PINNED, "")[0].startswith("n: new mart")
    assert snapshot_problems(now, PINNED, "- `n` schema_version 1: new mart") == []


def test_version_going_down_fails():
    assert "went down" in snapshot_problems(_changed(version=0), PINNED, "")[0]
