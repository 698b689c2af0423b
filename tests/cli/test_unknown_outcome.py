"""``replay inspect`` and ``replay run`` say plainly when a run's ending was not recorded;
a cassette without entrypoint asks for the CLI's ``--agent``."""

from __future__ import annotations

from pathlib import Path

import pytest

import replay
from tests.agents import volatile_args
from tests.cli.conftest import cli


@pytest.fixture
def unreported(tmp_path: Path) -> Path:
    path = tmp_path / "unreported.yaml"
    with replay.record(
        path, entrypoint="tests.agents.volatile_args:run", input={"order_id": "A-1"}
    ):
        volatile_args.run("A-1")
    return path


def test_inspect_says_the_outcome_is_unknown(unreported):
    shown = cli("inspect", unreported)
    assert shown.code == 0, shown
    assert "unknown (the run's ending was not reported)" in shown.stdout
    assert "set_result" in shown.stdout
    data = cli("inspect", unreported, "--json").json()
    assert (data["stop_reason"], data["failed"], data["conclusion"]) == (
        "unknown",
        False,
        "outcome not recorded",
    )
    assert "set_result" in data["outcome_note"]


def test_run_gives_a_hypothesis_and_says_why(unreported):
    shown = cli("run", unreported, "-n", "1")
    assert shown.code == 2, shown
    assert "hypothesis" in shown.stdout
    assert "stop_reason unknown" in " ".join(shown.stdout.split())
    data = cli("run", unreported, "-n", "1", "--json").json()
    assert (data["verdict"], data["mode"], data["exit_status"]) == ("match", "hypothesis", 2)
    assert data["original"]["stop_reason"] == "unknown"


def test_run_without_entrypoint_asks_for_the_agent_option(tmp_path):
    path = tmp_path / "bare.yaml"
    with replay.record(path) as recording:
        recording.set_result(volatile_args.run("A-1"))
    shown = cli("run", path)
    assert shown.code == 3, shown
    assert "--agent" in shown.stderr and "agent=" not in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1
