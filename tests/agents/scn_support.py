"""A small support agent for the scenario tests: a scripted model, two tools, a step limit.

Two incidents are recorded from it. The order service times out: ``lookup_order``
raises and the run ends with the exception. The help centre has no article for a
question: the model searches again and again until ``max_steps``. Each fix lives in its
own module (``scn_tool_errors``, ``scn_loop_guard``) so a test can copy this agent into
a throwaway git repository and commit, fix or revert them one at a time; the released
behaviour of those modules is in ``scn_*_unfixed.py``.
"""

from __future__ import annotations

from typing import Any

import scn_loop_guard
import scn_tool_errors

import replay

ORDERS = {"A-100": "shipped", "A-200": "being packed"}
ARTICLES = {"refund": "Refunds reach your card within 5 working days."}


@replay.llm(name="scn-scripted-model")
def think(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The scripted model: the next action for the conversation so far."""
    question = messages[0]["content"]
    last = messages[-1]
    if last["role"] == "user":
        if "order" in question:
            return {
                "action": "tool",
                "tool": "lookup_order",
                "args": {"order_id": question.split()[-1]},
            }
        return {"action": "tool", "tool": "search_help", "args": {"query": question}}
    if last["tool"] == "lookup_order":
        return {"action": "answer", "text": f"Your order is {last['content']}."}
    if last["content"]:
        return {"action": "answer", "text": last["content"][0]}
    # Nothing found: the model insists on the same search (the loop incident).
    return {"action": "tool", "tool": "search_help", "args": {"query": question}}


@replay.tool
def lookup_order(order_id: str) -> str:
    """The order service; orders named TIMEOUT-* hit its outage."""
    if order_id.startswith("TIMEOUT"):
        raise TimeoutError(f"order service timed out looking up {order_id}")
    return ORDERS.get(order_id, "unknown")


@replay.tool
def search_help(query: str) -> list[str]:
    """The help centre's search: articles whose keyword is in the query."""
    return [text for keyword, text in ARTICLES.items() if keyword in query.lower()]


TOOLS = {"lookup_order": lookup_order, "search_help": search_help}


def run(question: str, max_steps: int = 4) -> dict[str, Any]:
    """Answer one customer question (the entrypoint the cassettes record)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    calls: list[tuple[str, dict[str, Any]]] = []
    for _ in range(max_steps):
        action = think(messages)
        if action["action"] == "answer":
            return {"stop_reason": "completed", "output": action["text"]}
        call = (action["tool"], action["args"])
        stop = scn_loop_guard.before_call(calls, call)
        if stop is not None:
            return stop
        calls.append(call)
        try:
            result = TOOLS[action["tool"]](**action["args"])
        except Exception as exc:
            return scn_tool_errors.on_tool_error(action["tool"], exc)
        messages.append({"role": "tool", "tool": action["tool"], "content": result})
    return {"stop_reason": "max_steps", "output": None}
