"""Shared pieces of the hostile-input tests: a real recorded cassette to mutate, and a
check that an error is the tool's own, on one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.errors import ReplayError

REPO = Path(__file__).resolve().parents[2]
INCIDENT = REPO / "cassettes" / "incidents" / "run_9fd2.yaml"
"""A real run of the bundled support agent: clock, llm and tool steps, HTTP exchanges,
tool errors; its entrypoint is ``examples.support_agent.agent:run``."""
SMALL = REPO / "cassettes" / "incidents" / "run_a113.yaml"
"""A shorter real run (2 steps), for the tests that try every cut of a file."""


def assert_own_error(exc: BaseException, *fragments: str) -> None:
    """``exc`` is agent-replay's own error, one line, naming each fragment."""
    assert isinstance(exc, ReplayError), repr(exc)
    message = str(exc)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture
def incident_text() -> str:
    return INCIDENT.read_text(encoding="utf-8")
