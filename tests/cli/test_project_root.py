"""``replay run`` imports the agent relative to the project root (the nearest
pyproject.toml), from a sub-folder of the project or from another folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import cli

AGENT = """
import replay


@replay.tool
def lookup(city: str) -> str:
    return f"rain in {city}"


def run(city: str) -> dict:
    return {"stop_reason": "completed", "output": lookup(city)}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "agent.py").write_text(AGENT)
    (root / "docs" / "notes").mkdir(parents=True)
    cassette = root / "cassettes" / "oslo.yaml"
    recorded = cli(
        "record",
        "pkg.agent:run",
        "--input",
        json.dumps({"city": "Oslo"}),
        "-o",
        cassette,
        cwd=root,
    )
    assert recorded.code == 0, recorded
    return root


@pytest.mark.parametrize("where", ["docs/notes", "cassettes"])
def test_run_from_a_sub_folder(project, where):
    result = cli(
        "run", project / "cassettes" / "oslo.yaml", "--repeat", "1", "--json", cwd=project / where
    )
    assert result.code == 0, result
    assert result.json()["verdict"] == "match"


def test_run_from_another_folder_uses_the_cassettes_project(project, tmp_path):
    result = cli(
        "run", project / "cassettes" / "oslo.yaml", "--repeat", "1", "--json", cwd=tmp_path
    )
    assert result.code == 0, result
    assert result.json()["verdict"] == "match"


def test_an_agent_outside_any_project_still_says_how_to_fix_it(project, tmp_path):
    result = cli(
        "run",
        project / "cassettes" / "oslo.yaml",
        "--agent",
        "nowhere.agent:run",
        "--repeat",
        "1",
        cwd=tmp_path,
    )
    assert result.code == 3, result
    assert "cannot import module 'nowhere.agent'" in result.stderr
