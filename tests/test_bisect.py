"""What a replay's verdict makes a commit for the bisection (the git side is driven for
real in tests/cli/test_bisect.py)."""

from __future__ import annotations

import pytest

from replay.bisect import StepSpec, decide, step_command


@pytest.mark.parametrize(
    ("verdict", "mode", "expect", "decision"),
    [
        ("reproduced", "evidence", "reproduced", "bad"),
        ("fixed", "evidence", "reproduced", "good"),
        ("regressed", "evidence", "reproduced", "good"),
        ("diverged", "hypothesis", "reproduced", "skip"),
        ("flaky", "hypothesis", "reproduced", "skip"),
        # a verdict against a recording whose outcome is unknown is never evidence
        ("match", "hypothesis", "reproduced", "skip"),
        ("fixed", "evidence", "fixed", "bad"),
        ("reproduced", "evidence", "fixed", "good"),
        ("diverged", "hypothesis", "diverged", "bad"),
        ("flaky", "hypothesis", "diverged", "skip"),
    ],
)
def test_decide(verdict, mode, expect, decision):
    assert decide(verdict, mode, expect) == decision


def test_the_step_spec_travels_as_json_and_keeps_the_commit_behind_agent_replay():
    spec = StepSpec(
        "/x/incident.yaml",
        expect="fixed",
        agent="shop.fix:run",
        repeat=2,
        allow_hosts=("localhost:11434",),
        subfolder="services/shop",
    )
    assert StepSpec.from_json(spec.to_json()) == spec
    command = step_command(spec)
    # -P: the commit's folder (the working folder) does not shadow agent-replay itself
    assert command[1:5] == ["-P", "-m", "replay.bisect", "--step"]
