"""What each instrumentation family's spans mean: model calls, tool calls, agent runs.

One module per family reads its own attributes into the same three values:

    openinference.py  OpenInference (openai, anthropic, openai-agents, OITracer spans)
    pydantic_ai.py    pydantic-ai's own instrumentation (Agent.instrument_all)
    openllmetry.py    OpenLLMetry / Traceloop (openai, anthropic, openai-agents)
    anthropic.py      the anthropic SDK's native tracing (com.anthropic.sdk.python)
    genai.py          the GenAI semantic conventions: official openai-v2 / util-genai,
                      hand-written semconv spans, span-only and event-only content

``classify(span, logs)`` asks each family in that order (the most specific first); the
first that claims a span decides what it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from replay.otel.read import OtelLogRecord, OtelSpan


@dataclass(slots=True)
class LlmCall:
    """A model call as a trace shows it. ``messages`` is None when content was not
    captured; ``answer`` holds the normalised assistant message and its metadata."""

    span: OtelSpan
    family: str
    model: str | None
    messages: list[dict[str, Any]] | None = None
    tools: list[Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    answer: dict[str, Any] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    response_id: str | None = None
    streamed: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def content_captured(self) -> bool:
        return self.messages is not None and self.answer is not None


@dataclass(slots=True)
class ToolCall:
    """A tool call from a tool span: args and result (None when not captured), error."""

    span: OtelSpan
    family: str
    name: str
    call_id: str | None = None
    args: Any = None
    result: Any = None
    args_captured: bool = False
    result_captured: bool = False
    error_class: str | None = None
    error_message: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.span.failed or self.error_class is not None


@dataclass(slots=True)
class AgentRun:
    """An agent/workflow span: its name, input and output where captured, its error."""

    span: OtelSpan
    family: str
    name: str | None
    input: Any = None
    output: Any = None
    error_class: str | None = None
    error_message: str | None = None


Classified = LlmCall | ToolCall | AgentRun


class Shape(Protocol):
    NAME: str

    def classify(self, span: OtelSpan, logs: Sequence[OtelLogRecord]) -> Classified | None: ...


_SHAPES: tuple[Shape, ...] = ()


def shapes() -> tuple[Shape, ...]:
    """The families in the order they are asked (the most specific first)."""
    global _SHAPES
    if not _SHAPES:
        from replay.otel.shapes import anthropic, genai, openinference, openllmetry, pydantic_ai

        _SHAPES = (openinference, pydantic_ai, openllmetry, anthropic, genai)
    return _SHAPES


def classify(span: OtelSpan, logs: Sequence[OtelLogRecord] = ()) -> Classified | None:
    """What ``span`` is (None: not a GenAI span, e.g. an HTTP client span)."""
    for shape in shapes():
        found = shape.classify(span, logs)
        if found is not None:
            return found
    return None


# --- helpers the families share ------------------------------------------------------------


def exception_of(span: OtelSpan) -> tuple[str | None, str | None]:
    """``(class, message)`` of a span's error: the ``exception`` event (module-qualified
    ``exception.type``), else ``error.type`` + status message, else a status message of
    the form ``Class: message``."""
    event = span.event("exception")
    if event is not None and event.attributes.get("exception.type"):
        return (
            str(event.attributes["exception.type"]),
            str(event.attributes.get("exception.message") or span.status_message or ""),
        )
    error_type = span.attributes.get("error.type")
    if error_type:
        return str(error_type), span.status_message or None
    if span.failed:
        head, sep, tail = span.status_message.partition(": ")
        if sep and head.replace(".", "").replace("_", "").isalnum() and " " not in head:
            return head, tail
        return None, span.status_message or None
    return None, None


def attr_list(attributes: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Flattened ``prefix.{i}.rest`` attributes as a list of nested dicts."""
    items: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdigit():
            continue
        node = items.setdefault(int(index), {})
        parts = rest.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return [items[i] for i in sorted(items)]


def first_present(attributes: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None
