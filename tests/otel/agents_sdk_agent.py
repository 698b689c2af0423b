"""An OpenAI Agents SDK agent (Responses API) with tools, and its traced deployment.

``run(question, max_turns)``: ``get_carrier_status`` always raises (the SDK's default
failure handler turns that into a message for the model, and redacts it in its traces);
``get_ticket`` answers the same every time, so a model that keeps asking for it runs
into ``MaxTurnsExceeded``. ``python -m tests.otel.agents_sdk_agent --scenario tools|loop
--out FILE [--traceloop]`` runs it against the fake model server traced with
openinference-instrumentation-openai-agents (or OpenLLMetry's
opentelemetry-instrumentation-openai-agents) and writes the trace as OTLP/JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import replay

URL_ENV = "AGENTS_SDK_URL"
QUESTIONS = {
    "tools": "What's the weather in Paris and Berlin, and where is my order A-17?",
    "loop": "Summarise ticket T-42 for me.",
}


class CarrierUnavailable(RuntimeError):
    """The carrier's API did not answer."""


@replay.tool
def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18, "sky": "cloudy"}


@replay.tool
def get_carrier_status(order_id: str) -> dict:
    """Shipping status of an order from the carrier."""
    raise CarrierUnavailable(f"carrier API returned 503 for order {order_id}")


@replay.tool
def get_ticket(ticket_id: str) -> dict:
    """Fetch a support ticket."""
    return {"ticket_id": ticket_id, "status": "open", "title": "Refund not received"}


def run(question: str, max_turns: int = 4) -> dict[str, Any]:
    from agents import Agent, MaxTurnsExceeded, OpenAIResponsesModel, Runner, function_tool
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        base_url=os.environ.get(URL_ENV, "http://127.0.0.1:9/v1"), api_key="sk-test", max_retries=0
    )
    agent = Agent(
        name="support_agent",
        instructions="You are a support agent. Use tools.",
        model=OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client),
        tools=[function_tool(f) for f in (get_weather, get_carrier_status, get_ticket)],
    )
    try:
        result = Runner.run_sync(agent, question, max_turns=max_turns)
    except MaxTurnsExceeded:
        return {"stop_reason": "max_steps", "output": None}
    return {"stop_reason": "completed", "output": result.final_output}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--scenario", choices=sorted(QUESTIONS), default="tools")
    parser.add_argument("--traceloop", action="store_true", help="OpenLLMetry, not OpenInference")
    args = parser.parse_args(argv)
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from examples.support_agent.traced import otlp_json_lines
    from replay.testing.fake_llm import FakeLLM, reply, tool_call, tool_calls

    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "support-agent", "service.version": "9.2"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    if args.traceloop:
        from opentelemetry.instrumentation.openai_agents import OpenAIAgentsInstrumentor
    else:
        from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
    OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)
    if args.scenario == "tools":
        script = [
            tool_calls(
                ("get_weather", {"city": "Paris"}), ("get_carrier_status", {"order_id": "A-17"})
            ),
            tool_call("get_weather", {"city": "Berlin"}),
            reply("Paris: 18 C, cloudy. The carrier status for A-17 is unavailable right now."),
        ]
    else:
        script = [tool_call("get_ticket", {"ticket_id": "T-42"}) for _ in range(4)]
    with FakeLLM(script) as llm:
        os.environ[URL_ENV] = llm.openai_url
        print(json.dumps(run(QUESTIONS[args.scenario])))
    args.out.write_text(otlp_json_lines(exporter.get_finished_spans()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
