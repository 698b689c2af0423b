"""Reading OTLP/JSON as a Collector's ``file`` exporter writes it, line by line.

Each line is one ``ExportTraceServiceRequest`` (``{"resourceSpans": [...]}``) or, in a
logs file, one ``ExportLogsServiceRequest`` (``{"resourceLogs": [...]}``). Files may be
``.jsonl`` or ``.jsonl.gz``; a folder means every such file in it. The schema comes from
``opentelemetry-proto``: every object's keys are checked against the fields of its message
descriptor (proto3 JSON names, or the original snake_case names protobuf also accepts), and
every value against its field's type, so a metrics file, a truncated line or JSON of
another kind is refused with the file, the line and the field. (``json_format.Parse``
itself is not used per line: OTLP/JSON writes trace and span ids as hex where the proto3
mapping expects base64, and it is about 14x slower than ``json.loads``, too slow for a day
of traces; ``tests/otel/test_read.py`` checks this decoder against it.)

Spans are grouped into runs by trace id in two passes over the input. The first
(``index_traces``) only finds the trace ids on each line, without decoding, and keeps the
number of the last line naming each. The second decodes line by line (``group_runs``) and
hands out each trace right after its last line: spans of one trace may sit on any line, in
any order, in any of the files, and a trace is complete when it is handed out. Memory is
bounded by the traces open at once (those whose lines interleave, as concurrent runs do
in a Collector's batches), not by the file size; if the open traces hold more than
``spill_bytes`` of the input, their spans wait in a temporary file until their trace is
complete, so even a file whose traces all interleave is read in bounded memory.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import pickle
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replay.errors import TraceError
from replay.otel import is_trace_name

INSTALL_HINT = "pip install 'agent-replay[otel]'"

SPAN_KINDS = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2


@dataclass(slots=True)
class SpanEvent:
    """A span event (``exception``, ``gen_ai.*``...): name, time and attributes."""

    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class OtelSpan:
    """One span with its attributes decoded to plain Python values."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    events: list[SpanEvent]
    scope: str
    resource: dict[str, Any]
    where: str

    @property
    def duration_ms(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e6

    @property
    def failed(self) -> bool:
        return self.status_code == STATUS_ERROR

    def event(self, name: str) -> SpanEvent | None:
        return next((e for e in self.events if e.name == name), None)


@dataclass(slots=True)
class OtelLogRecord:
    """A log record tied to a span (``gen_ai.client.inference.operation.details``...)."""

    trace_id: str
    span_id: str
    event_name: str
    attributes: dict[str, Any]
    body: Any
    where: str


@dataclass(slots=True)
class TraceRun:
    """All spans of one trace id (in reading order), and the log records tied to them."""

    trace_id: str
    spans: list[OtelSpan] = field(default_factory=list)
    logs: list[OtelLogRecord] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return sorted({span.where.rsplit(":", 1)[0] for span in self.spans})


# --- the schema, from opentelemetry-proto's descriptors --------------------------------


class _Schema:
    """Allowed keys per OTLP message (json and proto names), read from the descriptors."""

    def __init__(self) -> None:
        try:
            from opentelemetry.proto.common.v1 import common_pb2
            from opentelemetry.proto.logs.v1 import logs_pb2
            from opentelemetry.proto.resource.v1 import resource_pb2
            from opentelemetry.proto.trace.v1 import trace_pb2
        except ImportError as exc:
            raise TraceError(
                f"reading OpenTelemetry traces needs opentelemetry-proto ({exc.name} is not "
                f"installed); run: {INSTALL_HINT}"
            ) from None
        self.messages: dict[str, frozenset[str]] = {}
        self.json_names: dict[str, frozenset[str]] = {}
        self.names: dict[str, dict[str, str]] = {}
        for key, message in (
            ("ResourceSpans", trace_pb2.ResourceSpans),
            ("ScopeSpans", trace_pb2.ScopeSpans),
            ("Span", trace_pb2.Span),
            ("Event", trace_pb2.Span.Event),
            ("Link", trace_pb2.Span.Link),
            ("Status", trace_pb2.Status),
            ("ResourceLogs", logs_pb2.ResourceLogs),
            ("ScopeLogs", logs_pb2.ScopeLogs),
            ("LogRecord", logs_pb2.LogRecord),
            ("Resource", resource_pb2.Resource),
            ("InstrumentationScope", common_pb2.InstrumentationScope),
            ("KeyValue", common_pb2.KeyValue),
            ("AnyValue", common_pb2.AnyValue),
        ):
            names: dict[str, str] = {}
            for fd in message.DESCRIPTOR.fields:
                names[fd.json_name] = fd.json_name
                names[fd.name] = fd.json_name
            self.names[key] = names
            self.messages[key] = frozenset(names)
            self.json_names[key] = frozenset(fd.json_name for fd in message.DESCRIPTOR.fields)


_schema: _Schema | None = None


def schema() -> _Schema:
    """The OTLP schema (imports opentelemetry-proto once; TraceError when it is missing)."""
    global _schema
    if _schema is None:
        _schema = _Schema()
    return _schema


# --- files and lines ---------------------------------------------------------------------


def trace_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files ``paths`` name: files as given, folders expanded to their trace files
    (sorted), each followed by its sibling logs file ``NAME.logs.otlp.jsonl`` if any."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and is_trace_name(p))
            if not inside:
                raise TraceError(
                    f"{path}: no trace files in this folder (expected *.jsonl or *.jsonl.gz "
                    "written by an OpenTelemetry Collector's file exporter)"
                )
            found.extend(inside)
        elif path.is_file():
            found.append(path)
            sibling = logs_sibling(path)
            if sibling is not None and sibling.is_file():
                found.append(sibling)
        else:
            raise TraceError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(found))
    # Logs first: their records wait for the spans they belong to (see group_runs).
    return sorted(unique, key=lambda p: 0 if ".logs." in p.name else 1)


def logs_sibling(path: Path) -> Path | None:
    """``x.logs.otlp.jsonl`` for ``x.otlp.jsonl`` (None for a logs file itself)."""
    name = path.name
    if ".logs." in name:
        return None
    stem, dot, rest = name.partition(".")
    return path.with_name(f"{stem}.logs.{rest}") if dot else None


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each non-blank line; gzip by magic bytes, not the name.
    A ``.json`` file is one export request (pretty-printed or not), read whole."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read ({exc.strerror})") from None
    with raw:
        magic = raw.read(2)
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        text = io.TextIOWrapper(stream, encoding="utf-8")
        number = 0
        try:
            if path.name.endswith((".json", ".json.gz")):
                # One export request, possibly pretty-printed over many lines.
                whole = text.read()
                if whole.strip():
                    yield 1, " ".join(whole.splitlines())
                return
            for number, line in enumerate(text, start=1):
                if line.strip():
                    yield number, line
        except UnicodeDecodeError:
            raise TraceError(
                f"{path}:{number + 1}: not UTF-8 text; expected OTLP/JSON lines"
            ) from None
        except (OSError, EOFError) as exc:
            raise TraceError(f"{path}:{number + 1}: the file is damaged ({exc})") from None


# --- decoding -----------------------------------------------------------------------------


class _Decoder:
    """Decodes one line's OTLP objects, checking keys and types against the schema."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.schema = schema()

    def fail(self, field_path: str, what: str) -> TraceError:
        return TraceError(f"{self.where}: field '{field_path}': {what}")

    def keys(self, obj: Any, message: str, path: str) -> dict[str, Any]:
        if type(obj) is not dict:
            raise self.fail(path, f"expected an object ({message}), found {_type(obj)}")
        if obj.keys() <= self.schema.json_names[message]:
            return obj  # the usual case: proto3 JSON names only, nothing to rename
        allowed = self.schema.messages[message]
        for key in obj:
            if key not in allowed:
                raise self.fail(
                    f"{path}.{key}" if path else key,
                    f"{message} has no field '{key}' (opentelemetry-proto schema)",
                )
        names = self.schema.names[message]
        return {names[k]: v for k, v in obj.items()}

    def list(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, found {_type(value)}")
        return value

    def text(self, value: Any, path: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(path, f"expected text, found {_type(value)}")
        return value

    def int64(self, value: Any, path: str) -> int:
        if value is None:
            return 0
        if isinstance(value, bool):
            raise self.fail(path, "expected an integer, found a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self.fail(path, f"expected an integer, found {value!r}")

    def enum(self, value: Any, path: str) -> int:
        if isinstance(value, str) and value.startswith(("SPAN_KIND_", "STATUS_CODE_")):
            names = {
                "UNSPECIFIED": 0,
                "INTERNAL": 1,
                "SERVER": 2,
                "CLIENT": 3,
                "PRODUCER": 4,
                "CONSUMER": 5,
                "UNSET": 0,
                "OK": 1,
                "ERROR": 2,
            }
            suffix = value.split("_", 2)[-1]
            if suffix in names:
                return names[suffix]
        return self.int64(value, path)

    def hex_id(self, value: Any, path: str, size: int) -> str:
        """A trace/span id: lowercase hex per OTLP/JSON; base64 (proto3 JSON) accepted too."""
        text = self.text(value, path)
        if not text:
            return ""
        hex_text = _as_hex_id(text, size)
        if hex_text is None:
            raise self.fail(path, f"expected a {size * 2}-digit hex id, found {text!r}")
        return hex_text

    def attributes(self, value: Any, path: str) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        for i, item in enumerate(self.list(value, path)):
            if type(item) is not dict or "key" not in item:
                raise self.fail(f"{path}[{i}]", 'expected {"key": ..., "value": ...}')
            if len(item) > 2 or (len(item) == 2 and "value" not in item):
                self.keys(item, "KeyValue", f"{path}[{i}]")
            key = item["key"]
            if type(key) is not str:
                raise self.fail(f"{path}[{i}].key", f"expected text, found {_type(key)}")
            value = item.get("value")
            if type(value) is dict and len(value) == 1:
                inner = value.get("stringValue", _MISSING)
                if type(inner) is str:
                    decoded[key] = inner
                    continue
                inner = value.get("intValue", _MISSING)
                if type(inner) is str and inner.lstrip("-").isdigit():
                    decoded[key] = int(inner)
                    continue
            decoded[key] = self.any_value(value, f"{path}[{key}]")
        return decoded

    def any_value(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if type(value) is not dict:
            raise self.fail(path, f"expected an AnyValue object, found {_type(value)}")
        if not value:
            return None
        if len(value) != 1:
            self.keys(value, "AnyValue", path)
            raise self.fail(path, "an AnyValue holds exactly one value")
        ((key, inner),) = value.items()
        if key == "stringValue" or key == "string_value":
            return self.text(inner, path)
        if key == "intValue" or key == "int_value":
            return self.int64(inner, path)
        if key == "boolValue" or key == "bool_value":
            if not isinstance(inner, bool):
                raise self.fail(path, f"expected a boolean, found {inner!r}")
            return inner
        if key == "doubleValue" or key == "double_value":
            return self.double(inner, path)
        if key == "arrayValue" or key == "array_value":
            if type(inner) is not dict or set(inner) - {"values"}:
                raise self.fail(path, 'arrayValue must be {"values": [...]}')
            return [self.any_value(v, f"{path}[]") for v in self.list(inner.get("values"), path)]
        if key == "kvlistValue" or key == "kvlist_value":
            if type(inner) is not dict or set(inner) - {"values"}:
                raise self.fail(path, 'kvlistValue must be {"values": [...]}')
            return self.attributes(inner.get("values"), path)
        if key == "bytesValue" or key == "bytes_value":
            try:
                return base64.b64decode(self.text(inner, path), validate=True)
            except ValueError:
                raise self.fail(path, "bytesValue is not base64") from None
        self.keys(value, "AnyValue", path)
        raise self.fail(path, f"unsupported AnyValue kind '{key}'")

    def double(self, value: Any, path: str) -> float:
        if isinstance(value, bool):
            raise self.fail(path, "expected a number, found a boolean")
        if isinstance(value, int | float):
            return float(value)
        if value in ("NaN", "Infinity", "-Infinity"):
            return float(value.replace("Infinity", "inf")) if value != "NaN" else math.nan
        raise self.fail(path, f"expected a number, found {value!r}")

    def resource(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        resource = self.keys(value, "Resource", path)
        return self.attributes(resource.get("attributes"), f"{path}.attributes")

    def scope(self, value: Any, path: str) -> str:
        if value is None:
            return ""
        scope = self.keys(value, "InstrumentationScope", path)
        return self.text(scope.get("name"), f"{path}.name")

    def span(self, raw: Any, path: str, scope: str, resource: dict[str, Any]) -> OtelSpan:
        span = self.keys(raw, "Span", path)
        trace_id = self.hex_id(span.get("traceId"), f"{path}.traceId", 16)
        span_id = self.hex_id(span.get("spanId"), f"{path}.spanId", 8)
        if not trace_id or not span_id:
            raise self.fail(path, "a span needs traceId and spanId")
        status = self.keys(span.get("status") or {}, "Status", f"{path}.status")
        events = []
        for j, raw_event in enumerate(self.list(span.get("events"), f"{path}.events")):
            event = self.keys(raw_event, "Event", f"{path}.events[{j}]")
            events.append(
                SpanEvent(
                    name=self.text(event.get("name"), f"{path}.events[{j}].name"),
                    time_ns=self.int64(event.get("timeUnixNano"), f"{path}.events[{j}]"),
                    attributes=self.attributes(
                        event.get("attributes"), f"{path}.events[{j}].attributes"
                    ),
                )
            )
        for j, link in enumerate(self.list(span.get("links"), f"{path}.links")):
            self.keys(link, "Link", f"{path}.links[{j}]")
        parent = self.hex_id(span.get("parentSpanId"), f"{path}.parentSpanId", 8)
        return OtelSpan(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent or None,
            name=self.text(span.get("name"), f"{path}.name"),
            kind=self.enum(span.get("kind"), f"{path}.kind"),
            start_ns=self.int64(span.get("startTimeUnixNano"), f"{path}.startTimeUnixNano"),
            end_ns=self.int64(span.get("endTimeUnixNano"), f"{path}.endTimeUnixNano"),
            status_code=self.enum(status.get("code"), f"{path}.status.code"),
            status_message=self.text(status.get("message"), f"{path}.status.message"),
            attributes=self.attributes(span.get("attributes"), f"{path}.attributes"),
            events=events,
            scope=scope,
            resource=resource,
            where=self.where,
        )

    def log_record(self, raw: Any, path: str) -> OtelLogRecord:
        record = self.keys(raw, "LogRecord", path)
        return OtelLogRecord(
            trace_id=self.hex_id(record.get("traceId"), f"{path}.traceId", 16),
            span_id=self.hex_id(record.get("spanId"), f"{path}.spanId", 8),
            event_name=self.text(record.get("eventName"), f"{path}.eventName"),
            attributes=self.attributes(record.get("attributes"), f"{path}.attributes"),
            body=self.any_value(record.get("body"), f"{path}.body"),
            where=self.where,
        )


_MISSING = object()


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", type(None): "null"}.get(
        type(value), type(value).__name__
    )


_OTHER_SIGNALS = {
    "resourceMetrics": "metrics (ExportMetricsServiceRequest)",
    "resource_metrics": "metrics (ExportMetricsServiceRequest)",
    "resourceProfiles": "profiles",
}


def decode_line(line: str, where: str) -> tuple[list[OtelSpan], list[OtelLogRecord]]:
    """The spans and log records of one OTLP/JSON line (``where`` is ``file:line``)."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        truncated = "truncated or " if not line.rstrip().endswith("}") else ""
        raise TraceError(
            f"{where}: not valid JSON ({truncated}damaged line: {exc.msg} at column "
            f"{exc.colno}); expected one OTLP/JSON export request per line"
        ) from None
    if not isinstance(data, dict):
        raise TraceError(f"{where}: expected a JSON object per line, found {_type(data)}")
    for key, what in _OTHER_SIGNALS.items():
        if key in data:
            raise TraceError(
                f"{where}: this line holds {what}, not traces; pass the traces file "
                '(lines of {"resourceSpans": ...})'
            )
    decoder = _Decoder(where)
    if "resourceSpans" in data or "resource_spans" in data:
        if len(data) != 1:
            decoder.keys(data, "ResourceSpans", "")
        spans = []
        top = data.get("resourceSpans", data.get("resource_spans"))
        for i, raw_rs in enumerate(decoder.list(top, "resourceSpans")):
            rs = decoder.keys(raw_rs, "ResourceSpans", f"resourceSpans[{i}]")
            resource = decoder.resource(rs.get("resource"), f"resourceSpans[{i}].resource")
            for j, raw_ss in enumerate(decoder.list(rs.get("scopeSpans"), "scopeSpans")):
                path = f"resourceSpans[{i}].scopeSpans[{j}]"
                ss = decoder.keys(raw_ss, "ScopeSpans", path)
                scope = decoder.scope(ss.get("scope"), f"{path}.scope")
                for k, raw_span in enumerate(decoder.list(ss.get("spans"), f"{path}.spans")):
                    spans.append(decoder.span(raw_span, f"{path}.spans[{k}]", scope, resource))
        return spans, []
    if "resourceLogs" in data or "resource_logs" in data:
        records = []
        top = data.get("resourceLogs", data.get("resource_logs"))
        for i, raw_rl in enumerate(decoder.list(top, "resourceLogs")):
            rl = decoder.keys(raw_rl, "ResourceLogs", f"resourceLogs[{i}]")
            for j, raw_sl in enumerate(decoder.list(rl.get("scopeLogs"), "scopeLogs")):
                path = f"resourceLogs[{i}].scopeLogs[{j}]"
                sl = decoder.keys(raw_sl, "ScopeLogs", path)
                for k, raw in enumerate(decoder.list(sl.get("logRecords"), f"{path}.logRecords")):
                    records.append(decoder.log_record(raw, f"{path}.logRecords[{k}]"))
        return [], records
    keys = ", ".join(sorted(data)[:4]) or "none"
    raise TraceError(
        f"{where}: not OTLP/JSON (top-level keys: {keys}); expected lines of "
        '{"resourceSpans": [...]} as an OpenTelemetry Collector file exporter writes them'
    )


# --- grouping into runs -------------------------------------------------------------------

SPILL_BYTES = 32_000_000
_NEVER = float("inf")


def read_runs(
    paths: Sequence[str | Path] | str | Path,
    *,
    shard: tuple[int, int] | None = None,
    spill_bytes: int = SPILL_BYTES,
) -> Iterator[TraceRun]:
    """Every trace in ``paths`` as a ``TraceRun``, streamed (see the module docstring).

    ``shard=(k, n)`` keeps only the traces whose id falls in share ``k`` of ``n``, and
    skips decoding lines holding none of them, so ``n`` processes can split the work.
    ``spill_bytes`` bounds the input held in memory for traces still open (beyond it
    their spans wait in a temporary file).
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files = trace_files(paths)
    last_lines = index_traces(files, shard)
    yield from group_runs(_records(files, shard), last_lines, spill_bytes=spill_bytes)


_TRACE_IDS = re.compile(r'"trace_?[iI]d"\s*:\s*"([^"]*)"')


def _as_hex_id(text: str, size: int) -> str | None:
    """``text`` as a lowercase hex id of ``size`` bytes (OTLP/JSON hex, or proto3 JSON
    base64), else None."""
    if len(text) == size * 2:
        try:
            bytes.fromhex(text)
            return text.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == size else None


def normal_id(text: str) -> str:
    """A trace id as the decoder gives it: lowercase hex (base64 ids converted)."""
    return _as_hex_id(text, 16) or text


def in_shard(trace_id: str, shard: tuple[int, int]) -> bool:
    """Whether a trace belongs to share ``k`` of ``n`` (by its id's last hex digits)."""
    try:
        return int(trace_id[-6:], 16) % shard[1] == shard[0]
    except ValueError:
        return hash(trace_id) % shard[1] == shard[0]


def index_traces(files: Sequence[Path], shard: tuple[int, int] | None = None) -> dict[str, int]:
    """The first pass: for each trace id, the number of the last line naming it (lines
    counted over all ``files`` in order). Only ids are looked for, not decoded: about a
    tenth of the cost of ``json.loads``."""
    last: dict[str, int] = {}
    counter = 0
    for path in files:
        for _, line in iter_lines(path):
            counter += 1
            for raw in _TRACE_IDS.findall(line):
                trace_id = normal_id(raw)
                if shard is None or in_shard(trace_id, shard):
                    last[trace_id] = counter
    return last


def _records(
    files: Sequence[Path], shard: tuple[int, int] | None = None
) -> Iterator[tuple[int, int, list[OtelSpan], list[OtelLogRecord]]]:
    """``(line counter, line size, spans, log records)`` of each line (of the shard)."""
    counter = 0
    for path in files:
        for number, line in iter_lines(path):
            counter += 1
            if shard is not None:
                ids = _TRACE_IDS.findall(line)
                if ids and not any(in_shard(normal_id(t), shard) for t in ids):
                    continue
            spans, logs = decode_line(line, f"{path}:{number}")
            if shard is not None:
                spans = [s for s in spans if in_shard(s.trace_id, shard)]
                logs = [r for r in logs if in_shard(r.trace_id, shard)]
            yield counter, len(line), spans, logs
    if counter == 0:
        names = ", ".join(str(f) for f in files)
        raise TraceError(f"{names}: empty; no OTLP/JSON lines to read")


def group_runs(
    records: Iterable[tuple[int, int, list[OtelSpan], list[OtelLogRecord]]],
    last_lines: Mapping[str, int],
    *,
    spill_bytes: int = SPILL_BYTES,
) -> Iterator[TraceRun]:
    """Group spans (and log records) into runs by trace id; yield each run right after
    the last line that names it (``last_lines``, from ``index_traces``), so a trace is
    complete however its spans are spread over lines and files. Open traces hold their
    share of the input read so far; past ``spill_bytes`` they move to a ``_Spill`` file."""
    open_runs: dict[str, TraceRun] = {}
    held: dict[str, int] = {}
    held_total = 0
    with _Spill() as spill:
        for counter, size, spans, logs in records:
            items = len(spans) + len(logs)
            if not items:
                continue
            share = size // items + 1
            counts: dict[str, int] = {}
            for record in logs:
                run = open_runs.get(record.trace_id)
                if run is None:
                    run = open_runs[record.trace_id] = TraceRun(record.trace_id)
                run.logs.append(record)
                counts[record.trace_id] = counts.get(record.trace_id, 0) + 1
            for span in spans:
                run = open_runs.get(span.trace_id)
                if run is None:
                    run = open_runs[span.trace_id] = TraceRun(span.trace_id)
                run.spans.append(span)
                counts[span.trace_id] = counts.get(span.trace_id, 0) + 1
            held_total += share * items
            for trace_id, count in counts.items():
                held[trace_id] = held.get(trace_id, 0) + share * count
                # An id the first pass did not see (never expected) stays open to the end.
                if last_lines.get(trace_id, _NEVER) <= counter:
                    run = open_runs.pop(trace_id)
                    held_total -= held.pop(trace_id)
                    spill.restore(run)
                    if run.spans:
                        yield run
            if held_total > spill_bytes:
                for trace_id, run in open_runs.items():
                    if held.get(trace_id):
                        spill.save(run)
                        held_total -= held.pop(trace_id)
        for run in open_runs.values():
            spill.restore(run)
            if run.spans:
                yield run


class _Spill:
    """Spans and log records of open traces, set aside in a temporary SQLite file (only
    created when something is spilled) and read back, in reading order, when their trace
    is complete."""

    def __init__(self) -> None:
        self.db: sqlite3.Connection | None = None
        self.folder: tempfile.TemporaryDirectory[str] | None = None
        self.spilled: set[str] = set()

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.db is not None:
            self.db.close()
        if self.folder is not None:
            self.folder.cleanup()

    def save(self, run: TraceRun) -> None:
        if self.db is None:
            self.folder = tempfile.TemporaryDirectory(prefix="replay-traces-")
            self.db = sqlite3.connect(Path(self.folder.name) / "spill.sqlite")
            self.db.execute("PRAGMA journal_mode=OFF")
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute("CREATE TABLE spill (trace_id TEXT, data BLOB)")
            self.db.execute("CREATE INDEX by_trace ON spill (trace_id)")
        data = pickle.dumps((run.spans, run.logs), protocol=pickle.HIGHEST_PROTOCOL)
        self.db.execute("INSERT INTO spill VALUES (?, ?)", (run.trace_id, data))
        self.spilled.add(run.trace_id)
        run.spans, run.logs = [], []

    def restore(self, run: TraceRun) -> None:
        if self.db is None or run.trace_id not in self.spilled:
            return
        self.spilled.discard(run.trace_id)
        spans: list[OtelSpan] = []
        logs: list[OtelLogRecord] = []
        rows = self.db.execute(
            "SELECT data FROM spill WHERE trace_id = ? ORDER BY rowid", (run.trace_id,)
        )
        for (data,) in rows:
            # Our own temporary file, written above: unpickling it is safe.
            saved_spans, saved_logs = pickle.loads(data)
            spans.extend(saved_spans)
            logs.extend(saved_logs)
        self.db.execute("DELETE FROM spill WHERE trace_id = ?", (run.trace_id,))
        run.spans[:0] = spans
        run.logs[:0] = logs
