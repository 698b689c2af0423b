"""``replay run``: each verdict reached by a real code change, its evidence, exit status."""

from __future__ import annotations

import pytest

from replay.verdict import VerdictKind
from tests.cli.conftest import FIXED, REWORDED, STRICT, assert_fits, cli, record

# (cassette, --agent, verdict, mode, exit status)
VERDICTS = [
    ("failing", None, "reproduced", "evidence", 1),
    ("failing", FIXED, "fixed", "evidence", 0),
    ("ok", None, "match", "evidence", 0),
    ("ok", STRICT, "regressed", "evidence", 1),
    ("ok", REWORDED, "diverged", "hypothesis", 2),
    ("flaky", None, "flaky", "hypothesis", 2),
]


def agent_args(agent: str | None) -> list[str]:
    return ["--agent", agent] if agent else []


@pytest.mark.parametrize(("name", "agent", "verdict", "mode", "status"), VERDICTS)
def test_each_verdict_in_json_with_its_exit_status(cassettes, name, agent, verdict, mode, status):
    path = getattr(cassettes, name)
    result = cli("run", path, *agent_args(agent), "--json")
    assert result.code == status, result
    data = result.json()
    assert {"verdict", "mode", "repeats", "first_divergence", "original", "replay", "diff"} <= set(
        data
    )
    assert (data["verdict"], data["mode"], data["repeats"]) == (verdict, mode, 3)
    for side in ("original", "replay"):
        assert {"stop_reason", "error_class", "steps"} <= set(data[side])
    assert isinstance(data["diff"]["changes"], list)
    assert data["exit_status"] == status
    expected_command = f"replay run {path}" + (f" --agent {agent}" if agent else "")
    assert data["reproduce"] == expected_command


def test_reproduced_shows_the_same_failure_on_both_sides(cassettes):
    data = cli("run", cassettes.failing, "--json").json()
    for side in ("original", "replay"):
        assert data[side]["stop_reason"] == "tool_error"
        assert data[side]["error_class"] == "tests.agents.cli_support.OrdersUnavailable"
        assert data[side]["failing_step"] == {"index": 2, "kind": "tool", "name": "lookup_order"}
    assert data["diff"]["changes"] == []
    assert data["first_divergence"] is None


def test_fixed_completes_on_recorded_answers_only(cassettes):
    data = cli("run", cassettes.failing, "--agent", FIXED, "--json").json()
    assert data["replay"]["stop_reason"] == "completed"
    assert data["divergence"] is None
    assert all(r["divergence_step"] is None for r in data["replays"])
    assert data["diff"]["outcome_change"]["fields"][0] == "stop_reason"


def test_diverged_names_the_first_divergence_and_its_difference(cassettes):
    data = cli("run", cassettes.ok, "--agent", REWORDED, "--json").json()
    assert data["first_divergence"] == 1
    divergence = data["divergence"]
    assert (divergence["step"], divergence["kind"], divergence["name"]) == (
        1,
        "llm",
        "scripted-model",
    )
    assert any("Always be polite" in line for line in divergence["args_diff"])
    first_change = data["diff"]["changes"][0]
    assert (first_change["change"], first_change["cause"]) == ("changed", "prompt changed")


def test_regressed_reports_the_new_failure(cassettes):
    data = cli("run", cassettes.ok, "--agent", STRICT, "--json").json()
    assert data["original"]["stop_reason"] == "completed"
    assert data["replay"]["stop_reason"] == "exception"
    assert data["replay"]["error_class"] == "TypeError"


def test_flaky_shows_the_replays_disagreeing(cassettes):
    data = cli("run", cassettes.flaky, "--json").json()
    first, *others = data["replays"]
    assert first["divergence_step"] is None and first["identical"]
    assert all(r["divergence_step"] == 0 for r in others)
    assert data["flaky_step"] == 0


def test_one_replay_cannot_see_flakiness(cassettes):
    result = cli("run", cassettes.flaky, "--repeat", "1", "--json")
    assert result.code == 0, result
    assert (result.json()["verdict"], result.json()["repeats"]) == ("match", 1)


@pytest.mark.parametrize(("name", "agent", "verdict", "mode", "status"), VERDICTS)
def test_human_report_fits_80_columns_and_carries_the_command_when_not_passing(
    cassettes, name, agent, verdict, mode, status
):
    # run from the cassettes' folder with a relative path, as on-call would
    result = cli("run", f"{name}.yaml", *agent_args(agent), cwd=cassettes.folder)
    assert result.code == status, result
    out = result.stdout
    assert f"Verdict: {verdict.upper()}" in out
    assert f"{mode}:" in out
    assert "Step diff" in out or "Replay #1 vs" in out
    if status == 0:
        assert "Reproduce:" not in out
    else:
        assert "Reproduce:" in out
        command = out.split("Reproduce:", 1)[1].replace("\\\n", " ").split()
        assert command == ["replay", "run", f"{name}.yaml", *agent_args(agent)]
    assert_fits(out)


def test_expect_turns_the_verdict_into_pass_or_fail(cassettes):
    fixed = cli("run", cassettes.failing, "--agent", FIXED, "--expect", "fixed")
    assert fixed.code == 0, fixed
    assert "expected fixed: yes" in fixed.stdout
    still_broken = cli("run", cassettes.failing, "--expect", "fixed")
    assert still_broken.code == 1, still_broken
    assert "expected fixed: no, got reproduced" in still_broken.stdout
    reproduced = cli("run", cassettes.failing, "--expect", "reproduced", "--json")
    assert reproduced.code == 0, reproduced
    assert reproduced.json()["expected"] == "reproduced"
    diverged = cli("run", cassettes.ok, "--agent", REWORDED, "--expect", "match")
    assert diverged.code == 1, diverged


def test_expect_accepts_exactly_the_verdicts(cassettes):
    from replay.cli.run import ExpectedVerdict

    assert {v.value for v in ExpectedVerdict} == {v.value for v in VerdictKind}
    result = cli("run", cassettes.ok, "--expect", "passed")
    assert result.code == 3, result
    assert "Invalid value for '--expect'" in result.stderr


def test_progress_goes_to_stderr_and_json_stdout_stays_clean(cassettes):
    result = cli("run", cassettes.failing, "--json")
    assert result.json()["verdict"] == "reproduced"  # the agent's prints did not reach stdout
    assert "support agent: ticket" in result.stderr
    for i in (1, 2, 3):
        assert f"replay {i}/3: " in result.stderr


def test_a_cassette_without_an_entrypoint_needs_agent(cassettes, tmp_path):
    text = cassettes.ok.read_text(encoding="utf-8")
    stripped = tmp_path / "no-entry.yaml"
    stripped.write_text(
        text.replace("entrypoint: tests.agents.cli_support:run", "entrypoint: null"),
        encoding="utf-8",
    )
    result = cli("run", stripped)
    assert result.code == 3, result
    assert "records no entrypoint" in result.stderr
    served = cli("run", stripped, "--agent", "tests.agents.cli_support:run", "--json")
    assert served.json()["verdict"] == "match"


def test_an_error_class_replay_cannot_import_still_reproduces(tmp_path):
    path, _ = record(tmp_path / "local.yaml", "tests.agents.cli_local_error:run", {"amount": 5})
    result = cli("run", path, "--json")
    assert result.code == 1, result
    data = result.json()
    assert data["verdict"] == "reproduced"
    local_class = "tests.agents.cli_local_error._make_charge.<locals>.QuotaExceeded"
    assert data["original"]["error_class"] == data["replay"]["error_class"] == local_class
