"""``replay golden --update``: accepting an intended change (the faq prompt reworded)
re-records the changed baselines, after showing the diff and only when told to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.golden.conftest import RUNS
from tests.golden.test_cli import golden_cli

REWORDED = "tests.agents.gld_agent_reworded:run"
FAQ = sorted(f"faq/{run_id}.yaml" for workflow, run_id, _ in RUNS if workflow == "faq")


@pytest.fixture
def project(golden_copy: Path) -> Path:
    return golden_copy.parent.parent


def snapshot(project: Path) -> dict[str, str]:
    folder = project / "cassettes" / "golden"
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*.yaml")}


def verdicts(project: Path, *args: str) -> dict[str, str]:
    done = golden_cli("--agent", REWORDED, "-n", "0", "--no-progress", "--json", *args, cwd=project)
    return {run["key"]: run["verdict"] for run in json.loads(done.stdout)["runs"]}


def test_update_turns_an_intended_prompt_change_back_to_all_match(project):
    before = snapshot(project)
    assert sorted(k for k, v in verdicts(project).items() if v == "diverged") == FAQ

    # Under on-miss nearest the change replays as match, a hypothesis naming its assumption.
    assumed = golden_cli(
        "--agent",
        REWORDED,
        "-n",
        "0",
        "--no-progress",
        "--on-miss",
        "nearest",
        "--json",
        cwd=project,
    )
    report = json.loads(assumed.stdout)
    assert (report["on_miss"], report["summary"]["match"]) == ("nearest", len(RUNS))
    faq = [run for run in report["runs"] if run["key"] in FAQ]
    assert {run["assumption"] for run in faq} == {
        "the model answers as recorded after the prompt change"
    }
    assert [[c["step"] for c in run["assumed_calls"]] for run in faq] == [[0, 2]] * 3
    assert all(run["assumed_calls"] == [] for run in report["runs"] if run["key"] not in FAQ)
    # The figures cover every run, and say that the three faq runs rest on the assumption.
    assert report["diff"]["overall"]["assumed"] == len(FAQ) == 3
    shown = golden_cli(
        "--agent", REWORDED, "-n", "0", "--no-progress", "--on-miss", "nearest", cwd=project,
        columns=200,
    )
    assert f"Release diff over {len(RUNS)} runs (3 under an on-miss assumption)" in shown.stdout

    # Not on a terminal and no --yes: the diff is shown, nothing is written.
    asked = golden_cli(
        "--agent",
        REWORDED,
        "-n",
        "0",
        "--no-progress",
        "--on-miss",
        "nearest",
        "--update",
        cwd=project,
        columns=200,
    )
    assert "Intended changes to accept (3 of 3)" in asked.stdout, asked.stderr
    assert "step 0: changed llm 'gld-large' (prompt changed)" in asked.stdout
    assert "Quote" in asked.stdout  # the reworded prompt, in the diff shown first
    assert "3 runs judged under on-miss nearest, a hypothesis: assuming the model" in asked.stdout
    assert "nothing written: pass --yes" in asked.stderr
    assert snapshot(project) == before

    done = golden_cli(
        "--agent",
        REWORDED,
        "-n",
        "0",
        "--no-progress",
        "--on-miss",
        "nearest",
        "--update",
        "--yes",
        "--release",
        "v1.1",
        "--json",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert sorted(report["update"]["written"]) == [f"cassettes/golden/{key}" for key in FAQ]
    after = snapshot(project)
    assert {k for k in after if after[k] != before[k]} == set(FAQ)

    # The set now replays the new prompt as recorded, without any on-miss policy.
    assert set(verdicts(project).values()) == {"match"}
    cassette = yaml.safe_load(after[FAQ[0]])
    assert cassette["run"]["release"] == "v1.1"
    assert "Quote the article's title." in cassette["steps"][0]["args"]["messages"][0]["content"]
    model = cassette["provenance"]["model"]
    assert (cassette["provenance"]["source"], model["source"]) == ("rerecorded", "on-miss nearest")
    assert model["assumed_steps"] == [0, 2]
    assert model["assumption"] == "the model answers as recorded after the prompt change"


def test_update_without_a_model_refuses_the_diverged_runs(project):
    before = snapshot(project)
    done = golden_cli(
        "--agent",
        REWORDED,
        "-n",
        "0",
        "--no-progress",
        "--update",
        "--yes",
        cwd=project,
        columns=200,
    )
    assert done.returncode == 1, done.stderr
    assert "Intended changes to accept (0 of 3)" in done.stdout
    assert "re-recording needs an answer for it: pass --on-miss" in done.stdout
    assert snapshot(project) == before
