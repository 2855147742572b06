"""Every indicator yml states what clean behaviour it must not flag and which parameter guards it (issue 20;
measured in docs/ACCURACY.md, "False positives on clean markets"); a guard naming no parameter is an error."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from indicators import registry
from pipelines.core.errors import UserError
from pipelines.ingest.yml_spec import read_yml, validated

INDICATORS = Path(str(resources.files("indicators")))


def test_every_indicator_states_clean_behaviour_and_its_guard():
    catalogue = registry.load_catalogue()
    assert len(catalogue) >= 18
    missing = [ind.id for ind in catalogue if not ind.metadata.get("clean_behaviour")]
    assert not missing, f"add clean_behaviour (behaviour + guarded_by) to these indicator ymls: {missing}"
    for ind in catalogue:
        names = set(ind.metadata.get("thresholds") or {}) | set(ind.metadata.get("parameters") or {})
        for item in ind.metadata["clean_behaviour"]:
            assert item["behaviour"].strip() and item["guarded_by"], ind.id
            params = [g for g in item["guarded_by"] if not g.startswith("rule:")]
            assert set(params) <= names, (ind.id, params)


def test_a_guard_that_is_not_a_parameter_is_refused(tmp_path):
    path = INDICATORS / "price" / "spike_mad.yml"
    meta = read_yml(path)
    meta["clean_behaviour"] = [{"behaviour": "a premium seller", "guarded_by": ["own_jumpp"]}]
    with pytest.raises(UserError) as err:
        validated(registry.IndicatorSpec, meta, path)
    assert "own_jumpp" in str(err.value) and "price.spike_mad" in str(err.value)
    meta["clean_behaviour"] = [{"behaviour": "a premium seller", "guarded_by": []}]
    with pytest.raises(UserError):
        validated(registry.IndicatorSpec, meta, path)
