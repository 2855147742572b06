"""Generated documents match the metadata they are generated from."""

from pipelines.serve.docs import GENERATED, REPO


def test_generated_docs_are_up_to_date():
    for rel, render in GENERATED.items():
        committed = (REPO / rel).read_text(encoding="utf-8")
        assert committed == render(), f"{rel} is stale: run `python -m pipelines.serve.docs`"


def test_architecture_names_every_module():
    """docs/ARCHITECTURE.md's module map lists every module of the package, under its folder."""
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = []
    for top in ("pipelines", "indicators", "expectations", "warehouse"):
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO)
            if path.name == "__init__.py" or rel.parts[:2] == ("expectations", "suites"):
                continue
            header = f"**`{rel.parent.as_posix()}/`**"
            section = text.split(header, 1)[1].split("**`", 1)[0] if header in text else ""
            if f"- `{path.name}` —" not in section:
                missing.append(rel.as_posix())
    assert not missing, f"add these modules to the module map in docs/ARCHITECTURE.md: {missing}"
