"""One reading of token usage for triage and release diffs (``replay.usage.tokens_of``).

The SDK cases record real openai/anthropic calls (JSON and server-sent events) against
the fake model server, which bills ``ceil(len(json.dumps(messages, sort_keys=True)) / 4)``
input tokens and ``ceil(len(text) / 4)`` output tokens. For the one message sent here,
``[{"content": "hi", "role": "user"}]`` is 35 characters: 9 input tokens; the answer
"Hello there." is 12 characters: 3 output tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

import replay
from replay.cassette import Outcome
from replay.golden import RunFigures
from replay.signals import signals_of, token_usage
from replay.testing.fake_llm import FakeLLM, reply
from replay.usage import tokens_of

MESSAGES = [{"role": "user", "content": "hi"}]
ANSWER = "Hello there."
IN, OUT = 9, 3


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-usage")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-usage")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def openai_json(llm: FakeLLM) -> None:
    openai.OpenAI(base_url=llm.openai_url).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES
    )


def openai_stream(llm: FakeLLM, *, include_usage: bool = True) -> None:
    options = {"include_usage": True} if include_usage else None
    chunks = openai.OpenAI(base_url=llm.openai_url).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        **({"stream_options": options} if options else {}),
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER


def anthropic_json(llm: FakeLLM) -> None:
    anthropic.Anthropic(base_url=llm.anthropic_url).messages.create(
        model="claude-fake-1", max_tokens=64, messages=MESSAGES
    )


def anthropic_stream(llm: FakeLLM) -> None:
    with anthropic.Anthropic(base_url=llm.anthropic_url).messages.stream(
        model="claude-fake-1", max_tokens=64, messages=MESSAGES
    ) as stream:
        assert stream.get_final_text() == ANSWER


CALLS = {
    "openai-json": openai_json,
    "openai-sse": openai_stream,
    "anthropic-json": anthropic_json,
    "anthropic-sse": anthropic_stream,
}


def record(tmp_path: Path, *calls: Any) -> replay.Cassette:
    cassette = tmp_path / "usage.yaml"
    with FakeLLM([reply(ANSWER) for _ in calls]) as llm, replay.record(cassette):
        for call in calls:
            call(llm)
    return replay.load_cassette(cassette, cache=False)


def figures(cassette: replay.Cassette) -> RunFigures:
    return RunFigures.of(cassette.steps, cassette.outcome or Outcome("completed"))


@pytest.mark.parametrize("shape", list(CALLS))
def test_a_recorded_sdk_answer_has_its_billed_tokens(shape: str, tmp_path: Path) -> None:
    cassette = record(tmp_path, CALLS[shape])
    (step,) = cassette.steps
    assert step.kind == "llm"
    assert step.result.get("streamed", False) is shape.endswith("sse")
    assert tokens_of(step.result) == (IN, OUT)
    usage = token_usage(cassette.steps)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.calls) == (IN, OUT, 1)
    run = figures(cassette)
    assert (run.input_tokens, run.output_tokens) == (IN, OUT)


def test_inspect_and_golden_count_the_same_tokens_for_one_cassette(tmp_path: Path) -> None:
    @replay.llm(name="house-model")
    def house_model(prompt: str) -> dict[str, Any]:
        """A provider body as an @replay.llm function returns it: usage one level down,
        counts as JSON numbers with a fraction part of zero."""
        return {"body": {"text": "ok", "usage": {"prompt_tokens": 7.0, "completion_tokens": 2}}}

    cassette = record(
        tmp_path,
        *CALLS.values(),
        lambda _llm: house_model("hi"),
        lambda llm: openai_stream(llm, include_usage=False),
    )
    assert [s.kind for s in cassette.steps] == ["llm"] * 6
    # four SDK calls of 9 in / 3 out, the house model's 7 in / 2 out; the stream sent
    # without include_usage carries no usage block and is not counted as a call
    tokens = signals_of(cassette).tokens
    assert tokens is not None
    assert (tokens.input_tokens, tokens.output_tokens, tokens.calls) == (43, 14, 5)
    run = figures(cassette)
    assert (run.input_tokens, run.output_tokens, run.llm_calls) == (43, 14, 6)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}, (3, 4)),
        ({"usage": {"input_tokens": 5, "output_tokens": 6}}, (5, 6)),
        ({"usage": {"input_tokens": 12.0, "output_tokens": 2.9}}, (12, 2)),
        ({"body": {"usage": {"input_tokens": 8, "output_tokens": 1}}}, (8, 1)),
        ({"usage": {"prompt_tokens": None, "input_tokens": 4, "output_tokens": None}}, (4, 0)),
        ({"usage": {"input_tokens": True, "output_tokens": "5"}}, (0, 0)),
        ({"usage": {"input_tokens": float("nan"), "output_tokens": 1}}, (0, 1)),
        ({"usage": {"output_tokens": 9}}, (0, 9)),
    ],
)
def test_usage_spellings(result: dict[str, Any], expected: tuple[int, int]) -> None:
    assert tokens_of(result) == expected


@pytest.mark.parametrize(
    "result",
    [
        "plain text",
        None,
        {"text": "no usage"},
        {"usage": None},
        {"usage": {"cache_read_input_tokens": 3}},
        {"body": {"usage": "n/a"}},
        {"body": {"meta": {"usage": {"input_tokens": 1}}}},
    ],
)
def test_an_answer_without_a_usage_block_has_no_tokens(result: Any) -> None:
    assert tokens_of(result) is None
