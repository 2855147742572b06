"""The pinned mart schemas (docs/schema_snapshot.json) and the rule for changing them.

BI dashboards break silently on renamed columns, so a mart's columns and types may differ from the
snapshot only with a higher `schema_version` (indicators/marts/<mart>.yml) and a CHANGELOG.md entry
naming the mart and the new version. `python -m pipelines.publish.dictionary --check` applies the rule;
`--write` rewrites the snapshot.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from indicators.compute import mart_catalogue

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT_JSON = REPO / "docs" / "schema_snapshot.json"
CHANGELOG = REPO / "CHANGELOG.md"


def snapshot_of(schemas: dict[str, list]) -> dict:
    """{"marts": {mart: {schema_version, columns: [{name, type}]}}} of the given mart schemas."""
    catalogue = mart_catalogue()["marts"]
    return {"marts": {
        mart: {"schema_version": int(catalogue.get(mart, {}).get("schema_version", 0)),
               "columns": [{"name": c.name, "type": c.type} for c in cols]}
        for mart, cols in schemas.items()}}


def render_snapshot(schemas: dict[str, list]) -> str:
    """docs/schema_snapshot.json's text for the given mart schemas."""
    return json.dumps(snapshot_of(schemas), ensure_ascii=False, indent=2) + "\n"


def _names(text: str, mart: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(mart)}(?![A-Za-z0-9_])", text) is not None


def _changelog_mentions(changelog: str, mart: str, version: int) -> bool:
    """A CHANGELOG line (or bullet) naming the mart and `schema_version N` / `schema version N`."""
    version_re = re.compile(rf"schema[_ ]version\s*{version}\b", re.IGNORECASE)
    for block in re.split(r"\n(?=\s*[-*] |#)", changelog):
        if _names(block, mart) and version_re.search(block):
            return True
    return False


def snapshot_problems(current: dict, pinned: dict, changelog: str) -> list[str]:
    """Why the current mart schemas may not replace the pinned ones (empty list: fine).

    A mart's columns/types may differ from the snapshot only with a higher schema_version and a
    CHANGELOG.md entry naming the mart and the new version; a new mart needs a CHANGELOG entry; a
    removed mart needs one too (naming the mart)."""
    problems = []
    now, before = current["marts"], pinned.get("marts", {})
    for mart, spec in now.items():
        version = spec["schema_version"]
        old = before.get(mart)
        if old is None:
            if not _changelog_mentions(changelog, mart, version):
                problems.append(f"{mart}: new mart (schema_version {version}) is not in docs/schema_snapshot.json "
                                f"and CHANGELOG.md has no entry naming `{mart}` with schema_version {version}")
            continue
        if version < old["schema_version"]:
            problems.append(f"{mart}: schema_version went down from {old['schema_version']} to {version}")
            continue
        if old["columns"] == spec["columns"]:
            continue
        diff = _describe_diff(old["columns"], spec["columns"])
        if version == old["schema_version"]:
            problems.append(f"{mart}: columns changed ({diff}) without a schema_version bump "
                            f"(still {version}); bump it in indicators/marts/{mart}.yml, add a CHANGELOG.md "
                            "entry, then run `python -m pipelines.publish.dictionary --write`")
        elif not _changelog_mentions(changelog, mart, version):
            problems.append(f"{mart}: columns changed ({diff}) and schema_version is {version}, but CHANGELOG.md "
                            f"has no entry naming `{mart}` with schema_version {version}")
    for mart in before:
        if mart not in now and not _names(changelog, mart):
            problems.append(f"{mart}: mart removed without a CHANGELOG.md entry")
    return problems


def _describe_diff(old: list[dict], new: list[dict]) -> str:
    o = {c["name"]: c["type"] for c in old}
    n = {c["name"]: c["type"] for c in new}
    parts = []
    if added := [c for c in n if c not in o]:
        parts.append("added " + ", ".join(added))
    if removed := [c for c in o if c not in n]:
        parts.append("removed " + ", ".join(removed))
    if retyped := [f"{c} {o[c]}->{n[c]}" for c in n if c in o and o[c] != n[c]]:
        parts.append("retyped " + ", ".join(retyped))
    if not parts:
        parts.append("column order changed")
    return "; ".join(parts)


def pinned_snapshot() -> dict:
    if not SNAPSHOT_JSON.exists():
        return {"marts": {}}
    return json.loads(SNAPSHOT_JSON.read_text(encoding="utf-8"))


def changelog_text() -> str:
    return CHANGELOG.read_text(encoding="utf-8") if CHANGELOG.exists() else ""


def snapshot_drift(schemas: dict[str, list]) -> list[str]:
    """snapshot_problems of `schemas` against the pinned snapshot and the repository's CHANGELOG.md."""
    return snapshot_problems(snapshot_of(schemas), pinned_snapshot(), changelog_text())
