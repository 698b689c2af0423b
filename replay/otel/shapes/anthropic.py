"""The anthropic SDK's native tracing (scope ``com.anthropic.sdk.python``).

One CLIENT span ``anthropic.messages.create`` per API call (retries and the stream read
included): semconv metadata, ``anthropic.message.stop_reason`` instead of
``gen_ai.response.finish_reasons``, and content only in content mode
(``ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE=content``); tool definitions are never
recorded. Beside an instrumentor's LLM span it is a duplicate (see ``runs.dedupe``).
"""

from __future__ import annotations

from collections.abc import Sequence

from replay.otel.read import OtelLogRecord, OtelSpan
from replay.otel.shapes import Classified, LlmCall, genai

NAME = "anthropic-native"
SCOPE = "com.anthropic.sdk.python"


def classify(span: OtelSpan, logs: Sequence[OtelLogRecord]) -> Classified | None:
    if span.scope != SCOPE:
        return None
    call = genai.llm_call(span, logs, family=NAME)
    if isinstance(call, LlmCall):
        call.finish_reason = (
            span.attributes.get("anthropic.message.stop_reason") or call.finish_reason
        )
        if call.messages is None:
            call.notes.append(
                "content not captured: set ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE=content"
            )
    return call
