"""aiohttp through vcrpy's stubs: ``json=`` and ``data=`` bodies are recorded whole, so a
changed argument or prompt no longer replays ``match`` (vcrpy hands a ``json=`` body over
as a dict; joining it kept only its keys)."""

from __future__ import annotations

import json

import pytest

import replay
from replay.testing.fake_llm import reply
from replay.verdict import judge

AGENTS = "tests.http.aiohttp_agents"
MODEL_CASES = [
    pytest.param({"stream": False, "body": "json"}, id="json"),
    pytest.param({"stream": True, "body": "json"}, id="json-stream"),
    pytest.param({"stream": False, "body": "data"}, id="data"),
    pytest.param({"stream": True, "body": "data"}, id="data-stream"),
]


def verdict_of(cassette, agent: str | None = None) -> str:
    return judge(cassette, [replay.replay(cassette, agent=agent)]).kind.value


@pytest.mark.parametrize("options", MODEL_CASES)
def test_a_model_call_is_recorded_whole_and_a_changed_prompt_does_not_match(
    fake_llm, cassette, options
):
    fake_llm.add(reply("Oslo has rain."))
    run_input = {"base_url": fake_llm.url, "prompt": "Weather in Oslo?", **options}
    recorded = replay.record_run(f"{AGENTS}:ask_model", cassette, input=run_input)
    assert recorded.outcome.output == {"status": 200, "answer": "Oslo has rain."}
    (step,) = recorded.steps
    assert step.name == "gpt-4o-mini"
    assert step.args["messages"] == [{"role": "user", "content": "Weather in Oslo?"}]
    sent = fake_llm.requests[0].json
    assert sent["messages"] == step.args["messages"] and sent["stream"] is options["stream"]
    assert verdict_of(recorded) == "match"
    assert verdict_of(recorded, f"{AGENTS}:ask_model_changed") == "diverged"


@pytest.mark.parametrize("body", ["json", "data"])
def test_a_tools_service_call_keeps_its_arguments_and_a_changed_one_does_not_match(
    fake_llm, cassette, body
):
    run_input = {"base_url": fake_llm.url, "city": "Oslo", "body": body}
    recorded = replay.record_run(f"{AGENTS}:book_table", cassette, input=run_input)
    assert recorded.outcome.output["status"] == 404  # the fake server's catch-all answer
    (step,) = recorded.steps
    assert step.name == "127.0.0.1/bookings"
    sent = fake_llm.requests[0].body.decode()
    if body == "json":
        assert json.loads(sent) == {"city": "Oslo", "guests": 2}
        assert step.args["body"] == {"city": "Oslo", "guests": 2}
    else:
        assert sent == "city=Oslo&guests=2"  # aiohttp sends form fields url-encoded
        assert step.args["body"] == {"city": "Oslo", "guests": "2"}
    assert verdict_of(recorded) == "match"
    assert verdict_of(recorded, f"{AGENTS}:book_table_changed") == "diverged"
