"""``@replay.tool`` above a framework's tool decorator says which order is right."""

from __future__ import annotations

import pytest
from agents import function_tool
from anthropic import beta_tool
from langchain_core.tools import tool as langchain_tool
from pydantic_ai import Tool

import replay
from replay.errors import SessionError


def get_weather(city: str) -> str:
    """The forecast for a city."""
    return f"rain in {city}"


@pytest.mark.parametrize(
    ("framework_decorator", "named"),
    [
        (function_tool, "@function_tool"),
        (langchain_tool, "@tool"),
        (Tool, "@agent.tool / @agent.tool_plain"),
        (beta_tool, "@beta_tool"),  # its tool object is callable: still refused
    ],
)
@pytest.mark.parametrize("boundary", [replay.tool, replay.tool(name="weather"), replay.llm])
def test_the_boundary_above_the_framework_decorator_names_the_right_order(
    framework_decorator, named, boundary
):
    built = framework_decorator(get_weather)
    with pytest.raises(SessionError) as raised:
        boundary(built)
    message = str(raised.value)
    assert "\n" not in message
    assert f"put {named} on top and @replay." in message
    assert "directly above 'def get_weather'" in message


@pytest.mark.parametrize("framework_decorator", [function_tool, langchain_tool, Tool, beta_tool])
def test_the_framework_decorator_above_the_boundary_builds_its_tool(framework_decorator):
    built = framework_decorator(replay.tool(get_weather))
    assert getattr(built, "name", None) == "get_weather"


def test_plain_callables_are_still_accepted():
    class Forecast:
        def __call__(self, city: str) -> str:
            return city

    assert replay.tool(name="forecast")(Forecast())("Oslo") == "Oslo"
