"""A pydantic-ai agent (OpenAI chat model) with two tools, and its traced deployment.

``run(question)`` runs the agent; ``get_carrier_status`` always raises
``CarrierUnavailable``, which pydantic-ai does not catch: the run fails (the fixtures'
``tool_exception`` scenario). The tools are ``@replay.tool`` functions, so a replay
serves their recorded results. ``python -m tests.otel.pydantic_agent --out FILE`` runs
it against the fake model server with ``Agent.instrument_all`` and writes the trace.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import replay

URL_ENV = "PYDANTIC_AGENT_URL"
QUESTION = "What's the weather in Paris, and where is my order A-17?"


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


def build_agent():
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(
        base_url=os.environ.get(URL_ENV, "http://127.0.0.1:9/v1"), api_key="sk-test"
    )
    model = OpenAIChatModel("gpt-4o-mini", provider=provider)
    agent = Agent(
        model,
        name="support_agent",
        instructions="You are a support agent. Use tools.",
        retries=0,
    )
    # One tool at a time: with concurrent tools, whether get_weather finishes before the
    # carrier's error cancels it depends on timing, and replays would disagree (flaky).
    agent.tool_plain(get_weather, sequential=True)
    agent.tool_plain(get_carrier_status, sequential=True)
    return agent


def run(question: str = QUESTION) -> str:
    return build_agent().run_sync(question).output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from pydantic_ai import Agent
    from pydantic_ai.models.instrumented import InstrumentationSettings

    from examples.support_agent.traced import otlp_json_lines
    from replay.testing.fake_llm import FakeLLM, tool_calls

    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "support-agent", "service.version": "3.0"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    Agent.instrument_all(InstrumentationSettings(tracer_provider=provider))
    script = [
        tool_calls(("get_weather", {"city": "Paris"}), ("get_carrier_status", {"order_id": "A-17"}))
    ]
    with FakeLLM(script) as llm:
        os.environ[URL_ENV] = llm.openai_url
        try:
            run(QUESTION)
        except CarrierUnavailable as exc:
            print(json.dumps({"raised": str(exc)}))
    args.out.write_text(otlp_json_lines(exporter.get_finished_spans()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
