"""The evidence audit table of the data dictionary (pipelines/publish/evidence_audit.md) names every evidence key
each indicator's SQL builds: an analyst reading a lead's JSON finds every key there, either as the typed mart column
it becomes or as left in the JSON. The keys are read from the SQL, so a key added to an indicator without a line in
the table fails here instead of going undocumented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indicators.registry import load_catalogue
from tests.report.test_leads_and_dossiers import evidence_keys

AUDIT = Path(__file__).resolve().parents[2] / "pipelines" / "publish" / "evidence_audit.md"


def audit_rows() -> dict[str, str]:
    text = AUDIT.read_text(encoding="utf-8")
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z0-9_]+\.[a-z0-9_]+)` \|.*$", text, re.M)}


@pytest.mark.parametrize("ind", load_catalogue(), ids=lambda i: i.id)
def test_every_evidence_key_is_in_the_audit_table(ind):
    row = audit_rows().get(ind.id)
    assert row is not None, f"{ind.id}: no row in {AUDIT.name}"
    words = set(re.findall(r"[a-z0-9_]+", row))
    missing = sorted(evidence_keys(ind.sql) - words)
    assert not missing, f"{ind.id}: evidence keys not in {AUDIT.name}: {missing}"
