"""A regressed build of the bundled support agent: the orders prompt was reworded and the
agent now searches the docs before answering any order question (an extra tool call)."""

from __future__ import annotations

from examples.support_agent import agent
from examples.support_agent.tools import search_docs


def run(question: str, workflow: str = "support", run_id: str = "", max_steps: int = 5) -> dict:
    if workflow == "orders":
        search_docs("order status")
    return agent.run(question, workflow=workflow, run_id=run_id, max_steps=max_steps)
