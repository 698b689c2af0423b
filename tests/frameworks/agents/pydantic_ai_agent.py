"""A pydantic-ai agent on an OpenAI-compatible chat model; its plain (sync) tools run in
worker threads, in parallel when the model asks for several in one turn.

Tools are ``@replay.tool`` functions under ``@agent.tool_plain``. ``run`` is the released
agent; ``run_fixed`` answers with a fallback when the forecast service is down and stops
(with ``agent.iter``) when the model repeats a tool call it already made.
"""

from __future__ import annotations

from pydantic_ai import Agent, CallToolsNode
from pydantic_ai.messages import ToolCallPart
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.usage import UsageLimits

import replay
from tests.frameworks.agents import services

agent = Agent(instructions="You answer weather questions with the tools.")
LIMITS = UsageLimits(request_limit=3)


@agent.tool_plain
@replay.tool
def get_weather(city: str) -> str:
    """The forecast for a city."""
    return services.fetch_forecast(city)


@agent.tool_plain
@replay.tool
def get_alerts(region: str) -> str:
    """Weather alerts for a region."""
    return services.fetch_alerts(region)


def chat_model(base_url: str, model: str) -> OpenAIChatModel:
    provider = OpenAIProvider(base_url=f"{base_url}/v1", api_key="sk-test-frameworks")
    return OpenAIChatModel(model, provider=provider)


def run(base_url: str, model: str, question: str = services.QUESTION) -> str:
    result = agent.run_sync(question, model=chat_model(base_url, model), usage_limits=LIMITS)
    return result.output


async def run_fixed(base_url: str, model: str, question: str = services.QUESTION) -> str:
    seen: set[str] = set()
    try:
        async with agent.iter(
            question, model=chat_model(base_url, model), usage_limits=LIMITS
        ) as agent_run:
            async for node in agent_run:
                if isinstance(node, CallToolsNode):
                    calls = [
                        f"{part.tool_name}:{part.args_as_json_str()}"
                        for part in node.model_response.parts
                        if isinstance(part, ToolCallPart)
                    ]
                    if seen.intersection(calls):
                        return services.FALLBACK
                    seen.update(calls)
    except services.WeatherUnavailable:
        return services.FALLBACK
    assert agent_run.result is not None
    return agent_run.result.output
