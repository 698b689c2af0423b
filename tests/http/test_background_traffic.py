"""Only calls made on behalf of the run are steps: a trace exporter's traffic is not.

A real OpenTelemetry SDK exports over real OTLP/HTTP (``opentelemetry-exporter-otlp-proto-http``,
sent with ``requests``) to a collector on 127.0.0.1, during a run of the real openai SDK
against the fake model server: from the ``BatchSpanProcessor``'s own thread (no run
context), or from the run's thread to a host in ``[tool.replay] ignore_hosts``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult

import replay
from replay.testing.fake_llm import FakeLLM, reply
from tests.http import agents

QUESTIONS = ("How long do refunds take?", "Can I return a gift?")


class Collector:
    """An OTLP/HTTP collector on 127.0.0.1 that keeps the paths it was sent."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                received.append(self.path)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WatchedExporter(OTLPSpanExporter):
    """The real OTLP/HTTP exporter, noting each export's result so a test can wait for it."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint=endpoint, timeout=1)  # one attempt, no long backoff
        self.results: list[SpanExportResult] = []
        self.exported = threading.Condition()

    def export(self, spans: Any) -> SpanExportResult:
        result = super().export(spans)
        with self.exported:
            self.results.append(result)
            self.exported.notify_all()
        return result

    def wait_for(self, count: int) -> None:
        with self.exported:
            assert self.exported.wait_for(lambda: len(self.results) >= count, timeout=30), (
                f"the exporter made {len(self.results)} exports, expected {count}"
            )


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    yield running
    running.close()


def traced_agent(provider: TracerProvider, exporter: WatchedExporter):
    """Two model calls, each in a span; waits until both spans were exported (or refused)."""
    tracer = provider.get_tracer("support-agent")

    def run(base_url: str) -> list[str | None]:
        already = len(exporter.results)
        client = openai.OpenAI(base_url=base_url, max_retries=0)
        answers = []
        for question in QUESTIONS:
            with tracer.start_as_current_span("llm_generate"):
                completion = client.chat.completions.create(
                    model=agents.MODEL, messages=[{"role": "user", "content": question}]
                )
            answers.append(completion.choices[0].message.content)
        exporter.wait_for(already + len(QUESTIONS))
        return answers

    return run


def test_a_batch_span_processor_thread_records_no_step_and_replays_match(
    cassette: Path, collector: Collector
) -> None:
    exporter = WatchedExporter(collector.endpoint)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=1))
    agent = traced_agent(provider, exporter)
    try:
        with FakeLLM([reply("Five days."), reply("Yes, within 30 days.")]) as llm:
            inputs = {"base_url": llm.openai_url}
            with replay.record(cassette, input=inputs) as recording:
                recording.set_result(agent(**inputs))
            exported_live = list(collector.received)

            result = replay.replay(cassette, agent=agent)
    finally:
        provider.shutdown()

    assert exported_live == ["/v1/traces", "/v1/traces"], "exported live while recording"
    steps = replay.load_cassette(cassette).steps
    assert [(s.kind, s.name) for s in steps] == [("llm", agents.MODEL)] * 2
    assert all("/v1/traces" not in str(s.args) for s in steps)

    assert exporter.results[:2] == [SpanExportResult.SUCCESS] * 2
    assert exporter.results[2:] == [SpanExportResult.FAILURE] * 2, "refused in replay"
    assert collector.received == exported_live, "nothing reached the collector in replay"
    assert result.outcome.output == ["Five days.", "Yes, within 30 days."]
    assert result.divergences == ()
    assert result.diff.identical


def test_an_ignored_host_is_neither_recorded_nor_served(
    cassette: Path, collector: Collector
) -> None:
    # SimpleSpanProcessor exports in the run's own thread: ignore_hosts keeps it out.
    Path("pyproject.toml").write_text(
        f'[tool.replay]\nignore_hosts = ["127.0.0.1:{collector.port}"]\n', encoding="utf-8"
    )
    exporter = WatchedExporter(collector.endpoint)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent = traced_agent(provider, exporter)
    try:
        with FakeLLM([reply("Five days."), reply("Yes, within 30 days.")]) as llm:
            inputs = {"base_url": llm.openai_url}
            with replay.record(cassette, input=inputs) as recording:
                recording.set_result(agent(**inputs))
            result = replay.replay(cassette, agent=agent)
    finally:
        provider.shutdown()

    assert collector.received == ["/v1/traces", "/v1/traces"], "sent live while recording"
    assert [s.name for s in replay.load_cassette(cassette).steps] == [agents.MODEL] * 2
    assert exporter.results == [SpanExportResult.SUCCESS] * 2 + [SpanExportResult.FAILURE] * 2
    assert result.divergences == ()
    assert result.diff.identical


def test_an_ignored_host_that_is_also_allowed_is_reached_in_replay(
    cassette: Path, collector: Collector
) -> None:
    host = f"127.0.0.1:{collector.port}"
    Path("pyproject.toml").write_text(
        f'[tool.replay]\nignore_hosts = ["{host}"]\nallow_hosts = ["{host}"]\n',
        encoding="utf-8",
    )
    exporter = WatchedExporter(collector.endpoint)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agent = traced_agent(provider, exporter)
    try:
        with FakeLLM([reply("Five days."), reply("Yes, within 30 days.")]) as llm:
            inputs = {"base_url": llm.openai_url}
            with replay.record(cassette, input=inputs) as recording:
                recording.set_result(agent(**inputs))
            result = replay.replay(cassette, agent=agent)
    finally:
        provider.shutdown()

    assert len(collector.received) == 4, "exported live in both runs"
    assert exporter.results == [SpanExportResult.SUCCESS] * 4
    assert result.diff.identical and result.divergences == ()
