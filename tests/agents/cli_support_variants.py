"""Code changes of the CLI test agent for ``--on-miss``: each is a real change of the loop.

``reworded_fixed``: the prompt reworded and the outage answered with a fallback (a fix
that changes what the model is asked). ``fail_fast``: one attempt at a failing tool, then
the fallback (a fix that only removes a call). ``patient``: three attempts and no
fallback (a new call to a degraded tool).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.agents.cli_support import RELEASED, SYSTEM_PROMPT, run_with

REWORDED_FIXED = replace(
    RELEASED, system_prompt=SYSTEM_PROMPT + " Always be polite.", fallback_on_tool_error=True
)
FAIL_FAST = replace(RELEASED, tool_attempts=1, fallback_on_tool_error=True)
PATIENT = replace(RELEASED, tool_attempts=3)


def reworded_fixed(question: str, order_id: str | None = None) -> dict[str, Any]:
    return run_with(REWORDED_FIXED, question, order_id)


def fail_fast(question: str, order_id: str | None = None) -> dict[str, Any]:
    return run_with(FAIL_FAST, question, order_id)


def patient(question: str, order_id: str | None = None) -> dict[str, Any]:
    return run_with(PATIENT, question, order_id)
