"""What a scenario's replay means for the test run.

Each test builds a project with the real agent, its recorded incidents, one fix version
and a scenario, then runs a real pytest process in it. The last test runs one project
holding every outcome serially and under ``-n 2`` and compares the two.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.plugin.conftest import ScnProject

pytest_plugins = ("pytester",)


def junit_properties(project: ScnProject, report: str = "junit.xml") -> dict[str, dict[str, str]]:
    """``{test name: {property: value}}`` from a junit XML report."""
    root = ET.parse(project.path / report).getroot()
    return {
        case.get("name", ""): {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        for case in root.iter("testcase")
    }


def test_open_incident_that_still_reproduces_is_an_expected_failure(project: ScnProject) -> None:
    project.scenario("order-timeout", status="open")
    result = project.pytest("-rx", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*- replay scenarios: 1 reproduced, 0 fixed, 0 diverged, 0 hypothesis -*",
            "*XFAIL scenarios/order-timeout.yaml::order-timeout - incident order-timeout "
            "still reproduces (open)*",
        ]
    )
    assert junit_properties(project)["order-timeout"] == {
        "replay_scenario": "order-timeout",
        "replay_status": "open",
        "replay_verdict": "reproduced",
        "replay_mode": "evidence",
        "replay_outcome": "xfailed",
    }


def test_open_incident_that_no_longer_reproduces_fails_asking_to_mark_it_fixed(
    project: ScnProject,
) -> None:
    project.fix("scn_tool_errors")
    project.scenario("order-timeout", status="open")
    result = project.pytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*incident order-timeout no longer reproduces: mark it fixed "
            "('replay scenario fix order-timeout', or set 'status: fixed' in its file)",
            "*verdict:  fixed (evidence), expected reproduced",
            "*replay scenarios: 0 reproduced, 1 fixed, 0 diverged, 0 hypothesis*",
        ]
    )


def test_fixed_incident_passes_when_replay_gives_fixed(project: ScnProject) -> None:
    project.fix("scn_tool_errors")
    project.fix("scn_loop_guard")
    project.scenario("order-timeout", status="fixed")
    project.scenario("help-loop", status="fixed")
    result = project.pytest("--junitxml=junit.xml")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["*replay scenarios: 0 reproduced, 2 fixed, 0 diverged, 0 hypothesis*"]
    )
    properties = junit_properties(project)
    assert properties["order-timeout"]["replay_verdict"] == "fixed"
    assert properties["help-loop"]["replay_verdict"] == "fixed"


def test_fixed_incident_that_comes_back_fails_with_the_verdict_and_the_command(
    project: ScnProject, xdist: bool
) -> None:
    project.scenario("order-timeout", status="fixed")
    result = project.pytest(xdist=xdist)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ scenario order-timeout (fixed) _*",
            "incident order-timeout is back: the replay fails like the recorded incident",
            "  verdict:  reproduced (evidence), expected fixed",
            "            every replay fails like the original: stop_reason exception "
            "(TimeoutError) at step 1 tool 'lookup_order'",
            "  first divergence: none (the replay follows the recorded calls)",
            "  step diff: none (same calls, same answers, same ending as recorded)",
            "  reproduce: replay run cassettes/incidents/order-timeout.yaml",
            "  scenario: scenarios/order-timeout.yaml, status fixed (owner: oncall)",
            "*replay scenarios: 1 reproduced, 0 fixed, 0 diverged, 0 hypothesis*",
            "*FAILED scenarios/order-timeout.yaml::order-timeout - incident*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_fixed_incident_that_fails_differently_fails_as_regressed(project: ScnProject) -> None:
    (project.path / "scn_tool_errors.py").write_text(
        "def on_tool_error(tool, error):\n"
        "    raise RuntimeError(f'{tool} failed and the fallback too')\n",
        encoding="utf-8",
    )
    project.scenario("order-timeout", status="fixed")
    result = project.pytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "incident order-timeout is not fixed: the replay fails again, differently",
            "  verdict:  regressed (evidence), expected fixed",
            "    outcome: error builtins.TimeoutError -> builtins.RuntimeError",
            "*replay scenarios: 0 reproduced, 0 fixed, 0 diverged, 0 hypothesis, 1 regressed*",
        ]
    )


@pytest.mark.parametrize("status", ["fixed", "open"])
def test_a_diverging_replay_is_not_evidence_and_fails_with_the_first_divergence(
    project: ScnProject, status: str
) -> None:
    project.fix("scn_tool_errors", "diverging")
    project.scenario("order-timeout", status=status)
    result = project.pytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"incident order-timeout ({status}) cannot be checked on evidence: the replay "
            "diverges; re-record the incident, or run 'replay scenario check order-timeout "
            "--write' to mark it a hypothesis",
            "  verdict:  diverged (hypothesis), expected *",
            "  first divergence: step 2: tool call 'search_help' diverged: no recorded answer",
            "  step diff (recorded 2 steps -> replay 3, 2 equal):",
            "    added step 2 tool 'search_help': new tool call",
            "  reproduce: replay run cassettes/incidents/order-timeout.yaml",
            "*replay scenarios: 0 reproduced, 0 fixed, 1 diverged, 0 hypothesis*",
        ]
    )


def test_a_flaky_replay_fails_the_fixed_incident(project: ScnProject) -> None:
    project.fix("scn_tool_errors", "flaky")
    project.scenario("order-timeout", status="fixed")
    result = project.pytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "incident order-timeout (fixed) cannot be checked on evidence: the replay is flaky*",
            "  verdict:  flaky (hypothesis), expected fixed",
            "*replay scenarios: 0 reproduced, 0 fixed, 0 diverged, 0 hypothesis, 1 flaky*",
        ]
    )


@pytest.mark.parametrize("agent_version", ["fixed", "unfixed"])
def test_a_hypothesis_scenario_is_skipped_with_its_reason_never_passed(
    project: ScnProject, agent_version: str
) -> None:
    project.fix("scn_tool_errors", agent_version)
    project.scenario(
        "order-timeout",
        status="fixed",
        mode="hypothesis",
        last_reason="step 2: tool 'search_help' has no recorded answer",
    )
    result = project.pytest("-rs", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*replay scenarios: 0 reproduced, 0 fixed, 0 diverged, 1 hypothesis*",
            "*SKIPPED*scenario order-timeout is a hypothesis, not evidence (step 2: tool "
            "'search_help' has no recorded answer); re-record the incident and run "
            "'replay scenario check order-timeout --write'*",
        ]
    )
    assert junit_properties(project)["order-timeout"]["replay_verdict"] == "hypothesis"


def test_a_scenario_replaying_another_entrypoint_names_it_in_the_command(
    project: ScnProject,
) -> None:
    project.pytester.makepyfile(
        shop_fixed='''
        import scn_support

        def run(question, max_steps=4):
            """The released agent behind a guard: the hotfix entrypoint."""
            try:
                return scn_support.run(question, max_steps)
            except TimeoutError:
                return {"stop_reason": "completed", "output": "Sorry, try again later."}
        '''
    )
    project.scenario("order-timeout", status="fixed", agent="shop_fixed:run")
    project.scenario("help-loop", status="fixed", agent="shop_fixed:run")
    result = project.pytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "incident help-loop is back: the replay fails like the recorded incident",
            "  reproduce: replay run cassettes/incidents/help-loop.yaml --agent shop_fixed:run",
        ]
    )


def test_a_scenario_that_cannot_be_replayed_fails_with_one_line(project: ScnProject) -> None:
    project.scenario("order-timeout", status="fixed")
    (project.path / "cassettes" / "incidents" / "order-timeout.yaml").unlink()
    result = project.pytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenario order-timeout: *cassettes/incidents/order-timeout.yaml: no such cassette "
            "file (check the path, or record it first)",
            "*replay scenarios: 0 reproduced, 0 fixed, 0 diverged, 0 hypothesis, 1 error*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_scenario_whose_failure_no_longer_matches_its_cassette_fails(
    project: ScnProject,
) -> None:
    path = project.scenario("order-timeout", status="open")
    text = path.read_text(encoding="utf-8").replace("builtins.TimeoutError", "builtins.KeyError")
    path.write_text(text, encoding="utf-8")
    result = project.pytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenario order-timeout: *scenarios/order-timeout.yaml: field 'failure': the failure "
            "no longer matches its cassette cassettes/incidents/order-timeout.yaml*"
            "(run 'replay scenario add cassettes/incidents/order-timeout.yaml --id order-timeout "
            "--force')",
        ]
    )


def test_replay_repeats_option_reaches_the_verdict(project: ScnProject) -> None:
    """With one replay a state-dependent fix looks fixed; the default repeats catch it."""
    project.fix("scn_tool_errors", "flaky")
    project.scenario("order-timeout", status="fixed")
    project.pytest("--replay-repeats=1").assert_outcomes(passed=2)
    project.pytest().assert_outcomes(passed=1, failed=1)


def test_xdist_gives_the_same_outcomes_verdicts_and_summary_as_a_serial_run(
    project: ScnProject,
) -> None:
    """One project with every kind of outcome, run serially and with ``-n 2``."""
    project.fix("scn_tool_errors")
    project.pytester.makepyfile(
        shop_status_page="""
        import scn_support

        def run(question, max_steps=4):
            \"\"\"Checks the status page first: a call no incident recorded.\"\"\"
            scn_support.search_help("status page")
            return scn_support.run(question, max_steps)
        """
    )
    timeout = "cassettes/incidents/order-timeout.yaml"
    loop = "cassettes/incidents/help-loop.yaml"
    project.scenario("order-timeout", status="fixed")
    project.scenario("help-loop", status="open")
    project.scenario("loop-back", status="fixed", cassette=loop)
    project.scenario(
        "timeout-status-page", status="fixed", agent="shop_status_page:run", cassette=timeout
    )
    project.scenario("timeout-guess", status="fixed", mode="hypothesis", cassette=timeout)
    runs = {}
    for label, xdist in (("serial", False), ("xdist", True)):
        report = f"junit-{label}.xml"
        result = project.pytest(f"--junitxml={report}", xdist=xdist)
        summary = [line.strip("- ") for line in result.outlines if "replay scenarios:" in line]
        runs[label] = (result.parseoutcomes(), junit_properties(project, report), summary)
    assert runs["serial"] == runs["xdist"]
    outcomes, properties, summary = runs["serial"]
    assert outcomes == {"passed": 2, "failed": 2, "xfailed": 1, "skipped": 1}
    assert {name: p.get("replay_verdict") for name, p in properties.items()} == {
        "test_smoke": None,
        "order-timeout": "fixed",
        "help-loop": "reproduced",
        "loop-back": "reproduced",
        "timeout-status-page": "diverged",
        "timeout-guess": "hypothesis",
    }
    assert summary == ["replay scenarios: 2 reproduced, 1 fixed, 1 diverged, 1 hypothesis"]
