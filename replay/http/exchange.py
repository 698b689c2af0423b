"""One HTTP interaction as a step: the request as a ``Call``, the response as its answer.

Client-neutral: the httpx/httpx2 transport seam and the vcrpy bridge both reduce what
they see to a ``WireRequest`` and a ``WireResponse``, so one matching scheme and one
step format serve every client. Recording turns the pair into the step's ``args``
(the parsed request body), ``result`` (the parsed answer) and ``http`` (the raw
interaction, redacted); replaying turns a step's ``http`` back into a ``WireResponse``.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from replay.boundary import Call
from replay.canonical import to_plain
from replay.cassette import Step
from replay.errors import CassetteError
from replay.http.options import HttpOptions
from replay.http.sse import (
    Event,
    decode_events,
    is_event_stream,
    join_events,
    parse_events,
    split_events,
)
from replay.http.wire import WireFormat, detect, error_entry
from replay.redact import Redactor

KIND = "llm"

# Headers that differ on every run, describe the machine or the connection rather than
# the request, or repeat the URL are not stored: recording the same run twice (on
# another machine too) gives the same cassette.
VOLATILE_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "accept-encoding",
        "idempotency-key",
        "traceparent",
        "tracestate",
        "date",
        "x-stainless-os",
        "x-stainless-arch",
        "x-stainless-runtime",
        "x-stainless-runtime-version",
    }
)
# Framing headers describe the bytes on the wire, not the (decoded) body we store.
UNSTORED_RESPONSE_HEADERS = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "date"}
)


@dataclass(frozen=True, slots=True)
class WireRequest:
    """A request as it leaves the client: method, absolute URL, headers, body bytes."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return _header(self.headers, name)


@dataclass(frozen=True, slots=True)
class WireResponse:
    """A response as the client should see it: decoded body, or its SSE events."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    events: tuple[str, ...] | None = None
    http_version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        return _header(self.headers, name)

    @classmethod
    def received(
        cls,
        status: int,
        reason: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        http_version: str = "HTTP/1.1",
    ) -> WireResponse:
        """A response read off the wire: framing headers dropped, SSE split into events."""
        kept = tuple((k, v) for k, v in headers if k.lower() not in UNSTORED_RESPONSE_HEADERS)
        events = None
        if is_event_stream(_header(headers, "content-type")):
            try:
                events = tuple(split_events(body.decode("utf-8")))
            except UnicodeDecodeError:
                events = None
        return cls(status, reason, kept, body, events, http_version)

    def chunks(self) -> Iterator[bytes]:
        """The body as the client receives it: one chunk per SSE event, else one chunk."""
        if self.events is not None:
            yield from join_events(self.events)
        elif self.body:
            yield self.body

    @property
    def content(self) -> bytes:
        return b"".join(self.chunks())


@dataclass(frozen=True, slots=True)
class Described:
    """What the seams need about a request: its ``Call``, its format, its stored form."""

    call: Call
    format: WireFormat | None
    record: dict[str, Any]


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in headers if k.lower() == name), None)


def parse_body(body: bytes, content_type: str | None) -> Any:
    """A body as plain data: JSON parsed, else text, else base64 bytes (None when empty)."""
    if not body:
        return None
    looks_json = body[:1] in (b"{", b"[") or "json" in (content_type or "")
    if looks_json:
        try:
            return json.loads(body)
        except ValueError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return to_plain(body)


def describe_request(
    request: WireRequest, options: HttpOptions, redactor: Redactor, *, stored: bool = True
) -> Described:
    """The ``Call`` a request is matched by, and the redacted request to store (left
    empty with ``stored=False``: a replay stores no request, it matches by the call).

    A model request (chat completions, responses, messages with a JSON body) is named by
    its model and its args are the body (volatile fields left out) plus ``endpoint``
    (method, path and query); anything else is named ``host/path`` with the body under
    ``body``. The host and port are not part of matching: a replay may use another
    base URL.
    """
    redactor.learn(request.headers)
    redactor.learn_url(request.url)
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    endpoint = f"{request.method.upper()} {redactor.url(target)}"
    body = parse_body(request.body, request.header("content-type"))
    wire = detect(parts.path)
    ignored: dict[str, Any] = {}
    if wire is not None and isinstance(body, dict):
        kept = {k: v for k, v in body.items() if k not in options.ignore}
        ignored = {k: v for k, v in body.items() if k in options.ignore}
        args: dict[str, Any] = {"endpoint": endpoint, **redactor.data(to_plain(kept))}
        model = body.get("model")
        name = (
            model
            if isinstance(model, str) and model
            else redactor.text(f"{parts.hostname}{parts.path}")
        )
    else:
        wire = None
        args = {"endpoint": endpoint, "body": redactor.data(to_plain(body))}
        name = redactor.text(f"{parts.hostname}{parts.path}")
    record: dict[str, Any] = {}
    if stored:
        record["method"] = request.method.upper()
        record["url"] = redactor.url(request.url)
        record["headers"] = redactor.headers(
            (k, v) for k, v in request.headers if k.lower() not in VOLATILE_REQUEST_HEADERS
        )
        if ignored:
            record["ignored"] = redactor.data(to_plain(ignored))
    if redactor.policy.hook is None:
        call = Call.of_plain(KIND, name, args, options.policy)  # to_plain'ed above
    else:
        call = Call.of(KIND, name, redactor.hooked(KIND, name, args), options.policy)
    return Described(call, wire, record)


def encode_response(
    described: Described, response: WireResponse, redactor: Redactor
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The step's ``result`` (parsed, common shape) and ``http`` (raw, redacted)."""
    redactor.learn(response.headers)
    events = None
    if response.events is not None:
        with contextlib.suppress(Exception):  # _parsed_result reports what fails
            events = decode_events(response.events)
    result = _parsed_result(described.format, response, events)
    stored: dict[str, Any] = {
        "status": response.status,
        "reason": response.reason,
        "headers": redactor.headers(response.headers),
    }
    if response.events is not None:
        parsed = None
        if events is not None:
            parsed = {text: e.decoded for text, e in zip(response.events, events, strict=True)}
        stored["events"] = redactor.events(response.events, parsed=parsed)
    elif response.body:
        try:
            stored["body"] = redactor.text(response.body.decode("utf-8"))
        except UnicodeDecodeError:
            stored["body"] = {"base64": base64.b64encode(response.body).decode("ascii")}
    else:
        stored["body"] = ""
    http = {"request": described.record, "response": stored}
    return redactor.data(to_plain(result)), http


def _parsed_result(
    wire: WireFormat | None, response: WireResponse, events: list[Event] | None = None
) -> dict[str, Any]:
    """The response in the common shape (``events``: its events already decoded); never
    raises (capture must not break a run)."""
    result: dict[str, Any] = {"status": response.status}
    try:
        if response.events is not None:
            if events is None:
                events = list(parse_events(response.events))
            if wire is not None and response.status < 400:
                result.update(wire.assemble(events))
            else:
                result["events"] = [{"event": e.name, "data": e.json() or e.data} for e in events]
            result["streamed"] = True
            return result
        data = parse_body(response.body, response.header("content-type"))
        if response.status >= 400:
            result["error"] = error_entry(data)
        elif wire is not None and isinstance(data, dict):
            result.update(wire.parse(data))
        else:
            result["body"] = data
    except Exception as exc:
        # An answer the parser does not understand is kept raw in ``http``, not lost.
        result["parse_error"] = f"{type(exc).__name__}: {exc}"
    return result


def interrupted_response(http: Any) -> WireResponse | None:
    """The part of a streamed response a failed step received before its error (a dropped
    connection): served again before the error is raised. None for other failures."""
    stored = http.get("response") if isinstance(http, Mapping) else None
    if not isinstance(stored, Mapping) or "status" not in stored or "incomplete" not in stored:
        return None
    return stored_response(stored)


def decode_response(step: Step, *, cassette: str | None = None) -> WireResponse:
    """The response a recorded step's ``http`` field holds, ready to hand to a client."""
    http = step.http if isinstance(step.http, Mapping) else {}
    stored = http.get("response")
    if not isinstance(stored, Mapping) or "status" not in stored:
        raise CassetteError(
            f"{step.kind} step '{step.name}' holds no HTTP response to serve an HTTP request",
            path=cassette,
            step=step.index,
            field="http.response",
            hint="the step was not captured from HTTP (e.g. @replay.llm); re-record the run "
            "or match HTTP by args",
        )
    return stored_response(stored)


def stored_response(stored: Mapping[str, Any]) -> WireResponse:
    """A stored ``http.response`` (status, reason, headers, body or events) as a response."""
    headers: list[tuple[str, str]] = []
    for name, value in (stored.get("headers") or {}).items():
        for item in value if isinstance(value, list) else [value]:
            headers.append((str(name), str(item)))
    events = stored.get("events")
    body = stored.get("body")
    if isinstance(body, Mapping) and "base64" in body:
        raw = base64.b64decode(body["base64"])
    elif isinstance(body, str):
        raw = body.encode("utf-8")
    else:
        raw = b""
    return WireResponse(
        status=int(stored["status"]),
        reason=str(stored.get("reason") or ""),
        headers=tuple(headers),
        body=raw,
        events=tuple(str(e) for e in events) if isinstance(events, list) else None,
    )
