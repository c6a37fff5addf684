"""The layer contract (pyproject.toml, ``[tool.importlinter]``), checked by import-linter:
engine <- theory, games, metrics <- experiments <- plotting <- app <- cli."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports")
pytestmark = pytest.mark.skipif(LINT is None, reason="import-linter is not installed (pip install -e '.[test]')")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([LINT, "--no-cache", str(root / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "tree"
    shutil.copytree(ROOT / "gandyn", dst / "gandyn", ignore=shutil.ignore_patterns("__pycache__", "*.npz"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


def test_the_layers_are_kept():
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("module, target", [
    ("theory/divergences.py", "gandyn.experiments.gan1d"),
    ("engine/nn.py", "gandyn.theory.divergences"),
    ("experiments/demo.py", "gandyn.plotting"),
    ("metrics/scores.py", "gandyn.cli"),
    ("experiments/mog.py", "gandyn.app.backends"),
    ("plotting/mog.py", "gandyn.app.folders"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, target):
    tree = _copy(tmp_path)
    path = tree / "gandyn" / module
    path.write_text(path.read_text() + f"\nimport {target}  # an upward import\n")
    res = _lint(tree)
    assert res.returncode != 0
    assert "BROKEN" in res.stdout and target in res.stdout
