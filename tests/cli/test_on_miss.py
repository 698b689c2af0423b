"""``replay run --on-miss``: a fix that changes the path gets a verdict under a named
assumption (a hypothesis), while a fix that only removes calls stays evidence."""

from __future__ import annotations

import pytest

from tests.cli.conftest import REWORDED, assert_one_error_line, cli

VARIANTS = "tests.agents.cli_support_variants"
NEAREST_ASSUMPTION = "the model answers as recorded after the prompt change"


def test_a_prompt_change_matches_under_nearest_with_the_assumption_named(cassettes):
    result = cli("run", cassettes.ok, "--agent", REWORDED, "--on-miss", "nearest", "--json")
    assert result.code == 0, result
    data = result.json()
    assert (data["verdict"], data["mode"], data["on_miss"]) == ("match", "hypothesis", "nearest")
    assert data["assumption"] == NEAREST_ASSUMPTION
    assert data["headline"] == f"match, assuming {NEAREST_ASSUMPTION} (2 calls served by nearest)"
    # The recorded run: uuid, llm, tool search_docs, llm; both model calls carry the new prompt.
    assert data["assumed_calls"] == [
        {
            "step": s,
            "kind": "llm",
            "name": "scripted-model",
            "policy": "nearest",
            "answered_by": s,
            "host": None,
        }
        for s in (1, 3)
    ]
    assert [r["assumed_calls"] for r in data["replays"]] == [2, 2, 2]
    assert data["divergence"] is None and data["first_divergence"] is None
    assert data["reproduce"].endswith("--on-miss nearest")
    # The change itself is still shown: the diff has the reworded prompt.
    assert [c["cause"] for c in data["diff"]["changes"]] == ["prompt changed", "prompt changed"]


def test_the_human_report_names_the_assumption_and_each_call(cassettes):
    result = cli("run", cassettes.ok, "--agent", REWORDED, "--on-miss", "nearest", columns=100)
    assert result.code == 0, result
    out = result.stdout
    assert "Verdict: MATCH  hypothesis" in out
    assert f"match, assuming {NEAREST_ASSUMPTION} (2 calls served by nearest)" in out
    assert "step 1 llm scripted-model <- recorded step 1" in out
    assert "step 3 llm scripted-model <- recorded step 3" in out


def test_a_fix_that_rewords_the_prompt_is_fixed_under_nearest(cassettes):
    agent = f"{VARIANTS}:reworded_fixed"
    data = cli("run", cassettes.failing, "--agent", agent, "--on-miss", "nearest", "--json").json()
    assert (data["verdict"], data["mode"], data["exit_status"]) == ("fixed", "hypothesis", 0)
    assert data["headline"] == f"fixed, assuming {NEAREST_ASSUMPTION} (1 call served by nearest)"
    assert [(c["step"], c["answered_by"]) for c in data["assumed_calls"]] == [(1, 1)]
    assert "1 of its calls answered by on-miss nearest, not from the recording" in data["reason"]
    # Without a policy the same fix diverges at that call, as before.
    plain = cli("run", cassettes.failing, "--agent", agent, "--json").json()
    assert (plain["verdict"], plain["first_divergence"]) == ("diverged", 1)


def test_a_fix_that_removes_a_call_verifies_with_evidence(cassettes):
    agent = f"{VARIANTS}:fail_fast"
    data = cli("run", cassettes.failing, "--agent", agent, "--on-miss", "nearest", "--json").json()
    assert (data["verdict"], data["mode"], data["headline"]) == ("fixed", "evidence", "fixed")
    assert data["assumed_calls"] == [] and data["assumption"] is None
    assert "served entirely from recorded answers" in data["reason"]


@pytest.mark.parametrize(
    ("policy", "assumption"),
    [
        ("repeat", "'lookup_order' keeps answering as last recorded (the tool stays degraded)"),
        ("error", "'lookup_order' keeps failing with the recorded error"),
    ],
)
def test_a_third_attempt_at_a_degraded_tool_under_repeat_and_error(cassettes, policy, assumption):
    # Recorded: two timeouts of lookup_order (steps 2, 3); the patient agent tries thrice.
    agent = f"{VARIANTS}:patient"
    data = cli("run", cassettes.failing, "--agent", agent, "--on-miss", policy, "--json").json()
    assert (data["verdict"], data["mode"]) == ("reproduced", "hypothesis")
    assert data["headline"] == f"reproduced, assuming {assumption} (1 call served by {policy})"
    assert [(c["step"], c["name"], c["answered_by"]) for c in data["assumed_calls"]] == [
        (4, "lookup_order", 3)
    ]


def test_error_without_a_recorded_error_still_diverges(cassettes):
    data = cli("run", cassettes.ok, "--agent", REWORDED, "--on-miss", "error", "--json").json()
    assert (data["verdict"], data["first_divergence"]) == ("diverged", 1)
    assert (
        "on-miss error: no recorded error of llm 'scripted-model'" in data["divergence"]["reason"]
    )


def test_live_without_allow_network_is_refused_in_one_line(cassettes):
    result = cli("run", cassettes.ok, "--agent", REWORDED, "--on-miss", "live")
    assert_one_error_line(result, "--allow-network")
    assert "pass --allow-network" in result.stderr
