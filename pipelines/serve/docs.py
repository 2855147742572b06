"""Documents generated from metadata: docs/INDICATORS.md from indicators/*/*.yml.

`python -m pipelines.serve.docs` rewrites them; tests/test_docs.py fails when a committed document is
stale, so the docs never drift from the metadata the code runs on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from indicators.compute import mart_catalogue
from indicators.registry import load_catalogue

REPO = Path(__file__).resolve().parents[2]


def _threshold_lines(meta: dict) -> list[str]:
    lines = []
    for section in ("thresholds", "parameters"):
        for name, spec in (meta.get(section) or {}).items():
            value = spec.get("value") if isinstance(spec, dict) else spec
            source = spec.get("source", "") if isinstance(spec, dict) else ""
            lines.append(f"| `{name}` | {value} | {source} |")
    return lines


def render_indicators_md() -> str:
    out = [
        "# Indicators (指标说明)",
        "",
        "Generated from `indicators/<family>/<name>.yml` by `python -m pipelines.serve.docs`; do not edit by hand.",
        "Thresholds can be overridden per deployment in `HOME/config.yml` (`indicators: {<id>: {<name>: value}}`).",
        "A flag is a lead for inspection (监管线索), not a finding of violation; screens are worded as screens.",
        "A threshold source marked `[I]` is this project's own design choice (no outside source sets that number);",
        "the reasoning follows the mark. Every other source names the law, guideline or paper it comes from.",
        "",
        "| id | 名称 | name | mart |",
        "| --- | --- | --- | --- |",
    ]
    catalogue = load_catalogue()
    for ind in catalogue:
        out.append(f"| `{ind.id}` | {ind.name_zh} | {ind.name_en} | `{ind.mart}` |")
    for ind in catalogue:
        meta = ind.metadata
        out += [
            "",
            f"## `{ind.id}` — {ind.name_zh}",
            "",
            f"*{ind.name_en}*",
            "",
            f"- **Policy reference (政策依据):** {ind.policy_ref}",
        ]
        if meta.get("legal_basis"):
            out.append(f"- **Rule text (条文):** {meta['legal_basis'].strip()}")
        out += [
            f"- **Entity grain:** {meta.get('entity_grain', ind.entity_type)}",
            f"- **Minimum data:** {meta.get('minimum_data', '')}",
            f"- **Evidence kept:** {meta.get('evidence', '')}",
            "",
            f"**Formula.** {meta.get('formula_en', '').strip()}",
            "",
            f"**公式.** {meta.get('formula_zh', '').strip()}",
            "",
            "| threshold / parameter | default | source |",
            "| --- | --- | --- |",
            *_threshold_lines(meta),
        ]
        if meta.get("pitfalls"):
            out += ["", "**Pitfalls handled:**", *[f"- {p}" for p in meta["pitfalls"]]]
        if meta.get("clean_behaviour"):  # measured in docs/ACCURACY.md, "False positives on clean markets"
            out += ["", "**Clean behaviour it must not flag (and the guard):**",
                    *[f"- {c['behaviour']} — guarded by "
                      + "; ".join(g if g.startswith("rule:") else f"`{g}`" for g in c["guarded_by"])
                      for c in meta["clean_behaviour"]]]
    out += ["", "# Marts (数据集)", ""]
    for mart, spec in mart_catalogue()["marts"].items():
        out += [f"## `{mart}` — {spec['title_zh']}", "", spec["title_en"], "",
                f"Grain: {spec.get('grain', '')}; key: {', '.join(spec['key'])}; schema version {spec['schema_version']}.",
                "", "| column | 中文 | meaning |", "| --- | --- | --- |"]
        out += [f"| `{c}` | {d.get('zh', '')} | {d.get('en', '')} |" for c, d in spec["columns"].items()]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


GENERATED = {"docs/INDICATORS.md": render_indicators_md}


def write_all() -> list[str]:
    written = []
    for rel, render in GENERATED.items():
        path = REPO / rel
        text = render()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(rel)
    return written


if __name__ == "__main__":
    changed = write_all()
    print("rewrote " + ", ".join(changed) if changed else "docs up to date")
    sys.exit(0)
