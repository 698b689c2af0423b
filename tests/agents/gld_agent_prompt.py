"""The golden tests' prompt change: one word of the refund system prompt differs, so
every refund run asks the model something the recording holds no answer for."""

from __future__ import annotations

from typing import Any

from tests.agents.gld_agent import SYSTEM_PROMPTS, run_agent

PROMPTS = {
    **SYSTEM_PROMPTS,
    "refund": SYSTEM_PROMPTS["refund"].replace("Look the order up", "Look the order up first"),
}


def run(workflow: str, question: str, max_turns: int = 6) -> dict[str, Any]:
    """The healthy agent with the reworded refund prompt."""
    return run_agent(workflow, question, max_turns=max_turns, system_prompts=PROMPTS)


def run_all(workflow: str, question: str, max_turns: int = 6) -> dict[str, Any]:
    """Both prompts reworded: every run of the set diverges at its first call."""
    prompts = {name: f"{prompt} Be brief." for name, prompt in SYSTEM_PROMPTS.items()}
    return run_agent(workflow, question, max_turns=max_turns, system_prompts=prompts)
