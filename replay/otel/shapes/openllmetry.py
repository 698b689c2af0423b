"""OpenLLMetry / Traceloop (``opentelemetry-instrumentation-openai`` / ``-anthropic`` /
``-openai-agents`` 0.62): semconv-shaped ``openai.chat`` / ``anthropic.chat`` /
``openai.response`` CLIENT spans with content on the span, ``traceloop.span.kind``
workflow / agent / tool spans for openai-agents. Finish reasons use the semconv words
(``tool_call``, ``stop``); streamed chunk events carry no content.
"""

from __future__ import annotations

from collections.abc import Sequence

from replay.otel.read import OtelLogRecord, OtelSpan
from replay.otel.shapes import AgentRun, Classified, ToolCall, exception_of, genai

NAME = "openllmetry"
_SCOPES = ("opentelemetry.instrumentation.openai", "opentelemetry.instrumentation.anthropic")


def claims(span: OtelSpan) -> bool:
    if "traceloop.span.kind" in span.attributes:
        return True
    return span.scope.startswith(_SCOPES) and not span.scope.startswith(
        "opentelemetry.instrumentation.openai_v2"
    )


def classify(span: OtelSpan, logs: Sequence[OtelLogRecord]) -> Classified | None:
    if not claims(span):
        return None
    kind = span.attributes.get("traceloop.span.kind")
    if kind in ("workflow", "agent"):
        error_class, message = exception_of(span) if span.failed else (None, None)
        return AgentRun(
            span=span,
            family=NAME,
            name=span.attributes.get("gen_ai.agent.name") or span.name.removesuffix(".agent"),
            error_class=error_class,
            error_message=message,
        )
    if kind == "tool":
        call = genai.tool_call(span, family=NAME)
        call.name = str(span.attributes.get("gen_ai.tool.name") or span.name.removesuffix(".tool"))
        return call if isinstance(call, ToolCall) else None
    found = genai.classify(span, logs)
    if found is not None:
        found.family = NAME
    return found
