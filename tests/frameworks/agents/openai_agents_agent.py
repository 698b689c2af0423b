"""An openai-agents agent on the Responses API (JSON or SSE streaming) or on the chat
completions model, with ``@replay.tool`` functions under ``@function_tool``.

``run`` is the released agent: a tool error is raised to the caller
(``failure_error_function=None``) and ``max_turns`` bounds the loop. ``run_fixed``
answers with a fallback when the forecast service is down and stops at the first tool
result (``tool_use_behavior="stop_on_first_tool"``) instead of looping.
"""

from __future__ import annotations

from typing import Any

from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from agents.exceptions import UserError
from openai import AsyncOpenAI

import replay
from tests.frameworks.agents import services

set_tracing_disabled(True)  # the trace exporter would post to the real platform
MAX_TURNS = 3


@function_tool(failure_error_function=None)
@replay.tool
def get_weather(city: str) -> str:
    """The forecast for a city."""
    return services.fetch_forecast(city)


@function_tool(failure_error_function=None)
@replay.tool
def get_alerts(region: str) -> str:
    """Weather alerts for a region."""
    return services.fetch_alerts(region)


def build_agent(client: AsyncOpenAI, model: str, api: str, **options: Any) -> Agent:
    chosen = (
        OpenAIResponsesModel(model, client)
        if api == "responses"
        else OpenAIChatCompletionsModel(model, client)
    )
    return Agent(
        name="weather",
        instructions="You answer weather questions with the tools.",
        tools=[get_weather, get_alerts],
        model=chosen,
        **options,
    )


async def _run(agent: Agent, question: str, stream: bool) -> str:
    if stream:
        streamed = Runner.run_streamed(agent, question, max_turns=MAX_TURNS)
        async for _event in streamed.stream_events():
            pass
        return str(streamed.final_output)
    result = await Runner.run(agent, question, max_turns=MAX_TURNS)
    return str(result.final_output)


async def run(
    base_url: str,
    model: str,
    api: str = "responses",
    stream: bool = False,
    question: str = services.QUESTION,
) -> str:
    async with AsyncOpenAI(base_url=f"{base_url}/v1", max_retries=0) as client:
        return await _run(build_agent(client, model, api), question, stream)


async def run_fixed(
    base_url: str,
    model: str,
    api: str = "responses",
    stream: bool = False,
    question: str = services.QUESTION,
) -> str:
    async with AsyncOpenAI(base_url=f"{base_url}/v1", max_retries=0) as client:
        agent = build_agent(client, model, api, tool_use_behavior="stop_on_first_tool")
        try:
            return await _run(agent, question, stream)
        except UserError as exc:  # how openai-agents raises a tool's error
            if isinstance(exc.__cause__, services.WeatherUnavailable):
                return services.FALLBACK
            raise
