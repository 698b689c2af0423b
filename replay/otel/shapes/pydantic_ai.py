"""pydantic-ai's own instrumentation (``Agent.instrument_all``, data format version 5).

Spans are semconv-shaped (``chat <model>``, ``execute_tool <name>``, ``invoke_agent
<name>``) with pydantic-ai's extras: the agent span holds the whole conversation
(``pydantic_ai.all_messages``) and ``final_result``; tool-call ``arguments`` in the
message parts are JSON *text*. A ``ModelRetry`` shows as a ``ToolRetryError`` exception
on the tool span: a retry the agent handled, not the run's failure.
"""

from __future__ import annotations

from collections.abc import Sequence

from replay.otel.messages import from_parts
from replay.otel.read import OtelLogRecord, OtelSpan
from replay.otel.shapes import AgentRun, Classified, genai

NAME = "pydantic-ai"


def claims(span: OtelSpan) -> bool:
    return span.scope == "pydantic-ai" or "gen_ai.agent.call.id" in span.attributes


def classify(span: OtelSpan, logs: Sequence[OtelLogRecord]) -> Classified | None:
    if not claims(span):
        return None
    found = genai.classify(span, logs)
    if isinstance(found, AgentRun):
        attrs = span.attributes
        found.name = attrs.get("gen_ai.agent.name") or attrs.get("agent_name") or found.name
        if "pydantic_ai.all_messages" in attrs:
            users = [
                m
                for m in from_parts(attrs["pydantic_ai.all_messages"])
                if m["role"] == "user" and m.get("content")
            ]
            if users:
                found.input = users[0]["content"]
        if attrs.get("final_result") is not None:
            found.output = attrs["final_result"]
    if found is not None:
        found.family = NAME
    return found
