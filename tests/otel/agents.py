"""Variants of the example agent that the trace replay tests run against imported runs."""

from __future__ import annotations

from examples.support_agent import agent
from examples.support_agent.agent import RELEASED, run_with


def reworded(question: str, workflow: str = "support", run_id: str = "", max_steps: int = 5):
    """The released agent with a reworded system prompt: its first request differs."""
    prompts = dict(agent.SYSTEM_PROMPTS)
    agent.SYSTEM_PROMPTS[workflow] = "You answer customer questions briefly."
    try:
        return run_with(RELEASED, question, workflow=workflow, run_id=run_id, max_steps=max_steps)
    finally:
        agent.SYSTEM_PROMPTS.clear()
        agent.SYSTEM_PROMPTS.update(prompts)
