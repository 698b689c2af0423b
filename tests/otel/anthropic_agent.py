"""A small tool-using agent on the anthropic SDK, and its traced deployment.

``run`` asks the model, runs the tools it calls (one always fails: the carrier API is
down) and sends their results back until the model answers. ``python -m
tests.otel.anthropic_agent --out FILE [--openinference] [--stream]`` runs it once against
the fake model server with the anthropic SDK's native tracing on (content mode) and,
with ``--openinference``, openinference-instrumentation-anthropic as well, and writes the
trace as OTLP/JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import replay

MODEL = "claude-sonnet-4"
URL_ENV = "ANTHROPIC_AGENT_URL"
SYSTEM = "You are a support agent. Use tools."
QUESTION = "What's the weather in Paris, and where is my order A-17?"
TOOL_SCHEMAS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
    {
        "name": "get_carrier_status",
        "description": "Shipping status of an order from the carrier.",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
]


class CarrierUnavailable(RuntimeError):
    """The carrier's API did not answer."""


@replay.tool
def get_weather(city: str) -> dict:
    return {"city": city, "temp_c": 18, "sky": "cloudy"}


@replay.tool
def get_carrier_status(order_id: str) -> dict:
    raise CarrierUnavailable(f"carrier API returned 503 for order {order_id}")


TOOLS = {"get_weather": get_weather, "get_carrier_status": get_carrier_status}


def run(question: str = QUESTION, stream: bool = False, max_steps: int = 4) -> dict[str, Any]:
    from anthropic import Anthropic

    client = Anthropic(
        base_url=os.environ.get(URL_ENV, "http://127.0.0.1:9"), api_key="sk-ant-test", max_retries=0
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    request = {"model": MODEL, "max_tokens": 512, "system": SYSTEM, "tools": TOOL_SCHEMAS}
    for _ in range(max_steps):
        if stream:
            with client.messages.stream(messages=messages, **request) as events:
                message = events.get_final_message()
        else:
            message = client.messages.create(messages=messages, **request)
        uses = [block for block in message.content if block.type == "tool_use"]
        text = "".join(block.text for block in message.content if block.type == "text")
        if not uses:
            return {"stop_reason": "completed", "output": text}
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content += [
            {"type": "tool_use", "id": u.id, "name": u.name, "input": u.input} for u in uses
        ]
        messages.append({"role": "assistant", "content": content})
        results = []
        for use in uses:
            try:
                result: Any = TOOLS[use.name](**use.input)
            except CarrierUnavailable as exc:
                result = {"error": str(exc)}
            results.append(
                {"type": "tool_result", "tool_use_id": use.id, "content": json.dumps(result)}
            )
        messages.append({"role": "user", "content": results})
    return {"stop_reason": "max_steps", "output": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--openinference", action="store_true")
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args(argv)
    os.environ["ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE"] = "content"
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from examples.support_agent.traced import otlp_json_lines
    from replay.testing.fake_llm import FakeLLM, reply, tool_call, tool_calls

    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "support-agent", "service.version": "7.1"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # the SDK's native tracing uses the global one
    if args.openinference:
        from openinference.instrumentation.anthropic import AnthropicInstrumentor

        AnthropicInstrumentor().instrument(tracer_provider=provider)
    script = [
        tool_calls(
            ("get_weather", {"city": "Paris"}), ("get_carrier_status", {"order_id": "A-17"})
        ),
        tool_call("get_weather", {"city": "Berlin"}),
        reply("Paris: 18 C, cloudy. The carrier status for A-17 is unavailable right now."),
    ]
    tracer = provider.get_tracer("deployment")
    with FakeLLM(script) as llm:
        os.environ[URL_ENV] = llm.anthropic_url
        attributes = {
            "openinference.span.kind": "AGENT",
            "input.value": json.dumps({"question": QUESTION, "stream": args.stream}),
            "input.mime_type": "application/json",
        }
        with tracer.start_as_current_span("support_agent", attributes=attributes) as span:
            result = run(QUESTION, stream=args.stream)
            span.set_attribute("output.value", json.dumps(result))
            span.set_attribute("output.mime_type", "application/json")
    args.out.write_text(otlp_json_lines(exporter.get_finished_spans()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
