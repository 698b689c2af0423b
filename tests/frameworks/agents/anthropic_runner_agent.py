"""An agent on the anthropic SDK's tool runner (``client.beta.messages.tool_runner``) with
``@replay.tool`` functions under ``@beta_tool``.

The runner sends a tool's exception back to the model as an ``is_error`` tool result and
stops quietly after ``max_iterations`` replies; the released agent (``run``) turns the
first into a ``tool_error`` ending and the second into ``max_steps``. ``run_fixed``
answers with a fallback instead, and stops when the model repeats a tool call.
"""

from __future__ import annotations

import json
from typing import Any

from anthropic import Anthropic, beta_tool

import replay
from tests.frameworks.agents import services

MAX_ITERATIONS = 3


@beta_tool
@replay.tool
def get_weather(city: str) -> str:
    """The forecast for a city.

    Args:
        city: The city's name.
    """
    return services.fetch_forecast(city)


def _tool_errors(response: Any) -> list[str]:
    blocks = (response or {}).get("content", [])
    return [str(b.get("content")) for b in blocks if isinstance(b, dict) and b.get("is_error")]


def _calls(message: Any) -> list[str]:
    return [
        f"{block.name}:{json.dumps(block.input, sort_keys=True)}"
        for block in message.content
        if block.type == "tool_use"
    ]


def run(base_url: str, model: str, question: str = services.QUESTION) -> dict[str, Any]:
    return _run(base_url, model, question, fixed=False)


def run_fixed(base_url: str, model: str, question: str = services.QUESTION) -> dict[str, Any]:
    return _run(base_url, model, question, fixed=True)


def _run(base_url: str, model: str, question: str, *, fixed: bool) -> dict[str, Any]:
    with Anthropic(base_url=base_url, max_retries=0) as client:
        runner = client.beta.messages.tool_runner(
            model=model,
            max_tokens=512,
            messages=[{"role": "user", "content": question}],
            tools=[get_weather],
            max_iterations=MAX_ITERATIONS,
        )
        seen: set[str] = set()
        message = None
        for message in runner:
            calls = _calls(message)
            if fixed and seen.intersection(calls):
                runner.close()
                return {"stop_reason": "completed", "output": services.FALLBACK}
            seen.update(calls)
            errors = _tool_errors(runner.generate_tool_call_response())
            if errors and fixed:
                runner.close()
                return {"stop_reason": "completed", "output": services.FALLBACK}
            if errors:
                runner.close()
                return {"stop_reason": "tool_error", "output": None, "error": errors[0]}
        assert message is not None
        if message.stop_reason == "tool_use":  # the runner stopped at max_iterations
            return {"stop_reason": "max_steps", "output": None}
        return {"stop_reason": "completed", "output": message.content[0].text}
