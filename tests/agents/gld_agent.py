"""A small support agent for the golden-set tests: two workflows, two models, three tools.

``refund`` runs on ``gld-small`` (usage reported as prompt/completion tokens): look the
order up, refund it, confirm. ``faq`` runs on ``gld-large`` (usage reported as
input/output tokens): search the docs, answer. The "model" is scripted, so a run is a
pure function of its input; tools sleep briefly so recorded latencies are realistic.
"""

from __future__ import annotations

import json
import time
from typing import Any

import replay

MODELS = {"refund": "gld-small", "faq": "gld-large"}
SYSTEM_PROMPTS = {
    "refund": "You handle refunds. Look the order up before refunding it.",
    "faq": "You answer product questions from the docs only.",
}


def _tokens(text: str) -> int:
    return len(text.split())


def _decide(workflow: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The scripted model: the next tool call, or the final answer."""
    tool_results = [json.loads(m["content"]) for m in messages if m["role"] == "tool"]
    question = messages[1]["content"]
    if workflow == "refund":
        if not tool_results:
            order_id = question.split()[-1]
            return {"tool": "lookup_order", "args": {"order_id": order_id}}
        order = tool_results[0]
        if len(tool_results) == 1:
            return {
                "tool": "issue_refund",
                "args": {"order_id": order["order_id"], "amount": order["total"]},
            }
        refund = tool_results[-1]
        return {"content": f"Refunded {refund['amount']:.2f} as {refund['refund_id']}."}
    if not tool_results:
        return {"tool": "search_docs", "args": {"query": question}}
    best = tool_results[0]["hits"][0]
    return {"content": f"See '{best['title']}': {best['snippet']}"}


def _reply(workflow: str, messages: list[dict[str, Any]], style: str) -> dict[str, Any]:
    time.sleep(0.002)
    decision = _decide(workflow, messages)
    prompt = sum(_tokens(m["content"]) for m in messages)
    completion = _tokens(json.dumps(decision))
    if style == "openai":
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    else:
        usage = {"input_tokens": prompt, "output_tokens": completion}
    return {**decision, "usage": usage}


@replay.llm(name="gld-small")
def chat_small(workflow: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The small model (OpenAI-style usage)."""
    return _reply(workflow, messages, "openai")


@replay.llm(name="gld-large")
def chat_large(workflow: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The large model (Anthropic-style usage)."""
    return _reply(workflow, messages, "anthropic")


@replay.tool
def lookup_order(order_id: str) -> dict[str, Any]:
    time.sleep(0.001)
    total = 10.0 + sum(ord(c) for c in order_id) % 90
    return {"order_id": order_id, "total": total, "status": "delivered"}


@replay.tool
def issue_refund(order_id: str, amount: float) -> dict[str, Any]:
    time.sleep(0.003)
    return {"refund_id": f"rf-{order_id.lower()}", "amount": amount}


@replay.tool
def search_docs(query: str, limit: int = 2) -> dict[str, Any]:
    time.sleep(0.001)
    words = [w.strip("?") for w in query.split()]
    hits = [
        {"title": f"{words[-1].title()} guide {i}", "snippet": f"{' '.join(words[:4])} ..."}
        for i in range(limit)
    ]
    return {"hits": hits}


CHAT = {"refund": chat_small, "faq": chat_large}
TOOLS = {"lookup_order": lookup_order, "issue_refund": issue_refund, "search_docs": search_docs}


def run_agent(
    workflow: str,
    question: str,
    *,
    max_turns: int = 6,
    double_check_orders: bool = False,
    system_prompts: dict[str, str] | None = None,
    stop_after: str | None = None,
) -> dict[str, Any]:
    """The agent loop: ask the model, run the tool it names, until it answers.

    The regressions the tests ship: ``double_check_orders`` repeats every order lookup
    "to be safe", one extra identical tool call per refund run; ``system_prompts``
    replaces the prompts; ``stop_after`` gives up with ``stop_reason: tool_error`` right
    after that tool answers.
    """
    prompts = system_prompts or SYSTEM_PROMPTS
    messages = [
        {"role": "system", "content": prompts[workflow]},
        {"role": "user", "content": question},
    ]
    for _ in range(max_turns):
        reply = CHAT[workflow](workflow, messages)
        if "tool" not in reply:
            return {"stop_reason": "completed", "output": {"answer": reply["content"]}}
        name, args = reply["tool"], reply["args"]
        try:
            result = TOOLS[name](**args)
            if double_check_orders and name == "lookup_order":
                result = TOOLS[name](**args)
        except Exception as exc:
            return {"stop_reason": "tool_error", "output": None, "error": exc}
        if name == stop_after:
            return {"stop_reason": "tool_error", "output": None}
        messages.append({"role": "assistant", "content": f"calling {name}"})
        messages.append({"role": "tool", "content": json.dumps(result, sort_keys=True)})
    return {"stop_reason": "max_steps", "output": None}


def run(workflow: str, question: str, max_turns: int = 6) -> dict[str, Any]:
    """The healthy build's entrypoint."""
    return run_agent(workflow, question, max_turns=max_turns)
