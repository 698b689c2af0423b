"""The openai and anthropic SDKs' own retry waits (``retry-after-ms`` on a 429, 503 or
529): real while recording, virtual in replay, for the sync clients (``time.sleep``) and
the async ones (``anyio.sleep``)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

import replay
from replay.testing.fake_llm import FakeLLM, error, reply

AGENT = "tests.agents.backoff"


def _server_asked_for(cassette: replay.Cassette, retry_after_ms: int) -> replay.Cassette:
    """The same recording as if the server had asked for ``retry_after_ms`` each time
    (only response headers change: what the calls asked and got stays the same)."""
    steps = []
    for step in cassette.steps:
        headers = (step.http or {}).get("response", {}).get("headers", {})
        if "retry-after-ms" in headers:
            http = {
                **step.http,
                "response": {
                    **step.http["response"],
                    "headers": {**headers, "retry-after-ms": str(retry_after_ms)},
                },
            }
            step = dataclasses.replace(step, http=http)
        steps.append(step)
    return dataclasses.replace(cassette, steps=tuple(steps))


@pytest.mark.parametrize(
    ("entry", "second_error"),
    [("ask", 503), ("ask_async", 503), ("ask_claude", 529), ("ask_claude_async", 529)],
)
def test_sdk_retry_waits_are_real_when_recording_and_virtual_in_replay(
    cassette: Path, entry: str, second_error: int
):
    script = [
        error(429, retry_after_ms=500),
        error(second_error, retry_after_ms=500),
        reply("Done."),
    ]
    with FakeLLM(script) as llm:
        url = llm.anthropic_url if "claude" in entry else llm.openai_url
        inputs = {"base_url": url, "question": "Status?"}
        started = time.monotonic()
        recorded = replay.record_run(f"{AGENT}:{entry}", cassette, input=inputs)
        recording_took = time.monotonic() - started
        assert len(llm.requests) == 3
    assert [s.result["status"] for s in recorded.steps] == [429, second_error, 200]
    assert recording_took >= 1.0  # the SDK waited the 2 x 500 ms it was asked to

    same = replay.replay(cassette)
    assert same.identical and same.virtual_wait_s == pytest.approx(1.0)

    patient = cassette.with_name("patient.yaml")
    replay.save_cassette(_server_asked_for(recorded, 15_000), patient)
    started = time.monotonic()
    result = replay.replay(patient)
    replay_took = time.monotonic() - started
    assert result.identical and result.outcome.output == "Done."
    assert result.virtual_wait_s == pytest.approx(30.0)
    assert replay_took < 5.0  # the SDK asked for 30 s and did not wait them
