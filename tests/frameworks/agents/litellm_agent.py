"""A tool loop on litellm's ``completion`` (OpenAI-compatible provider), with
``@replay.tool`` functions. litellm has no agent loop: the step limit is this code's.

``run`` is the released agent; ``run_fixed`` answers with a fallback when the forecast
service is down and stops when the model repeats a tool call.
"""

from __future__ import annotations

import json
import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download at import

import litellm

import replay
from tests.frameworks.agents import services

MAX_STEPS = 3
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The forecast for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@replay.tool
def get_weather(city: str) -> str:
    return services.fetch_forecast(city)


def run(base_url: str, model: str, question: str = services.QUESTION) -> dict[str, Any]:
    return _loop(base_url, model, question, fixed=False)


def run_fixed(base_url: str, model: str, question: str = services.QUESTION) -> dict[str, Any]:
    try:
        return _loop(base_url, model, question, fixed=True)
    except services.WeatherUnavailable:
        return {"stop_reason": "completed", "output": services.FALLBACK}


async def arun(base_url: str, model: str, question: str = services.QUESTION) -> dict[str, Any]:
    """``run`` on ``litellm.acompletion``, which sends its HTTP with aiohttp."""
    turn = _Turn(question, fixed=False)
    for _ in range(MAX_STEPS):
        response = await litellm.acompletion(**_request(base_url, model, turn.messages))
        ended = turn.take(response.choices[0].message)
        if ended is not None:
            return ended
    return {"stop_reason": "max_steps", "output": None}


def _loop(base_url: str, model: str, question: str, *, fixed: bool) -> dict[str, Any]:
    turn = _Turn(question, fixed=fixed)
    for _ in range(MAX_STEPS):
        response = litellm.completion(**_request(base_url, model, turn.messages))
        ended = turn.take(response.choices[0].message)
        if ended is not None:
            return ended
    return {"stop_reason": "max_steps", "output": None}


def _request(base_url: str, model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": f"openai/{model}",
        "api_base": f"{base_url}/v1",
        "api_key": "sk-test-frameworks",
        "messages": messages,
        "tools": TOOLS,
        "num_retries": 0,
    }


class _Turn:
    """The conversation: takes each model message, runs its tool calls, says when to end."""

    def __init__(self, question: str, *, fixed: bool) -> None:
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
        self.fixed = fixed
        self.seen: set[str] = set()

    def take(self, message: Any) -> dict[str, Any] | None:
        if not message.tool_calls:
            return {"stop_reason": "completed", "output": message.content}
        self.messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            key = f"{call.function.name}:{call.function.arguments}"
            if self.fixed and key in self.seen:
                return {"stop_reason": "completed", "output": services.FALLBACK}
            self.seen.add(key)
            result = get_weather(**json.loads(call.function.arguments))
            self.messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        return None
