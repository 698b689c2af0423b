"""``replay scenario check --update``: the product code's prompt changed on purpose, the
open incident no longer replays as recorded; re-recording it (under on-miss nearest)
keeps the incident, now with the new prompt."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cli.conftest import cli

AGENT = """
import replay

PROMPT = "You track parcels."


@replay.llm(name="parcel-model")
def ask(messages):
    return {"tool": "track", "args": {"parcel": messages[-1]["content"].split()[-1]}}


@replay.tool
def track(parcel):
    raise TimeoutError(f"tracking service timed out for {parcel}")


def run(question):
    messages = [{"role": "system", "content": PROMPT}, {"role": "user", "content": question}]
    decision = ask(messages)
    try:
        return {"stop_reason": "completed", "output": track(**decision["args"])}
    except TimeoutError as exc:
        return {"stop_reason": "tool_error", "output": None, "error": exc}
"""


def test_update_re_records_an_incident_after_an_intended_prompt_change(tmp_path: Path):
    project = tmp_path / "shop"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    (project / "parcels.py").write_text(AGENT)
    incident = project / "cassettes" / "incident.yaml"
    recorded = cli(
        "record",
        "parcels:run",
        "--input",
        '{"question": "where is P-7"}',
        "-o",
        incident,
        cwd=project,
    )
    assert recorded.code == 0, recorded
    added = cli("scenario", "add", "cassettes/incident.yaml", "--id", "late", cwd=project)
    assert added.code == 0, added

    (project / "parcels.py").write_text(
        AGENT.replace("You track parcels.", "You track parcels politely.")
    )
    diverged = cli("scenario", "check", "late", cwd=project)
    assert diverged.code == 2 and "diverged" in diverged.stdout, diverged
    before = incident.read_text()

    asked = cli(
        "scenario", "check", "late", "--update", "--on-miss", "nearest", cwd=project, columns=200
    )
    assert "Intended changes to accept (1 of 1)" in asked.stdout, asked
    assert "step 0: changed llm 'parcel-model' (prompt changed)" in asked.stdout
    assert "nothing written: pass --yes" in asked.stderr
    assert incident.read_text() == before

    done = cli(
        "scenario",
        "check",
        "late",
        "--update",
        "--on-miss",
        "nearest",
        "--yes",
        "--json",
        cwd=project,
    )
    assert done.code == 0, done
    data = done.json()
    assert data["update"]["written"] == [str(incident)]
    assert data["scenarios"][0]["label"] == "reproduced"
    cassette = yaml.safe_load(incident.read_text())
    assert cassette["steps"][0]["args"]["messages"][0]["content"] == "You track parcels politely."
    assert cassette["outcome"]["stop_reason"] == "tool_error"  # still the incident
    assert cassette["provenance"]["model"]["source"] == "on-miss nearest"

    # Replayed as it is now: reproduced, with no policy; a hypothesis, since the model's
    # answer to the new prompt was assumed when re-recording, and the scenario says so.
    again = cli("scenario", "check", "late", "--write", cwd=project)
    assert again.code == 0, again
    scenario = yaml.safe_load((project / "scenarios" / "late.yaml").read_text())
    assert (scenario["last_verdict"], scenario["mode"]) == ("reproduced", "hypothesis")


def test_update_refuses_to_replace_an_incident_by_a_fix(tmp_path: Path):
    project = tmp_path / "shop"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    (project / "parcels.py").write_text(AGENT)
    incident = project / "cassettes" / "incident.yaml"
    cli(
        "record",
        "parcels:run",
        "--input",
        '{"question": "where is P-7"}',
        "-o",
        incident,
        cwd=project,
    )
    assert cli("scenario", "add", "cassettes/incident.yaml", "--id", "late", cwd=project).code == 0
    fixed = AGENT.replace(
        'return {"stop_reason": "tool_error", "output": None, "error": exc}',
        'return {"stop_reason": "completed", "output": "try again later"}',
    ).replace("You track parcels.", "You track parcels politely.")
    (project / "parcels.py").write_text(fixed)
    before = incident.read_text()
    done = cli(
        "scenario",
        "check",
        "late",
        "--update",
        "--on-miss",
        "nearest",
        "--yes",
        cwd=project,
        columns=200,
    )
    assert "Intended changes to accept (0 of 1)" in done.stdout, done
    assert "the new code does not fail on this incident" in done.stdout
    assert incident.read_text() == before
