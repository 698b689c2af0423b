"""Scenario files (model, validation, atomic save), their judgement, and ``replay scenario``.

Verdicts come from real replays of real cassettes; the command runs in a subprocess on a
project holding the scenario test agent (``tests/agents/scn_*.py``).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import replay
from replay.config import ConfigError
from replay.scenarios import (
    CheckOutcome,
    Mode,
    Scenario,
    ScenarioError,
    Status,
    check_scenario,
    configured_paths,
    dumps,
    evaluate,
    load_all,
    load_scenario,
    new_scenario,
    note_verdict,
    save_scenario,
    with_verdict,
)
from replay.storage import load_cassette
from replay.verdict import verdict_for
from tests.plugin.project import (
    install_agent,
    record_incidents,
    replay_cli,
    use_fix,
    write_pyproject,
)

HERE = "tests.test_scenarios"


@replay.tool
def fetch_order(order_id: str) -> str:
    """The order service during its outage."""
    raise TimeoutError(f"{order_id} timed out")


def released(order_id: str) -> str:
    return fetch_order(order_id)


def fixed(order_id: str) -> str:
    try:
        return fetch_order(order_id)
    except TimeoutError:
        return "sorry, try again later"


def regressed(order_id: str) -> str:
    try:
        return fetch_order(order_id)
    except TimeoutError:
        raise RuntimeError("the fallback failed too") from None


def diverging(order_id: str) -> str:
    return fetch_order(order_id.lower())


def make_flaky() -> Callable[[str], str]:
    """State the cassette does not capture: recovers once, then crashes."""
    calls = itertools.count()

    def flaky(order_id: str) -> str:
        return fixed(order_id) if next(calls) == 0 else released(order_id)

    return flaky


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    """A project root holding one recorded incident, ``cassettes/timeout.yaml``."""
    write_pyproject(tmp_path)
    replay.record_run(
        f"{HERE}:released", tmp_path / "cassettes" / "timeout.yaml", input={"order_id": "A-1"}
    )
    return tmp_path


def scenario_for(root: Path, *, status: Status = Status.OPEN, **options: Any) -> Scenario:
    cassette = load_cassette(root / "cassettes" / "timeout.yaml")
    return new_scenario(
        cassette,
        cassette_path="cassettes/timeout.yaml",
        scenario_id="timeout",
        status=status,
        **options,
    )


# -- the model -----------------------------------------------------------------------


def test_a_scenario_takes_its_failure_from_the_cassette_and_round_trips(incident: Path) -> None:
    scenario = scenario_for(incident, owner="alice", notes="Seen on 2026-11-03.\nPaged twice.")
    assert scenario.failure.key == ("exception", "builtins.TimeoutError", "tool", "fetch_order")
    path = save_scenario(scenario, incident / "scenarios" / "timeout.yaml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# agent-replay scenario (format version 1)")
    assert text.splitlines()[2:6] == [
        "version: 1",
        "id: timeout",
        "cassette: cassettes/timeout.yaml",
        "status: open",
    ]
    assert "notes: |-\n  Seen on 2026-11-03.\n  Paged twice.\n" in text
    loaded = load_scenario(path)
    assert loaded == scenario and loaded.path == path
    assert [p.name for p in path.parent.iterdir()] == ["timeout.yaml"]  # no temp file left


def test_saving_writes_only_what_reads_back(incident: Path) -> None:
    target = incident / "scenarios" / "timeout.yaml"
    with pytest.raises(ScenarioError, match="field 'id': 'no spaces please' is not a valid id"):
        save_scenario(replace(scenario_for(incident), id="no spaces please"), target)
    assert not target.exists()


def test_a_completed_run_is_not_an_incident(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    replay.record_run(f"{HERE}:fixed", path, input={"order_id": "A-1"})
    with pytest.raises(ScenarioError, match="completed without an error: there is no incident"):
        new_scenario(load_cassette(path), cassette_path="ok.yaml", scenario_id="ok")


MINIMAL = {
    "version": 1,
    "id": "x",
    "cassette": "c.yaml",
    "status": "open",
    "failure": {"stop_reason": "max_steps"},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": None}, "field 'status': missing (write one of: open, fixed)"),
        ({"mode": "guess"}, "field 'mode': 'guess' is not one of evidence, hypothesis"),
        ({"agent": "support_agent.run"}, "field 'agent': 'support_agent.run' is not of the form"),
        ({"last_verdict": "great"}, "field 'last_verdict': 'great' is not a verdict"),
        ({"failure": None}, "field 'failure': missing section (fill it in from the cassette"),
        ({"failure": {"stop_reason": "completed"}}, "'completed' with no error is not a failure"),
        (
            {
                "failure": {
                    "stop_reason": "x",
                    "failing_step": {"index": -1, "kind": "tool", "name": "t"},
                }
            },
            "field 'failure.failing_step.index': expected a step number",
        ),
        ({"version": 2}, "field 'version': scenario format version 2 is not supported"),
        ({"id": "-x"}, "field 'id': '-x' is not a valid id"),
        ({"owner": ["a", "b"]}, "field 'owner': expected text, found list"),
    ],
)
def test_validation_names_the_file_the_field_and_the_fix(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    import yaml

    data = {**MINIMAL, **change}
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_loading_all_scenarios_refuses_duplicate_ids(tmp_path: Path) -> None:
    scenario = Scenario(**{**MINIMAL, "status": Status.OPEN, "failure": _signature()})  # type: ignore[arg-type]
    save_scenario(scenario, tmp_path / "scenarios" / "a.yaml")
    save_scenario(scenario, tmp_path / "scenarios" / "nested" / "b.yml")
    (tmp_path / "scenarios" / "README.md").write_text("not a scenario", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"id 'x' is already used by .*a\.yaml"):
        load_all(["scenarios"], root=tmp_path)
    (tmp_path / "scenarios" / "nested" / "b.yml").unlink()
    assert [s.id for s in load_all(["scenarios", "missing-folder"], root=tmp_path)] == ["x"]


def test_the_default_folder_holds_only_files_with_a_cassette(tmp_path: Path) -> None:
    """Unconfigured, ``scenarios/`` may hold other tools' YAML; configured, it may not."""
    scenario = Scenario(**{**MINIMAL, "status": Status.OPEN, "failure": _signature()})  # type: ignore[arg-type]
    save_scenario(scenario, tmp_path / "scenarios" / "x.yaml")
    (tmp_path / "scenarios" / "load-test.yml").write_text("config: {target: x}\n", "utf-8")
    write_pyproject(tmp_path)
    assert [s.id for s in load_all(root=tmp_path)] == ["x"]
    write_pyproject(tmp_path, '\n[tool.replay]\nscenarios = ["scenarios"]')
    with pytest.raises(ScenarioError, match=r"load-test\.yml: field 'version'"):
        load_all(root=tmp_path)


def _signature() -> Any:
    from replay.verdict import FailureSignature

    return FailureSignature("max_steps", None, None, None, None)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({}, ["scenarios"]),
        ({"scenarios": "kept"}, ["kept"]),
        ({"scenarios": ["a", "b"]}, ["a", "b"]),
    ],
)
def test_scenario_folders_from_tool_replay(table: dict[str, Any], expected: list[str]) -> None:
    assert configured_paths(table) == expected


def test_bad_scenario_folders_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[tool.replay\] scenarios must be a list of folders"):
        configured_paths({"scenarios": [1]})


# -- judging -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "agent", "outcome", "label", "headline"),
    [
        ("fixed", fixed, "passed", "fixed", "incident timeout stays fixed"),
        ("fixed", released, "failed", "reproduced", "incident timeout is back"),
        ("fixed", regressed, "failed", "regressed", "the replay fails again, differently"),
        (
            "fixed",
            diverging,
            "failed",
            "diverged",
            "cannot be checked on evidence: the replay diverges",
        ),
        ("fixed", None, "failed", "flaky", "cannot be checked on evidence: the replay is flaky"),
        ("open", released, "xfailed", "reproduced", "incident timeout still reproduces (open)"),
        ("open", fixed, "failed", "fixed", "incident timeout no longer reproduces: mark it fixed"),
        ("open", regressed, "failed", "regressed", "no longer reproduces as recorded"),
        ("open", diverging, "failed", "diverged", "cannot be checked on evidence"),
        ("open", None, "failed", "flaky", "cannot be checked on evidence"),
    ],
)
def test_what_each_verdict_means_for_each_status(
    incident: Path,
    status: str,
    agent: Callable[..., Any] | None,
    outcome: str,
    label: str,
    headline: str,
) -> None:
    scenario = scenario_for(incident, status=Status(status))
    verdict = verdict_for(incident / "cassettes" / "timeout.yaml", agent=agent or make_flaky())
    check = evaluate(scenario, verdict)
    assert (check.outcome.value, check.label) == (outcome, label)
    assert headline in check.headline
    assert check.ok is (outcome in ("passed", "xfailed"))


def test_the_report_of_a_divergence_shows_where_and_how(incident: Path) -> None:
    scenario = scenario_for(incident, status=Status.FIXED, agent=f"{HERE}:diverging")
    check = check_scenario(scenario, root=incident, repeats=1)
    assert check.report().splitlines() == [
        check.headline,
        "  verdict:  diverged (hypothesis), expected fixed",
        "            step 0: tool 'fetch_order' has no recorded answer; the outcome cannot be "
        "decided on evidence",
        "  first divergence: step 0: tool call 'fetch_order' diverged: no recorded answer",
        "      nearest recorded call: step 0 tool 'fetch_order'",
        "        args.order_id: 'A-1' -> 'a-1'",
        "  step diff (recorded 1 steps -> replay 1, 0 equal):",
        "    changed step 0 tool 'fetch_order': tool args changed",
        "      args.order_id: 'A-1' -> 'a-1'",
        "    outcome: stop_reason exception -> diverged; error builtins.TimeoutError -> "
        "replay.errors.Divergence",
        f"  reproduce: replay run cassettes/timeout.yaml --agent {HERE}:diverging",
        "  scenario: timeout, status fixed",
    ]


def test_a_hypothesis_scenario_is_skipped_without_replaying(tmp_path: Path) -> None:
    scenario = Scenario(
        id="guess",
        cassette="nowhere.yaml",
        failure=_signature(),
        mode=Mode.HYPOTHESIS,
        last_reason="step 3: no recorded answer",
    )
    check = check_scenario(scenario, root=tmp_path)
    assert check.outcome is CheckOutcome.SKIPPED and check.label == "hypothesis"
    assert "(step 3: no recorded answer)" in check.headline
    with pytest.raises(replay.CassetteError, match="no such cassette file"):
        check_scenario(scenario, root=tmp_path, run_hypothesis=True)


def test_a_scenario_must_still_match_its_cassette(incident: Path) -> None:
    scenario = scenario_for(incident)
    stale = replace(scenario, failure=replace(scenario.failure, error_class="builtins.KeyError"))
    with pytest.raises(ScenarioError, match="the failure no longer matches its cassette"):
        check_scenario(stale, root=incident)


def test_verdicts_are_noted_in_the_scenarios_they_speak_for(incident: Path) -> None:
    original = scenario_for(incident, status=Status.FIXED, agent=f"{HERE}:fixed")
    save_scenario(original, incident / "scenarios" / "timeout.yaml")
    save_scenario(
        replace(scenario_for(incident), id="other"), incident / "scenarios" / "other.yaml"
    )
    verdict = verdict_for(incident / "cassettes" / "timeout.yaml", agent=f"{HERE}:diverging")
    assert note_verdict(verdict, root=incident) == []  # another agent: not this scenario's
    verdict = verdict_for(incident / "cassettes" / "timeout.yaml", agent=f"{HERE}:fixed")
    assert note_verdict(verdict, root=incident) == [incident / "scenarios" / "timeout.yaml"]
    noted = load_scenario(incident / "scenarios" / "timeout.yaml")
    assert noted == with_verdict(original, verdict)
    assert (noted.mode, noted.last_verdict) == (Mode.EVIDENCE, "fixed")
    assert load_scenario(incident / "scenarios" / "other.yaml").last_verdict is None


def test_dumps_leaves_out_unset_optional_fields(incident: Path) -> None:
    text = dumps(scenario_for(incident))
    for absent in ("agent:", "owner:", "notes:", "last_verdict:", "last_reason:"):
        assert absent not in text


# -- replay scenario -----------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scn-cli-incidents")
    install_agent(folder)
    return record_incidents(folder)


@pytest.fixture
def shop(tmp_path: Path, recorded: dict[str, Path]) -> Path:
    """A project with the released agent and its two incidents (no scenarios yet)."""
    install_agent(tmp_path)
    write_pyproject(tmp_path)
    for sid, source in recorded.items():
        target = tmp_path / "cassettes" / "incidents" / f"{sid}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return tmp_path


def test_add_writes_the_scenario_and_checks_it(shop: Path) -> None:
    result = replay_cli(
        shop,
        "scenario",
        "add",
        "cassettes/incidents/order-timeout.yaml",
        "--owner",
        "alice",
        "--notes",
        "INC-42",
    )
    assert result.code == 0, result
    assert result.stdout.splitlines() == [
        "added scenarios/order-timeout.yaml: open incident order-timeout",
        "  failure: exception (builtins.TimeoutError) at step 1 tool 'lookup_order'",
        "reproduced  incident order-timeout still reproduces (open)",
    ]
    scenario = load_scenario(shop / "scenarios" / "order-timeout.yaml")
    assert (scenario.status, scenario.mode, scenario.last_verdict) == (
        Status.OPEN,
        Mode.EVIDENCE,
        "reproduced",
    )
    assert (scenario.owner, scenario.notes, scenario.agent) == ("alice", "INC-42", None)


def test_add_from_a_subfolder_stores_paths_relative_to_the_project_root(shop: Path) -> None:
    (shop / "cassettes" / "incidents" / "help-loop.yaml").rename(shop / "help-loop.yaml")
    result = replay_cli(
        shop / "cassettes",
        "scenario",
        "add",
        "../help-loop.yaml",
        "--id",
        "loop",
        "--no-check",
        "--json",
    )
    assert result.code == 0, result
    data = result.json()
    assert data["file"] == "scenarios/loop.yaml" and data["check"] is None
    assert data["scenario"]["cassette"] == "help-loop.yaml"
    assert data["scenario"]["failure"] == {
        "stop_reason": "max_steps",
        "error_class": None,
        "failing_step": None,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cassettes/incidents/missing.yaml",), "no such cassette file"),
        (("/tmp/elsewhere.yaml",), "is outside the project root"),
        (
            ("cassettes/incidents/order-timeout.yaml", "--status", "closed"),
            "'closed' is not one of 'open', 'fixed'",
        ),
    ],
)
def test_add_errors_exit_3_without_a_traceback(
    shop: Path, args: tuple[str, ...], message: str
) -> None:
    result = replay_cli(shop, "scenario", "add", *args)
    assert result.code == 3, result
    assert message in result.stderr, result
    assert "Traceback" not in result.stderr


def test_add_refuses_to_replace_without_force_and_keeps_what_is_not_given(shop: Path) -> None:
    cassette = "cassettes/incidents/order-timeout.yaml"
    assert replay_cli(shop, "scenario", "add", cassette, "--owner", "alice", "--no-check").code == 0
    again = replay_cli(shop, "scenario", "add", cassette)
    assert again.code == 3
    assert (
        "scenarios/order-timeout.yaml: a scenario with this id exists (pass --force" in again.stderr
    )
    forced = replay_cli(shop, "scenario", "add", cassette, "--force", "--status", "fixed")
    assert forced.code == 1, forced  # fixed, but the released agent still fails
    scenario = load_scenario(shop / "scenarios" / "order-timeout.yaml")
    assert (scenario.owner, scenario.status, scenario.last_verdict) == (
        "alice",
        Status.FIXED,
        "reproduced",
    )


def test_list_shows_every_scenario(shop: Path) -> None:
    assert "no scenarios in scenarios" in replay_cli(shop, "scenario", "list").stdout
    for sid in ("order-timeout", "help-loop"):
        replay_cli(shop, "scenario", "add", f"cassettes/incidents/{sid}.yaml", "--no-check")
    data = replay_cli(shop, "scenario", "list", "--json").json()
    assert [(s["id"], s["status"], s["file"]) for s in data["scenarios"]] == [
        ("help-loop", "open", "scenarios/help-loop.yaml"),
        ("order-timeout", "open", "scenarios/order-timeout.yaml"),
    ]
    table = replay_cli(shop, "scenario", "list").stdout
    assert "help-loop" in table and "order-timeout" in table


def test_check_fix_and_reopen(shop: Path) -> None:
    for sid in ("order-timeout", "help-loop"):
        replay_cli(shop, "scenario", "add", f"cassettes/incidents/{sid}.yaml", "--no-check")
    assert replay_cli(shop, "scenario", "check").code == 0

    refused = replay_cli(shop, "scenario", "fix", "order-timeout")
    assert refused.code == 1, refused
    assert "not marked fixed: order-timeout does not replay as fixed" in refused.stdout
    assert "reproduce: replay run cassettes/incidents/order-timeout.yaml" in refused.stdout
    assert load_scenario(shop / "scenarios" / "order-timeout.yaml").status is Status.OPEN

    use_fix(shop, "scn_tool_errors")
    still_open = replay_cli(shop, "scenario", "check", "order-timeout")
    assert still_open.code == 1, still_open
    assert "incident order-timeout no longer reproduces: mark it fixed" in still_open.stdout
    marked = replay_cli(shop, "scenario", "fix", "order-timeout")
    assert marked.code == 0, marked
    assert load_scenario(shop / "scenarios" / "order-timeout.yaml").status is Status.FIXED
    data = replay_cli(shop, "scenario", "check", "--json").json()
    assert data["exit_status"] == 0
    assert {s["id"]: (s["outcome"], s["label"]) for s in data["scenarios"]} == {
        "help-loop": ("xfailed", "reproduced"),
        "order-timeout": ("passed", "fixed"),
    }

    use_fix(shop, "scn_tool_errors", "diverging")
    before = (shop / "scenarios" / "order-timeout.yaml").read_text()
    undecided = replay_cli(shop, "scenario", "check", "order-timeout")
    assert undecided.code == 2, undecided
    assert "first divergence: step 2: tool call 'search_help' diverged" in undecided.stdout
    assert (shop / "scenarios" / "order-timeout.yaml").read_text() == before  # read-only
    written = replay_cli(shop, "scenario", "check", "order-timeout", "--write")
    assert written.code == 2, written
    scenario = load_scenario(shop / "scenarios" / "order-timeout.yaml")
    assert (scenario.mode, scenario.last_verdict) == (Mode.HYPOTHESIS, "diverged")

    reopened = replay_cli(shop, "scenario", "reopen", "order-timeout")
    assert reopened.code == 0, reopened
    assert load_scenario(shop / "scenarios" / "order-timeout.yaml").status is Status.OPEN


def test_check_reports_a_broken_scenario_and_checks_the_others(shop: Path) -> None:
    for sid in ("order-timeout", "help-loop"):
        replay_cli(shop, "scenario", "add", f"cassettes/incidents/{sid}.yaml", "--no-check")
    (shop / "cassettes" / "incidents" / "help-loop.yaml").unlink()
    result = replay_cli(shop, "scenario", "check")
    assert result.code == 3, result
    assert (
        "error       help-loop: cassettes/incidents/help-loop.yaml: no such cassette file "
        "(check the path, or record it first)" in result.stdout
    )
    assert "reproduced  incident order-timeout still reproduces (open)" in result.stdout
    unknown = replay_cli(shop, "scenario", "check", "nope")
    assert unknown.code == 3
    assert "no scenario with id 'nope' (known: help-loop, order-timeout)" in unknown.stderr
