"""Generated documents match the metadata they are generated from."""

from pipelines.serve.docs import GENERATED, REPO


def test_generated_docs_are_up_to_date():
    for rel, render in GENERATED.items():
        committed = (REPO / rel).read_text(encoding="utf-8")
        assert committed == render(), f"{rel} is stale: run `python -m pipelines.serve.docs`"
