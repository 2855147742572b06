"""The indicator catalogue: one SQL file plus one metadata file per indicator.

`indicators/<family>/<name>.yml` holds the id, names, policy reference, formula and thresholds
(its keys are those of `IndicatorSpec` below; any other key is an error naming the file and the key);
`indicators/<family>/<name>.sql` computes it for one run date. Thresholds can be overridden
without code changes in HOME/config.yml:

    indicators:
      price.cn_reference_7d:
        rpi_threshold: 1.05
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from pydantic import Field, model_validator

from pipelines.ingest.yml_spec import StrictSpec, read_yml, validated

FAMILIES_ORDER = ("price", "collusion", "discrimination", "complaints", "integrity", "competition", "advertising", "quality",
                  "credit")


class ValueSpec(StrictSpec):
    """A threshold or parameter: its default value and where that default comes from."""

    value: bool | int | float | str | list
    source: str


class CleanBehaviour(StrictSpec):
    """A clean-market behaviour the indicator must not flag, and what guards it (docs/ACCURACY.md, "False
    positives on clean markets"). `guarded_by` names thresholds / parameters of the same yml, or is a sentence
    starting `rule:` naming a rule of the formula that has no parameter."""

    behaviour: str
    guarded_by: list[str] = Field(min_length=1)


class IndicatorSpec(StrictSpec):
    id: str  # <family>.<name>
    family: str
    name_zh: str
    name_en: str
    policy_ref: str
    legal_basis: str | None = None  # the rule text quoted in docs/INDICATORS.md
    formula_en: str = ""
    formula_zh: str = ""
    entity_type: str
    entity_grain: str | None = None
    mart: str  # the mart its flags feed (indicators/marts/<mart>.yml)
    minimum_data: str = ""
    thresholds: dict[str, ValueSpec] = {}
    parameters: dict[str, ValueSpec] = {}
    evidence: str = ""
    pitfalls: list[str] = []
    # one plain sentence per lead, filled from the evidence (pipelines/serve/bulletin/explain.py)
    explain_zh: str = ""
    explain_en: str = ""
    # clean behaviour it must not flag, and the guard (issue 20: false-positive control on clean markets)
    clean_behaviour: list[CleanBehaviour] = []

    @model_validator(mode="after")
    def _guards_exist(self):
        names = set(self.thresholds) | set(self.parameters)
        for item in self.clean_behaviour:
            unknown = [g for g in item.guarded_by if not g.startswith("rule:") and g not in names]
            if unknown:
                raise ValueError(f"clean_behaviour {item.behaviour!r} is guarded_by {unknown}, which are neither "
                                 f"thresholds nor parameters of {self.id} (nor a `rule: ...` sentence)")
        return self


@dataclass(frozen=True)
class Indicator:
    id: str
    family: str
    name_zh: str
    name_en: str
    policy_ref: str
    mart: str
    entity_type: str
    sql: str
    metadata: dict = field(repr=False)

    @property
    def work_table(self) -> str:
        """Name of the table holding this indicator's output for the run (work schema)."""
        return "ind__" + self.id.replace(".", "__")

    def parameters(self, overrides: dict | None = None) -> dict:
        """Threshold and parameter values, with HOME/config.yml overrides applied."""
        values = {}
        for section in ("thresholds", "parameters"):
            for name, spec in (self.metadata.get(section) or {}).items():
                values[name] = spec["value"] if isinstance(spec, dict) else spec
        for name, value in ((overrides or {}).get(self.id) or {}).items():
            if name not in values:
                raise KeyError(f"config overrides unknown parameter {name!r} of indicator {self.id}")
            values[name] = value
        return values


def _family_dirs():
    root = resources.files("indicators")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir() and entry.name not in ("marts", "__pycache__"):
            yield entry


def load_catalogue() -> list[Indicator]:
    """Every indicator shipped, in a stable order (family order, then id)."""
    found = []
    for family_dir in _family_dirs():
        for meta_file in sorted(family_dir.iterdir(), key=lambda e: e.name):
            if not meta_file.name.endswith(".yml"):
                continue
            meta = read_yml(meta_file)
            validated(IndicatorSpec, meta, meta_file)
            sql_file = family_dir / (meta_file.name[: -len(".yml")] + ".sql")
            found.append(
                Indicator(
                    id=meta["id"],
                    family=meta["family"],
                    name_zh=meta["name_zh"],
                    name_en=meta["name_en"],
                    policy_ref=meta["policy_ref"],
                    mart=meta["mart"],
                    entity_type=meta["entity_type"],
                    sql=sql_file.read_text(encoding="utf-8"),
                    metadata=meta,
                )
            )
    order = {f: i for i, f in enumerate(FAMILIES_ORDER)}
    found.sort(key=lambda ind: (order.get(ind.family, 99), ind.id))
    ids = [ind.id for ind in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate indicator ids: {ids}")
    return found


def helper_sql() -> dict[str, str]:
    """{work.<family>__<name>: SQL} for each `indicators/<family>/<name>.sql` without a yml: a query that
    is not an indicator but feeds a mart (credit/records.sql -> work.credit__records)."""
    found = {}
    for family_dir in _family_dirs():
        names = {e.name for e in family_dir.iterdir()}
        for name in sorted(names):
            if name.endswith(".sql") and name[: -len(".sql")] + ".yml" not in names:
                found[f"work.{family_dir.name}__{name[: -len('.sql')]}"] = (family_dir / name).read_text(encoding="utf-8")
    return found


def mart_sql(mart: str) -> str:
    return (resources.files("indicators") / "marts" / f"{mart}.sql").read_text(encoding="utf-8")


def load_overrides(config_file: Path) -> dict:
    if not config_file.exists():
        return {}
    data = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    return data.get("indicators") or {}
