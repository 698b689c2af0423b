"""``replay run`` is read-only; ``--note`` records its verdict in the scenarios it speaks
for (same cassette and agent), and only in those."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.cli.conftest import REWORDED, SUPPORT, cli


def _project_with_scenarios(cassettes, tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    (project / "cassettes").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    shutil.copy(cassettes.failing, project / "cassettes" / "incident.yaml")
    for sid, agent in (("reworded", REWORDED), ("released", SUPPORT)):
        added = cli(
            "scenario",
            "add",
            "cassettes/incident.yaml",
            "--id",
            sid,
            "--agent",
            agent,
            "--no-check",
            cwd=project,
        )
        assert added.code == 0, added
    return project


def _texts(project: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((project / "scenarios").iterdir())}


def test_replay_run_leaves_the_scenarios_alone(cassettes, tmp_path):
    project = _project_with_scenarios(cassettes, tmp_path)
    before = _texts(project)

    ran = cli("run", "cassettes/incident.yaml", "--agent", REWORDED, "--repeat", "1", cwd=project)
    assert ran.code == 2, ran
    assert "updated" not in ran.stderr, ran
    assert _texts(project) == before


def test_replay_run_note_records_its_verdict_in_the_matching_scenario(cassettes, tmp_path):
    project = _project_with_scenarios(cassettes, tmp_path)
    before = (project / "scenarios" / "released.yaml").read_text()

    ran = cli(
        "run",
        "cassettes/incident.yaml",
        "--agent",
        REWORDED,
        "--repeat",
        "1",
        "--note",
        cwd=project,
    )
    assert ran.code == 2, ran
    assert "updated scenarios/reworded.yaml (mode hypothesis)" in ran.stderr, ran
    scenario = yaml.safe_load((project / "scenarios" / "reworded.yaml").read_text())
    assert (scenario["mode"], scenario["last_verdict"]) == ("hypothesis", "diverged")
    assert (project / "scenarios" / "released.yaml").read_text() == before
