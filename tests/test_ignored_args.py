"""Arguments that ``@replay.tool(ignore=...)`` leaves out of matching, the step diff and
the verdict leave out too; a change in an argument that matching does look at still counts."""

from __future__ import annotations

import replay
from replay.verdict import verdict_for

AGENT = "tests.agents.volatile_args"


def record(tmp_path):
    path = tmp_path / "volatile.yaml"
    replay.record_run(f"{AGENT}:run", path, input={"order_id": "A-1"}, run_id="run_volatile")
    return path


def test_an_ignored_volatile_argument_replays_as_match(tmp_path):
    path = record(tmp_path)
    verdict = verdict_for(path, repeats=3)
    assert (verdict.verdict, verdict.mode) == ("match", "evidence"), verdict.reason
    assert verdict.diff.identical
    assert all(result.identical for result in verdict.results)


def test_the_replay_still_records_the_new_volatile_value(tmp_path):
    path = record(tmp_path)
    original = replay.load_cassette(path)
    result = replay.replay(path)
    assert result.identical
    assert result.history[0].args["request_id"] != original.steps[0].args["request_id"]


def test_a_change_in_a_matched_argument_is_still_reported(tmp_path):
    path = record(tmp_path)
    verdict = verdict_for(path, agent=f"{AGENT}:run_other_order", repeats=1)
    assert verdict.verdict == "diverged"
    assert verdict.first_divergence == 0
