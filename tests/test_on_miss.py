"""On-miss policies: which recorded answer stands in for a missing call, the words of
each assumption, and where a policy can be declared (option, scenario file, settings)."""

from __future__ import annotations

import pytest

import replay
from replay.canonical import stable_hash
from replay.cassette import ErrorInfo, Step
from replay.config import ConfigError
from replay.golden import settings_from_config
from replay.matching import RecordedIndex
from replay.on_miss import (
    AssumedCall,
    OnMissError,
    derived_path,
    headline,
    is_derived_name,
    parse_on_miss,
    require_network,
)
from replay.scenarios import ScenarioError, dumps, parse, scenario_from_dict


def step(index: int, kind: str, name: str, args: dict, result=None, error=None) -> Step:
    return Step(index, kind, name, args, stable_hash(args), result=result, error=error)


TIMEOUT = ErrorInfo("builtins.TimeoutError", "search timed out")
STEPS = (
    step(0, "llm", "m", {"messages": ["sys", "hi"]}, "call search"),
    step(1, "tool", "search", {"q": "refund"}, error=TIMEOUT),
    step(2, "llm", "m", {"messages": ["sys", "hi", "calling search", "timeout"]}, "give up"),
    step(3, "tool", "search", {"q": "refund"}, ["hit"]),
)


def test_nearest_takes_the_most_similar_unserved_call_then_reuses():
    index = RecordedIndex(STEPS)
    # A reworded system prompt: the second turn is more like step 2 than step 0.
    second = {"messages": ["system!", "hi", "calling search", "timeout"]}
    assert index.answer_nearest("llm", "m", second).index == 2
    assert index.answer_nearest("llm", "m", {"messages": ["system!", "hi"]}).index == 0
    # Both served now: the most similar is answered again (and nothing is "unserved").
    assert index.answer_nearest("llm", "m", second).index == 2
    assert [s.index for s in index.unserved()] == [1, 3]
    assert index.answer_nearest("tool", "lookup", {"id": 1}) is None  # never recorded


def test_repeat_and_error_take_the_last_recorded_answer_and_error():
    index = RecordedIndex(STEPS)
    assert index.answer_last("tool", "search").index == 3
    assert index.answer_last("tool", "search", failed=True).index == 1
    assert index.answer_last("llm", "m", failed=True) is None


def test_the_assumptions_in_words():
    nearest = [AssumedCall(2, "llm", "m", "nearest", 1), AssumedCall(4, "llm", "m", "nearest", 3)]
    assert headline("fixed", "nearest", nearest) == (
        "fixed, assuming the model answers as recorded after the prompt change "
        "(2 calls served by nearest)"
    )
    tools = [AssumedCall(5, "tool", "search", "repeat", 3)]
    assert headline("reproduced", "repeat", tools) == (
        "reproduced, assuming 'search' keeps answering as last recorded (the tool stays "
        "degraded) (1 call served by repeat)"
    )
    live = [AssumedCall(2, "llm", "m", "live", None, "127.0.0.1:80")]
    assert headline("fixed", "live", live).endswith("(1 call answered live)")


def test_a_policy_is_named_or_refused_in_one_line():
    assert parse_on_miss(" Nearest ").value == "nearest"
    assert parse_on_miss(None) is None
    with pytest.raises(
        OnMissError,
        match=r"--on-miss: 'closest' is not an on-miss policy; "
        r"use one of nearest, repeat, error, live",
    ):
        parse_on_miss("closest")
    require_network(parse_on_miss("nearest"), allow_network=False)
    with pytest.raises(OnMissError, match="pass --allow-network"):
        require_network(parse_on_miss("live"), allow_network=False)
    with pytest.raises(OnMissError, match="pass --allow-network"):
        replay.replay(_cassette(), on_miss="live")  # refused before the agent is imported


def _cassette():
    from replay.cassette import Cassette, Outcome, RunContext

    return Cassette(RunContext("r", "t", entrypoint="json:dumps"), STEPS, Outcome("completed"))


def test_derived_cassettes_sit_next_to_the_original():
    assert derived_path("cassettes/run_a113.yaml").as_posix() == "cassettes/run_a113.live.yaml"
    assert derived_path("run_a113.live.yaml").as_posix() == "run_a113.live.yaml"
    assert is_derived_name("x/run.live.yaml") and not is_derived_name("x/run.yaml")


SCENARIO = {
    "version": 1,
    "id": "late",
    "cassette": "cassettes/late.yaml",
    "status": "open",
    "failure": {"stop_reason": "tool_error", "error_class": "builtins.TimeoutError"},
}


def test_a_scenario_declares_its_policy():
    scenario = scenario_from_dict({**SCENARIO, "on_miss": "nearest"}, path="scenarios/late.yaml")
    assert scenario.on_miss == "nearest"
    assert scenario_from_dict(parse(dumps(scenario).encode())).on_miss == "nearest"
    assert "on_miss" not in dumps(scenario_from_dict(SCENARIO))
    with pytest.raises(ScenarioError) as raised:
        scenario_from_dict({**SCENARIO, "on_miss": "guess"}, path="scenarios/late.yaml")
    assert str(raised.value).startswith(
        "scenarios/late.yaml: field 'on_miss': 'guess' is not an on-miss policy"
    )


def test_a_golden_set_declares_its_policy():
    assert settings_from_config({"on_miss": "repeat"}).on_miss == "repeat"
    assert settings_from_config({}).on_miss is None
    with pytest.raises(
        ConfigError,
        match=r"\[tool.replay.golden\] on_miss in pyproject.toml: "
        "'sometimes' is not an on-miss policy",
    ):
        settings_from_config({"on_miss": "sometimes"})
