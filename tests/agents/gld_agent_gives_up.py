"""The golden tests' failing build: refund runs give up once the order is looked up.

Every call it makes is one the recording answers, so its runs replay to the end and
their figures are measured: a regression with honest numbers (error rate up, latency
and steps down)."""

from __future__ import annotations

from typing import Any

from tests.agents.gld_agent import run_agent


def run(workflow: str, question: str, max_turns: int = 6) -> dict[str, Any]:
    return run_agent(workflow, question, max_turns=max_turns, stop_after="lookup_order")
