"""ruff over the whole tree, with the Airflow 3 rules (AIR3) and the SQL-by-string rule (S608) on; and the
import layers (pyproject.toml, [tool.importlinter]): every stage imports only from the stages below it,
and nothing imports the command line or the DAG files."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.skip(f"{name} is not installed (it comes with the dev extra)")
    return path


def test_ruff_is_clean():
    proc = subprocess.run([_tool("ruff"), "check", "--no-cache", str(REPO)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-4000:]


def _lint_imports(*args: str) -> subprocess.CompletedProcess:
    # --no-cache: no .import_linter_cache/ folder in the checkout
    return subprocess.run([_tool("lint-imports"), "--no-cache", "--no-logo", *args], capture_output=True,
                          text=True, cwd=REPO)


def test_import_layers_are_kept():
    proc = _lint_imports()
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def test_a_broken_layer_is_reported(tmp_path):
    """The contracts see real imports: a layer order the code contradicts (the run stage under the gate it
    imports) fails."""
    config = tmp_path / "importlinter.toml"
    config.write_text('''[tool.importlinter]
root_packages = ["pipelines", "expectations"]

[[tool.importlinter.contracts]]
name = "upside down"
type = "layers"
layers = ["expectations", "pipelines.run"]
''', encoding="utf-8")
    proc = _lint_imports("--config", str(config))
    assert proc.returncode == 1, proc.stdout[-4000:]
    assert "expectations is not allowed to import pipelines.run" not in proc.stdout
    assert "pipelines.run is not allowed to import expectations" in proc.stdout
