"""The golden tests' regressed build: every order lookup is made twice (refund only)."""

from __future__ import annotations

from typing import Any

from tests.agents.gld_agent import run_agent


def run(workflow: str, question: str, max_turns: int = 6) -> dict[str, Any]:
    """The same agent with one extra, identical ``lookup_order`` call per refund run."""
    return run_agent(workflow, question, max_turns=max_turns, double_check_orders=True)
