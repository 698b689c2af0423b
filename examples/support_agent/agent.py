"""The support agent as released in 2026.11.3: a chat-completions tool loop.

It talks to its model with the plain ``openai`` SDK (no wrapper: agent-replay captures
the HTTP traffic), calls tools marked ``@replay.tool``, retries failing tools, and stops
after ``max_steps`` model turns. ``run`` is the entrypoint recorded in the cassettes;
``fixed.run`` is the same loop with the fixes of the three incidents switched on.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

import replay
from examples.support_agent.tools import TOOL_SCHEMAS, TOOLS, SearchTimeout

MODEL = "gpt-4o-mini"
RELEASE = "2026.11.3"
LLM_URL_ENV = "SUPPORT_AGENT_LLM_URL"
SYSTEM_PROMPTS = {
    "support": "You are a support agent for an online shop. Answer from the help centre.",
    "orders": "You are an order-status assistant. Look orders up before answering.",
    "escalation": "You triage requests and open a ticket for a human when needed.",
}


class MalformedToolCall(ValueError):
    """The model asked for a tool call the agent cannot execute as given."""


@dataclass(frozen=True)
class Policy:
    """How the loop handles failures; the released and the fixed agent differ only here."""

    max_attempts: int = 4
    backoff_s: float = 0.0
    degrade_on_outage: bool = False
    repair_malformed_calls: bool = False
    dedupe_repeated_calls: bool = False


RELEASED = Policy(
    max_attempts=4,
    backoff_s=0.0,
    degrade_on_outage=False,
    repair_malformed_calls=False,
    dedupe_repeated_calls=False,
)


def run(question: str, workflow: str = "support", run_id: str = "", max_steps: int = 5) -> dict:
    """Answer one customer question (the entrypoint the cassettes record)."""
    return run_with(RELEASED, question, workflow=workflow, run_id=run_id, max_steps=max_steps)


def run_with(
    policy: Policy, question: str, *, workflow: str, run_id: str, max_steps: int
) -> dict[str, Any]:
    """The agent loop: ask the model, run the tools it calls, until it answers."""
    from openai import OpenAI

    client = OpenAI(
        base_url=os.environ.get(LLM_URL_ENV, "http://127.0.0.1:9/v1"),
        api_key=os.environ.get("OPENAI_API_KEY", "sk-demo-0000000000000000000000"),
        max_retries=0,
    )
    today = replay.now().date().isoformat()
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"{SYSTEM_PROMPTS[workflow]} Today is {today}."},
        {"role": "user", "content": question},
    ]
    seen: dict[tuple[str, str], Any] = {}
    for _ in range(max_steps):
        response = client.chat.completions.create(
            model=MODEL, messages=messages, tools=TOOL_SCHEMAS, user=run_id or None
        )
        message = response.choices[0].message
        if not message.tool_calls:
            return {"stop_reason": "completed", "output": message.content}
        messages.append(_assistant_turn(message))
        for call in message.tool_calls:
            try:
                name, args = parse_tool_call(call)
            except MalformedToolCall as exc:
                if not policy.repair_malformed_calls:
                    return {"stop_reason": "step_error", "output": None, "error": exc}
                repair = {"error": f"{exc}; call the tool again with valid JSON arguments"}
                messages.append(_tool_turn(call.id, repair))
                continue
            key = (name, json.dumps(args, sort_keys=True))
            if policy.dedupe_repeated_calls and key in seen:
                return {"stop_reason": "completed", "output": _summarise(seen[key])}
            try:
                result = call_with_retries(policy, name, args)
            except SearchTimeout as exc:
                if policy.degrade_on_outage:
                    return {
                        "stop_reason": "completed",
                        "output": "Search is unavailable right now; please try again shortly.",
                    }
                return {"stop_reason": "tool_error", "output": None, "error": exc}
            except LookupError as exc:
                result = {"error": str(exc)}
            seen[key] = result
            messages.append(_tool_turn(call.id, result))
    return {"stop_reason": "max_steps", "output": None}


def parse_tool_call(call: Any) -> tuple[str, dict[str, Any]]:
    """The tool and its arguments, or ``MalformedToolCall`` saying what is wrong."""
    name = call.function.name
    if name not in TOOLS:
        raise MalformedToolCall(f"the model called an unknown tool {name!r}")
    try:
        args = json.loads(call.function.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise MalformedToolCall(f"arguments for {name} are not valid JSON ({exc.msg})") from None
    if not isinstance(args, dict):
        raise MalformedToolCall(f"arguments for {name} must be a JSON object")
    return name, args


def call_with_retries(policy: Policy, name: str, args: dict[str, Any]) -> Any:
    """Call a tool, retrying timeouts up to ``policy.max_attempts`` times."""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return TOOLS[name](**args)
        except SearchTimeout:
            if attempt == policy.max_attempts:
                raise
            time.sleep(policy.backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _assistant_turn(message: Any) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls
        ],
    }


def _tool_turn(call_id: str, result: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)}


def _summarise(result: Any) -> str:
    if isinstance(result, list) and result:
        return " ".join(str(hit.get("text", hit)) for hit in result if isinstance(hit, dict))
    return json.dumps(result)
