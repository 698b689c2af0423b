"""The support agent deployed with OpenTelemetry tracing, as production would run it.

Not part of the agent: the deployment wraps ``agent.run`` in an agent span and lets an
instrumentation library trace the openai SDK's model calls: ``openinference``
(openinference-instrumentation-openai), ``openai-v2`` (the official
opentelemetry-instrumentation-openai-v2 with content capture on, span-only) or
``openllmetry`` (Traceloop's opentelemetry-instrumentation-openai), or several;
``openllmetry-events`` is Traceloop's ``use_attributes=False``, which sends message
content in the older GenAI event form (``gen_ai.{system,user,assistant,tool}.message`` /
``gen_ai.choice`` log records) instead of span attributes. Spans go through the OTel
SDK's in-memory exporter and are written as OTLP/JSON lines, the way a Collector's
``file`` exporter stores them (log records, if any, beside them in
``NAME.logs.otlp.jsonl``): this is the trace an incident starts from.
``python -m examples.support_agent.traced --incident run_d77c --out FILE`` runs one
incident against the fake model server and exports its trace (one process per run: the
instrumentations patch the SDK process-wide).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

INSTRUMENTATIONS = (
    "openinference",
    "openai-v2",
    "openllmetry",
    "openllmetry-events",
)
SERVICE = "support-agent"


def otlp_json_lines(spans: Sequence[Any]) -> str:
    """Finished SDK spans as one OTLP/JSON line (ids in hex, enums as numbers), encoded
    with the OTLP exporter's own protobuf encoder."""
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    data = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in data.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = _hex(span[key])
    return json.dumps(data, separators=(",", ":")) + "\n"


def otlp_json_log_lines(records: Sequence[Any]) -> str:
    """Finished SDK log records as one OTLP/JSON ``ExportLogsServiceRequest`` line."""
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

    data = json_format.MessageToDict(encode_logs(records), use_integers_for_enums=True)
    for resource_logs in data.get("resourceLogs", ()):
        for scope_logs in resource_logs.get("scopeLogs", ()):
            for record in scope_logs.get("logRecords", ()):
                for key in ("traceId", "spanId"):
                    if record.get(key):
                        record[key] = _hex(record[key])
    return json.dumps(data, separators=(",", ":")) + "\n"


def _hex(b64: str) -> str:
    import base64

    return base64.b64decode(b64).hex()


def instrument(names: Sequence[str], release: str, *, content: bool = True) -> tuple[Any, Any]:
    """A tracer provider with an in-memory exporter, and the named instrumentations on
    (``content=False``: message content not captured, the openai-v2 default). The
    provider's ``logs`` attribute holds the in-memory log exporter (log records of the
    event-form instrumentations)."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    resource = Resource.create({"service.name": SERVICE, "service.version": release})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    log_exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    provider.logs = log_exporter  # type: ignore[attr-defined]
    for name in names:
        if name == "openinference":
            from openinference.instrumentation.openai import OpenAIInstrumentor

            OpenAIInstrumentor().instrument(tracer_provider=provider)
        elif name == "openai-v2":
            os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
            os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = (
                "SPAN_ONLY" if content else "NO_CONTENT"
            )
            from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

            OpenAIInstrumentor().instrument(tracer_provider=provider)
        elif name == "openllmetry":
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor

            OpenAIInstrumentor().instrument(tracer_provider=provider)
        elif name == "openllmetry-events":
            os.environ["TRACELOOP_TRACE_CONTENT"] = str(content).lower()
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor

            OpenAIInstrumentor(use_attributes=False).instrument(
                tracer_provider=provider, logger_provider=logger_provider
            )
        else:
            raise SystemExit(f"unknown instrumentation {name!r} (one of {INSTRUMENTATIONS})")
    return provider, exporter


def traced_run(provider: Any, names: Sequence[str], entry: Any, kwargs: dict[str, Any]) -> Any:
    """Call the agent inside an agent span, in the instrumentation's own conventions."""
    from opentelemetry.trace import Status, StatusCode

    tracer = provider.get_tracer("support_agent.deployment")
    if "openinference" in names:
        attributes = {
            "openinference.span.kind": "AGENT",
            "agent.name": "support_agent",
            "input.value": json.dumps(kwargs),
            "input.mime_type": "application/json",
        }
        with tracer.start_as_current_span("support_agent", attributes=attributes) as span:
            result = entry(**kwargs)
            span.set_attribute("output.value", json.dumps(result, default=str))
            span.set_attribute("output.mime_type", "application/json")
            return result
    question = [{"role": "user", "parts": [{"type": "text", "content": kwargs["question"]}]}]
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "support_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.input.messages": json.dumps(question),
    }
    with tracer.start_as_current_span("invoke_agent support_agent", attributes=attributes) as span:
        result = entry(**kwargs)
        if isinstance(result, dict) and result.get("stop_reason") != "completed":
            span.set_attribute("error.type", str(result.get("stop_reason")))
            span.set_status(
                Status(StatusCode.ERROR, f"{result.get('stop_reason')}: no final answer")
            )
        elif isinstance(result, dict):
            answer = [
                {"role": "assistant", "parts": [{"type": "text", "content": result["output"]}]}
            ]
            span.set_attribute("gen_ai.output.messages", json.dumps(answer))
        return result


def export_incident(run_id: str, names: Sequence[str], out: Path, *, content: bool = True) -> Path:
    """Run one bundled incident live against the fake model, traced, and write its trace."""
    from examples.support_agent.agent import LLM_URL_ENV, run
    from examples.support_agent.scenarios import INCIDENTS
    from examples.support_agent.tools import BACKEND
    from replay.testing.fake_llm import FakeLLM

    incident = next((r for r in INCIDENTS if r.run_id == run_id), None)
    if incident is None:
        raise SystemExit(f"no incident {run_id!r} (one of {[r.run_id for r in INCIDENTS]})")
    provider, exporter = instrument(names, incident.release, content=content)
    BACKEND.reset()
    BACKEND.search_latency_s = incident.search_latency_s
    BACKEND.search_timeout_s = incident.search_timeout_s
    with FakeLLM(incident.script) as llm:
        os.environ[LLM_URL_ENV] = llm.openai_url
        try:
            traced_run(provider, names, run, incident.input)
        finally:
            BACKEND.reset()
    provider.force_flush()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(otlp_json_lines(exporter.get_finished_spans()))
    records = provider.logs.get_finished_logs()
    if records:
        stem, _, rest = out.name.partition(".")
        out.with_name(f"{stem}.logs.{rest}").write_text(otlp_json_log_lines(records))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incident", default="run_d77c")
    parser.add_argument(
        "--instrumentation", action="append", choices=INSTRUMENTATIONS, default=None
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--no-content", action="store_true", help="without message content capture"
    )
    args = parser.parse_args(argv)
    names = args.instrumentation or ["openinference"]
    written = export_incident(args.incident, names, args.out, content=not args.no_content)
    print(f"exported {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
