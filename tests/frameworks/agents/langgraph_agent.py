"""A langgraph agent: a model node (langchain-openai ``ChatOpenAI``) and a prebuilt
``ToolNode``, which runs one turn's tool calls in worker threads.

Tools are ``@replay.tool`` functions under langchain's ``@tool``. ``run`` is the released
agent; ``run_fixed`` answers with a fallback when the forecast service is down and ends
the loop when the model repeats a tool call it already made.
"""

from __future__ import annotations

import random
import time
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import replay
from tests.frameworks.agents import services


@tool
@replay.tool
def get_weather(city: str) -> str:
    """The forecast for a city."""
    return services.fetch_forecast(city)


@tool
@replay.tool
def get_alerts(region: str) -> str:
    """Weather alerts for a region."""
    return services.fetch_alerts(region)


TOOLS = [get_weather, get_alerts]


class AuditTrail(BaseCallbackHandler):
    """Logs each tool start from the tool's worker thread, as tracing callbacks do; its
    variable I/O time (not recorded: it is not a boundary) decides which thread reaches
    the tool first, so the recorded order of one turn's tool calls is a race."""

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, **kwargs: Any) -> None:
        time.sleep(random.uniform(0.0, 0.004))


CONFIG = {"recursion_limit": 6, "callbacks": [AuditTrail()]}


def build_graph(base_url: str, model: str, *, stop_on_repeat: bool = False) -> Any:
    llm = ChatOpenAI(model=model, base_url=f"{base_url}/v1", max_retries=0).bind_tools(TOOLS)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    def route(state: MessagesState) -> str:
        if stop_on_repeat and _repeats_a_call(state["messages"]):
            return END
        return tools_condition(state)

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(TOOLS))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, {"tools": "tools", END: END})
    graph.add_edge("tools", "agent")
    return graph.compile()


def _repeats_a_call(messages: list[Any]) -> bool:
    calls = [
        (call["name"], sorted(call["args"].items()))
        for message in messages
        if isinstance(message, AIMessage)
        for call in message.tool_calls
    ]
    return len(calls) != len({repr(c) for c in calls})


def run(base_url: str, model: str, question: str = services.QUESTION) -> str:
    graph = build_graph(base_url, model)
    state = graph.invoke({"messages": [HumanMessage(question)]}, CONFIG)
    return state["messages"][-1].content


def run_fixed(base_url: str, model: str, question: str = services.QUESTION) -> str:
    graph = build_graph(base_url, model, stop_on_repeat=True)
    try:
        state = graph.invoke({"messages": [HumanMessage(question)]}, CONFIG)
    except services.WeatherUnavailable:
        return services.FALLBACK
    last = state["messages"][-1]
    return last.content or services.FALLBACK
