"""The golden tests' flaky build: the answer carries an uncaptured random reference."""

from __future__ import annotations

import uuid
from typing import Any

from tests.agents.gld_agent import run_agent


def run(workflow: str, question: str, max_turns: int = 6) -> dict[str, Any]:
    """The healthy agent, plus a reference from ``uuid.uuid4()`` instead of ``replay.uuid4()``."""
    result = run_agent(workflow, question, max_turns=max_turns)
    result["output"] = {**(result["output"] or {}), "reference": uuid.uuid4().hex}
    return result
