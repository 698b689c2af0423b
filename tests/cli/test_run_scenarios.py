"""``replay run`` sets the mode of the scenarios it speaks for (same cassette and agent)."""

from __future__ import annotations

import shutil

import yaml

from tests.cli.conftest import REWORDED, SUPPORT, cli


def test_replay_run_records_its_verdict_in_the_matching_scenario(cassettes, tmp_path):
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
    before = (project / "scenarios" / "released.yaml").read_text()

    ran = cli("run", "cassettes/incident.yaml", "--agent", REWORDED, "--repeat", "1", cwd=project)
    assert ran.code == 2, ran
    assert "updated" in ran.stderr and "reworded.yaml (mode hypothesis)" in ran.stderr, ran
    scenario = yaml.safe_load((project / "scenarios" / "reworded.yaml").read_text())
    assert (scenario["mode"], scenario["last_verdict"]) == ("hypothesis", "diverged")
    assert (project / "scenarios" / "released.yaml").read_text() == before
