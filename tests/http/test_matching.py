"""Which recorded interaction answers which request: body by default, or position."""

from __future__ import annotations

from pathlib import Path

import pytest

import replay
from replay.config import ConfigError
from replay.testing.fake_llm import FakeLLM, reply, tool_call
from tests.http import agents
from tests.http.conftest import write_http_config
from tests.http.test_openai import QUESTION, record_support


def test_volatile_fields_are_left_out_of_matching(cassette: Path) -> None:
    with FakeLLM([reply("Five days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:openai_support", user="alice")

    result = replay.replay(
        cassette, agent=lambda **kw: agents.openai_support(**{**kw, "user": "bob"})
    )

    step = replay.load_cassette(cassette).steps[0]
    assert "user" not in step.args
    assert step.http["request"]["ignored"] == {"user": "alice"}
    assert result.divergence is None and result.diff.identical


def test_host_and_port_are_not_part_of_matching(cassette: Path) -> None:
    with FakeLLM([reply("Five days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:openai_support")

    with replay.replaying(cassette) as replaying:
        replaying.set_result(agents.openai_support("http://localhost:1/v1", QUESTION))
    assert replaying.result is not None and replaying.result.diff.identical


def test_the_path_is_part_of_matching(cassette: Path) -> None:
    with FakeLLM([reply("Five days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:responses_support")

    result = replay.replay(cassette, agent="tests.http.agents:openai_support")
    assert result.divergence is not None
    assert any("args.endpoint" in line for line in result.divergence.args_diff)


def test_position_matching_serves_in_order_and_reports_the_prompt_change(
    cassette: Path, project: Path
) -> None:
    write_http_config(project, 'match = "position"')
    with FakeLLM([tool_call("search_docs", {"query": "refunds"}), reply("Five days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:openai_support")

    result = replay.replay(cassette, agent="tests.http.agents:openai_support_new_prompt")

    assert result.divergence is None
    assert result.outcome.output == "Five days."
    assert not result.diff.identical
    changed = [c for c in result.diff.changes if c.kind == "llm"]
    assert [c.change for c in changed] == ["changed", "changed"]
    assert changed[0].cause == "prompt changed"
    assert any(line.startswith("args.messages[0].content:") for line in changed[0].differences)


def test_extra_ignored_fields_come_from_the_project(cassette: Path, project: Path) -> None:
    write_http_config(project, 'ignore = ["max_tokens"]')
    with FakeLLM([reply("Five days.")]) as llm, replay.record(cassette):
        agents.anthropic_support(llm.url, QUESTION)
    step = replay.load_cassette(cassette).steps[0]
    assert "max_tokens" not in step.args
    assert step.http["request"]["ignored"] == {"max_tokens": 512}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('match = "fuzzy"', "match = 'fuzzy' is not one of 'args', 'name', 'position'"),
        ("colour = 1", "unknown key 'colour' (allowed: match, ignore, redact_patterns"),
        ('ignore = "user"', "ignore must be a list of strings"),
    ],
)
def test_configuration_errors_are_one_line(
    body: str, expected: str, project: Path, cassette: Path
) -> None:
    write_http_config(project, body)
    with pytest.raises(ConfigError) as error, replay.record(cassette):
        pass
    assert expected in str(error.value)
    assert "\n" not in str(error.value)
    assert str(project / "pyproject.toml") in str(error.value)
