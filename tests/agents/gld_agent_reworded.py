"""The golden tests' intended change: the faq system prompt is reworded (nothing else)."""

from __future__ import annotations

from typing import Any

from tests.agents.gld_agent import SYSTEM_PROMPTS, run_agent

PROMPTS = {**SYSTEM_PROMPTS, "faq": SYSTEM_PROMPTS["faq"] + " Quote the article's title."}


def run(workflow: str, question: str, max_turns: int = 6) -> dict[str, Any]:
    """The healthy agent with the reworded faq prompt."""
    return run_agent(workflow, question, max_turns=max_turns, system_prompts=PROMPTS)
