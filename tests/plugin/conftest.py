"""Fixtures of the plugin tests: the incidents of the scenario test agent, recorded once
per test process, and a pytester project around them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.plugin.project import (
    INCIDENTS,
    install_agent,
    record_incidents,
    use_fix,
    write_pyproject,
    write_scenario,
)
from tests.process import checkout_pythonpath


@pytest.fixture(autouse=True)
def checkout_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pytester.runpytest_subprocess`` children import the checkout under test: pytester
    passes on ``PYTHONPATH`` (after the project folder), so the checkout goes first in it."""
    monkeypatch.setenv("PYTHONPATH", checkout_pythonpath())


@pytest.fixture(scope="session")
def incident_cassettes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two incidents, recorded live from the unfixed agent."""
    folder = tmp_path_factory.mktemp("scn-incidents")
    install_agent(folder)
    return record_incidents(folder)


class ScnProject:
    """A pytester project holding the agent, its recorded incidents and scenarios."""

    def __init__(self, pytester: pytest.Pytester, cassettes: dict[str, Path]) -> None:
        self.pytester = pytester
        self.path = pytester.path
        install_agent(self.path)
        write_pyproject(self.path)
        for sid, source in cassettes.items():
            target = self.path / "cassettes" / "incidents" / f"{sid}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        (self.path / "tests").mkdir(exist_ok=True)
        (self.path / "tests" / "test_smoke.py").write_text(
            "def test_smoke():\n    assert True\n", encoding="utf-8"
        )

    def fix(self, module: str, version: str = "fixed") -> None:
        use_fix(self.path, module, version)

    def scenario(self, sid: str, **options: object) -> Path:
        assert sid in INCIDENTS or "cassette" in options
        return write_scenario(self.path, sid, **options)  # type: ignore[arg-type]

    def pytest(self, *args: str, xdist: bool = False) -> pytest.RunResult:
        """A real pytest process in the project (``-n 2`` with xdist)."""
        workers = ("-n", "2") if xdist else ("-p", "no:xdist")
        return self.pytester.runpytest_subprocess(*workers, *args)


@pytest.fixture
def project(pytester: pytest.Pytester, incident_cassettes: dict[str, Path]) -> ScnProject:
    return ScnProject(pytester, incident_cassettes)


@pytest.fixture(params=[False, True], ids=["serial", "xdist"])
def xdist(request: pytest.FixtureRequest) -> bool:
    """Run the test's pytest sessions serially and under ``-n 2``."""
    return bool(request.param)
