"""A small real agent for the core tests: tools, an LLM boundary, retries and a step budget."""

from __future__ import annotations

import asyncio

import replay

BACKEND = {"search_fails": 0, "calls": 0}


class SearchTimeout(Exception):
    """The docs backend did not answer in time."""


@replay.tool
def search_docs(query: str, limit: int = 2) -> list[dict]:
    BACKEND["calls"] += 1
    if BACKEND["search_fails"] > 0:
        BACKEND["search_fails"] -= 1
        raise SearchTimeout(f"search_docs timed out for {query!r}")
    return [{"title": f"{query} guide {i}", "score": 1.0 / (i + 1)} for i in range(limit)]


@replay.tool(name="get_order", ignore=("request_id",))
def get_order(order_id: str, request_id: str = "") -> dict:
    BACKEND["calls"] += 1
    return {"order_id": order_id, "status": "shipped"}


@replay.llm(name="scripted-model")
def generate(messages: list[dict]) -> dict:
    BACKEND["calls"] += 1
    last = messages[-1]["content"]
    if "loop" in last:
        return {"tool": "search_docs", "args": {"query": "refund policy"}}
    return {"content": f"Answer based on: {last[:40]}"}


def run(question: str, max_steps: int = 4, retries: int = 2) -> dict:
    """Search with retries, then ask the model; loops when the model keeps asking for tools."""
    started = replay.now()
    ticket = str(replay.uuid4())
    messages = [{"role": "user", "content": question}]
    for attempt in range(retries + 1):
        try:
            docs = search_docs(question)
            break
        except SearchTimeout as exc:
            if attempt == retries:
                return {"stop_reason": "tool_error", "output": None, "error": exc}
    messages.append({"role": "tool", "content": str(docs)})
    get_order("A-1", request_id=ticket)
    for _ in range(max_steps):
        reply = generate(messages)
        if "tool" not in reply:
            return {
                "stop_reason": "completed",
                "output": {
                    "answer": reply["content"],
                    "ticket": ticket,
                    "day": started.date().isoformat(),
                },
            }
        messages.append({"role": "assistant", "content": f"calling {reply['tool']} loop"})
        search_docs(**reply["args"])
    return {"stop_reason": "max_steps", "output": None}


def run_graceful(question: str, max_steps: int = 4, retries: int = 2) -> dict:
    """The fix for a search outage: answer with a fallback instead of failing."""
    result = run(question, max_steps=max_steps, retries=retries)
    if result["stop_reason"] == "tool_error":
        return {"stop_reason": "completed", "output": {"answer": "search is down, ticket opened"}}
    return result


def run_changed_prompt(question: str, max_steps: int = 4, retries: int = 2) -> dict:
    """A code change: the question is rephrased before searching (a different tool call)."""
    return run(question.upper(), max_steps=max_steps, retries=retries)


def crash(question: str) -> str:
    search_docs(question)
    raise RuntimeError("agent crashed after searching")


@replay.tool
async def fetch(item: int) -> dict:
    await asyncio.sleep(0.001 * (3 - item % 3))
    return {"item": item, "value": item * item}


async def run_async(n: int) -> dict:
    """Concurrent tool calls with asyncio.gather: identical args twice to test ordering."""
    results = await asyncio.gather(*(fetch(i % 3) for i in range(n)))
    return {"stop_reason": "completed", "output": [r["value"] for r in results]}
