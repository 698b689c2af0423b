"""Synthetic agent runs for the benchmarks: LLM-sized steps, recorded through the real path.

A run alternates model calls and tool calls, as a tool-using agent does. Every model call
sends a ~2 KB chat request (system prompt, user turn, the previous tool call and its
result) and gets a ~2 KB chat completion back (assistant message, tool call, usage); every
tool call sends small arguments and gets a ~2 KB result. Text is pseudo-English from a
seeded generator, so the same ``steps`` always give the same bytes.

The cassette is made by running ``agent`` under ``replay.record()`` with the boundary
functions answering from the plan, so it is exactly what a recording would hold, and the
same ``agent`` replays it. ``http_interactions`` gives the same calls as HTTP request and
response bodies, for the vcrpy peer.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import replay

MODEL = "gpt-4o-mini"
_VOCABULARY = (
    "the agent customer order refund policy account invoice shipping delay warehouse "
    "ticket priority escalate summary search result document section page answer "
    "request response model tool call user assistant system context window token budget "
    "retry timeout latency cache index record replay cassette step history divergence "
    "please check whether this matches what we recorded yesterday and report back with "
    "a short explanation of each difference found in the billing data for march"
)
_WORDS = tuple(_VOCABULARY.split())

_SYSTEM_PROMPT = (
    "You are a careful support agent for an online store. Answer the customer's question "
    "using only the tools provided. Always look up the order before discussing it, never "
    "invent tracking numbers, and escalate to a human when a refund exceeds the policy "
    "limit. Keep answers short, friendly and specific; quote order numbers exactly as the "
    "tools return them. If a tool fails, say so and offer to retry later. "
) * 2


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One boundary call of the synthetic run: which function, its arguments, its answer."""

    kind: str
    kwargs: dict[str, Any]
    answer: Any


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < chars:
        parts.append(_sentence(rng, rng.randint(8, 16)))
        size += len(parts[-1]) + 1
    return " ".join(parts)


def _tool_call(step: int, query: str) -> dict[str, Any]:
    return {
        "id": f"call_{step:06d}",
        "type": "function",
        "function": {"name": "search_docs", "arguments": json.dumps({"query": query})},
    }


def _llm_call(step: int, rng: random.Random, previous_result: str) -> PlannedCall:
    query = _sentence(rng, 6)
    messages = [
        {"role": "system", "content": _SYSTEM_PROMPT},
        {"role": "user", "content": f"Ticket #{step:06d}: " + _paragraph(rng, 700)},
        {"role": "assistant", "content": None, "tool_calls": [_tool_call(step - 1, query)]},
        {"role": "tool", "tool_call_id": f"call_{step - 1:06d}", "content": previous_result[:600]},
    ]
    content = _paragraph(rng, 1100)
    answer = {
        "id": f"chatcmpl-{rng.getrandbits(96):024x}",
        "object": "chat.completion",
        "created": 1_760_000_000 + step,
        "model": f"{MODEL}-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "tool_calls": [_tool_call(step, _sentence(rng, 6))],
                    "refusal": None,
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 512 + step % 97,
            "completion_tokens": 280 + step % 31,
            "total_tokens": 792 + step % 97 + step % 31,
            "prompt_tokens_details": {"cached_tokens": 384, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_0ba0d124f1",
    }
    kwargs = {"model": MODEL, "messages": messages, "temperature": 0.2, "max_tokens": 1024}
    return PlannedCall("llm", kwargs, answer)


def _tool_step(step: int, rng: random.Random) -> PlannedCall:
    query = _sentence(rng, 8)
    hits = [
        {
            "doc_id": f"kb-{step:06d}-{n}",
            "title": _sentence(rng, 5),
            "score": round(0.9 - n * 0.07, 3),
            "snippet": _paragraph(rng, 260),
        }
        for n in range(5)
    ]
    kwargs = {"query": query, "top_k": 5, "filters": {"lang": "en", "section": "billing"}}
    return PlannedCall("tool", kwargs, {"query": query, "hits": hits})


def plan_run(steps: int, *, seed: int = 2) -> list[PlannedCall]:
    """The calls of a synthetic run of ``steps`` boundary calls: llm, tool, llm, tool, ..."""
    rng = random.Random(seed * 1_000_003 + steps)
    plan: list[PlannedCall] = []
    previous = "No tool has been called yet."
    for step in range(steps):
        if step % 2 == 0:
            plan.append(_llm_call(step, rng, previous))
        else:
            call = _tool_step(step, rng)
            previous = json.dumps(call.answer["hits"][0])
            plan.append(call)
    return plan


# The agent's boundary functions. Live they answer from ``_live_answers`` (trivial compute),
# which is what the overhead of a replayed step is measured against.
_live_answers: deque[Any] = deque()


@replay.llm(name=MODEL)
def chat(model: str, messages: list[dict[str, Any]], temperature: float, max_tokens: int) -> Any:
    """A chat completion (live: the next planned answer)."""
    return _live_answers.popleft()


@replay.tool
def search_docs(query: str, top_k: int, filters: dict[str, str]) -> Any:
    """A knowledge-base search (live: the next planned answer)."""
    return _live_answers.popleft()


_FUNCTIONS: dict[str, Callable[..., Any]] = {"llm": chat, "tool": search_docs}


def make_agent(plan: list[PlannedCall]) -> Callable[[], int]:
    """An agent entrypoint that makes the planned calls in order with trivial compute.

    It reads each answer (as an agent would) and returns how many tool calls the model
    asked for, so the answers are used, not only fetched.
    """
    calls = [(_FUNCTIONS[call.kind], call.kwargs, call.kind == "llm") for call in plan]

    def agent() -> int:
        asked = 0
        for function, kwargs, is_llm in calls:
            answer = function(**kwargs)
            if is_llm:
                asked += len(answer["choices"][0]["message"]["tool_calls"])
        return asked

    return agent


def arm_live(plan: list[PlannedCall]) -> None:
    """Queue the planned answers for a live (unrecorded) run of ``make_agent(plan)``."""
    _live_answers.clear()
    _live_answers.extend(call.answer for call in plan)


def record_cassette(plan: list[PlannedCall], path: Path) -> replay.Cassette:
    """Record ``make_agent(plan)`` into a YAML cassette at ``path`` and return it."""
    agent = make_agent(plan)
    arm_live(plan)
    with replay.record(path, entrypoint=None, run_id=f"bench-{len(plan)}") as recording:
        recording.set_result(agent())
    assert recording.cassette is not None
    return recording.cassette


def http_interactions(plan: list[PlannedCall]) -> list[tuple[str, bytes, bytes]]:
    """The plan as HTTP interactions: (path, request body, response body), JSON-encoded."""
    out = []
    for call in plan:
        path = "/v1/chat/completions" if call.kind == "llm" else "/v1/tools/search_docs"
        request = json.dumps(call.kwargs, separators=(",", ":")).encode()
        response = json.dumps(call.answer, separators=(",", ":")).encode()
        out.append((path, request, response))
    return out


@dataclass
class Workload:
    """One synthetic run of ``steps`` calls: its plan, agent, and recorded cassette file."""

    steps: int
    plan: list[PlannedCall]
    agent: Callable[[], int]
    cassette_path: Path

    @property
    def file_size(self) -> int:
        return self.cassette_path.stat().st_size


_workloads: dict[tuple[int, Path], Workload] = {}


def workload(steps: int, folder: Path) -> Workload:
    """The workload of ``steps`` calls, recorded under ``folder`` once per process."""
    key = (steps, folder)
    if key not in _workloads:
        plan = plan_run(steps)
        path = folder / f"synthetic-{steps}.yaml"
        record_cassette(plan, path)
        _workloads[key] = Workload(steps, plan, make_agent(plan), path)
    return _workloads[key]
