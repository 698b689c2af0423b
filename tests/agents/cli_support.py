"""A small real support agent for the CLI tests, as "released".

A scripted model (``@replay.llm``) picks tools (``@replay.tool``) from the conversation;
the loop's behaviour comes from a ``Policy``, so each variant module (``cli_support_fixed``,
``cli_support_strict``, ``cli_support_prompt``) is a real code change of the same loop.

Inputs that reach each ending: an order id starting with ``slow`` makes the orders
service time out (retried once, then ``tool_error``); a question about a refund makes
the model call a tool that does not exist (``step_error``); a question containing
"loop" makes the model search for the same thing until ``max_steps``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import replay

SYSTEM_PROMPT = "You are a support agent. Use the tools, then answer briefly."


class OrdersUnavailable(TimeoutError):
    """The orders service did not answer in time."""


@replay.tool
def lookup_order(order_id: str) -> dict[str, str]:
    if order_id.startswith("slow"):
        raise OrdersUnavailable(f"orders service timed out for {order_id}")
    return {"order_id": order_id, "status": "shipped"}


@replay.tool
def search_docs(query: str) -> list[str]:
    return [f"{query}: see the help centre, section {len(query) % 7}"]


TOOLS = {"lookup_order": lookup_order, "search_docs": search_docs}


@replay.llm(name="scripted-model")
def complete(messages: list[dict[str, str]]) -> dict[str, Any]:
    """A deterministic stand-in for a model; answers carry OpenAI-style token usage."""
    question = messages[1]["content"].lower()
    tool_turns = [m for m in messages if m["role"] == "tool"]
    usage = {"prompt_tokens": 12 * len(messages), "completion_tokens": 7}
    if "loop" in question:
        return {"tool": "search_docs", "args": {"query": "order status"}, "usage": usage}
    if "refund" in question:
        return {"tool": "issue_refund_now", "args": {"amount": "all"}, "usage": usage}
    if not tool_turns:
        order = re.search(r"\(order (\S+)\)", question)
        if order:
            return {"tool": "lookup_order", "args": {"order_id": order.group(1)}, "usage": usage}
        return {"tool": "search_docs", "args": {"query": question}, "usage": usage}
    return {"content": f"Answer: {tool_turns[-1]['content']}", "usage": usage}


@dataclass(frozen=True)
class Policy:
    """What differs between the released agent and its variants."""

    system_prompt: str = SYSTEM_PROMPT
    tool_attempts: int = 2
    fallback_on_tool_error: bool = False
    results_as_records: bool = False
    max_steps: int = 4


RELEASED = Policy()


def run(question: str, order_id: str | None = None) -> dict[str, Any]:
    """The entrypoint the cassettes record: ``tests.agents.cli_support:run``."""
    return run_with(RELEASED, question, order_id)


def run_with(policy: Policy, question: str, order_id: str | None = None) -> dict[str, Any]:
    ticket = str(replay.uuid4())
    print(f"support agent: ticket {ticket}")  # agents print; `replay ... --json` stays clean
    content = f"{question} (order {order_id})" if order_id else question
    messages = [
        {"role": "system", "content": policy.system_prompt},
        {"role": "user", "content": content},
    ]
    for _ in range(policy.max_steps):
        reply = complete(messages)
        if "tool" not in reply:
            return {
                "stop_reason": "completed",
                "output": {"answer": reply["content"], "ticket": ticket},
            }
        name = reply["tool"]
        if name not in TOOLS:
            error = ValueError(f"the model called an unknown tool {name!r}")
            return {"stop_reason": "step_error", "output": None, "error": error}
        try:
            result = _call_with_retries(policy, name, reply["args"])
        except OrdersUnavailable as exc:
            if policy.fallback_on_tool_error:
                answer = "The order service is slow right now; we will email you the status."
                return {"stop_reason": "completed", "output": {"answer": answer, "ticket": ticket}}
            return {"stop_reason": "tool_error", "output": None, "error": exc}
        if policy.results_as_records:
            result = result["text"]  # the new code expects {"text": ...} records
        messages.append({"role": "assistant", "content": f"calling {name}"})
        messages.append({"role": "tool", "content": json.dumps(result)})
    return {"stop_reason": "max_steps", "output": None}


def _call_with_retries(policy: Policy, name: str, args: dict[str, Any]) -> Any:
    for attempt in range(1, policy.tool_attempts + 1):
        try:
            return TOOLS[name](**args)
        except OrdersUnavailable:
            if attempt == policy.tool_attempts:
                raise
    raise AssertionError("unreachable")
