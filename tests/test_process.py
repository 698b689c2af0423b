"""Every child process of the tests imports the checkout under test, even when another
``replay`` comes first on the inherited ``PYTHONPATH``."""

from __future__ import annotations

from pathlib import Path

import pytest

import replay
from tests.process import CHECKOUT, run_python, run_replay

PROBE = "import replay, sys; sys.stdout.write(replay.__file__)"


@pytest.fixture
def decoy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another ``replay`` package, first on the ``PYTHONPATH`` the tests inherit."""
    package = tmp_path / "decoy" / "replay"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("DECOY = True\n", encoding="utf-8")
    (package / "__main__.py").write_text("print('decoy replay')\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    return package


def test_a_python_child_imports_the_checkout(decoy: Path, tmp_path: Path) -> None:
    done = run_python("-c", PROBE, cwd=tmp_path, check=True)
    imported = Path(done.stdout).resolve()
    assert imported == CHECKOUT / "replay" / "__init__.py"
    assert imported.is_relative_to(CHECKOUT) and not imported.is_relative_to(decoy.parent)


def test_a_replay_child_runs_the_checkout(decoy: Path, tmp_path: Path) -> None:
    done = run_replay("--version", cwd=tmp_path)
    assert done.code == 0, done
    assert done.stdout == f"replay (agent-replay) {replay.__version__}\n", done
