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
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from replay.boundary import Call
from replay.canonical import is_plain, to_plain
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
from replay.matching import MatchPolicy
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
    _client_parts: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def header(self, name: str) -> str | None:
        return _header(self.headers, name)

    def client_parts(self, client: ModuleType, build: Callable[[Any, WireResponse], Any]) -> Any:
        """``build(client, self)``, kept with this response per client module: a replay
        serves a stored response again in every session of the cassette."""
        parts = self._client_parts.get(client.__name__)
        if parts is None:
            parts = self._client_parts[client.__name__] = build(client, self)
        return parts

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


def _finite_or_text(number: float) -> float | str:
    return number if math.isfinite(number) else repr(number)


# JSON parsed straight to ``to_plain``'s output: a float that is not finite (NaN,
# Infinity, 1e999) becomes its ``repr``, as ``to_plain`` makes it.
_PLAIN_JSON = json.JSONDecoder(
    parse_float=lambda text: _finite_or_text(float(text)),
    parse_constant=lambda text: repr(float(text)),
)


def parse_body(body: bytes, content_type: str | None, *, plain: bool = False) -> Any:
    """A body as plain data: JSON parsed, else text, else base64 bytes (None when empty).

    ``plain``: JSON as ``to_plain`` would give it, without another walk.
    """
    if not body:
        return None
    looks_json = body[:1] in (b"{", b"[") or "json" in (content_type or "")
    if looks_json:
        try:
            if plain:
                text = body.decode(json.detect_encoding(body), "surrogatepass")
                return _PLAIN_JSON.decode(text)
            return json.loads(body)
        except ValueError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return to_plain(body)


PlainCall = Callable[[str, str, Any, MatchPolicy], Call]
"""Builds the ``Call`` of plain, redacted args (``Call.of_plain`` or a replay's shortcut)."""


def describe_request(
    request: WireRequest,
    options: HttpOptions,
    redactor: Redactor,
    *,
    stored: bool = True,
    plain_call: PlainCall = Call.of_plain,
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
    raw = request.body
    # The content type matters only to a body that does not open like JSON.
    content_type = None if raw[:1] in (b"{", b"[") else request.header("content-type")
    rules = key = None
    if not stored and redactor.policy.hook is None and type(raw) is bytes:
        rules = redactor.rules
        key = (_DESCRIBED, options.ignore, request.method, request.url, content_type, raw)
        known = rules.memo.get(key)
        if known is not None:
            name, args, wire = known
            return Described(plain_call(KIND, name, args, options.policy), wire, {})
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    endpoint = f"{request.method.upper()} {redactor.url(target)}"
    body = parse_body(raw, content_type, plain=True)
    # Secret-named fields are learned before anything is redacted, so their values go
    # wherever the same request quotes them (a password repeated in a prompt): redacted
    # args keep no trace for the end pass to learn from. A replay learns the same way.
    if parts.query:
        redactor.learn_fields(dict(parse_qsl(parts.query)))
    wire = detect(parts.path)
    ignored: dict[str, Any] = {}
    vouched = None
    if wire is not None and isinstance(body, dict):
        if options.ignore.isdisjoint(body):
            kept = body
        else:
            kept = {k: v for k, v in body.items() if k not in options.ignore}
            ignored = {k: v for k, v in body.items() if k in options.ignore}
        clean, data_rules = _learned_and_redacted(redactor, kept, body)
        args: dict[str, Any] = {"endpoint": endpoint, **clean}
        if (
            stored
            and clean is kept
            and redactor.text(endpoint) is endpoint
            and ("logprob" in kept or not redactor.policy.is_secret_field("endpoint"))
        ):
            vouched = args  # data(args) is args: the end pass need not walk it again
        model = body.get("model")
        name = (
            model
            if isinstance(model, str) and model
            else redactor.text(f"{parts.hostname}{parts.path}")
        )
    else:
        if type(body) is dict or type(body) is list:
            redactor.learn_fields(body)
        wire = None
        args = {"endpoint": endpoint, "body": redactor.data(to_plain(body))}
        name = redactor.text(f"{parts.hostname}{parts.path}")
    record: dict[str, Any] = {}
    if stored:
        record["method"] = request.method.upper()
        record["url"] = redactor.url(request.url)
        record["headers"] = redactor.header_set(
            tuple((k, v) for k, v in request.headers if k.lower() not in VOLATILE_REQUEST_HEADERS)
        )
        if ignored:
            record["ignored"] = redactor.data(to_plain(ignored))
    if redactor.policy.hook is None:
        call = plain_call(KIND, name, args, options.policy)  # to_plain'ed above
        if vouched is not None and call.args is vouched:
            redactor.vouch(vouched, data_rules)
    else:
        call = Call.of(KIND, name, redactor.hooked(KIND, name, args), options.policy)
    if rules is not None and redactor.rules is rules:  # not learned meanwhile (threads)
        _remember_described(rules, key, (call.name, call.args, wire))
    return Described(call, wire, record)


def _learned_and_redacted(redactor: Redactor, kept: Any, body: Any) -> tuple[Any, Any]:
    """``redactor.data(kept)`` once the secret-named fields of the whole ``body`` are
    learned, and the rules it ran under. Redacting first: a body that ``data`` leaves as
    it is holds no secret-named field with text to learn (it would have replaced it), so
    learning is skipped then; ignored fields, left out of ``kept``, are always learned."""
    rules = redactor.rules
    clean = redactor.data(kept)
    if clean is not kept or kept is not body:
        redactor.learn_fields(body)
        if redactor.rules is not rules:  # learned: redact under the new rules
            rules = redactor.rules
            clean = redactor.data(kept)
    return clean, rules


_DESCRIBED = "described request"
"""A replayed request's name, redacted args and format are remembered in the memo of the
redaction rules they were computed under (``Redactor.rules``), by everything else they
come from: ignored fields, method, URL, content type (when it matters) and the exact body
bytes. Every replay of a cassette sends the same requests again; one byte or one rule
changed is another key, described afresh. The args kept are the call's (the recorded
step's own when they were the same data), never edited."""
_described_lock = threading.Lock()
_CACHED_REQUESTS = 4096
_CACHED_REQUEST_BYTES = 1 << 25
"""Body and URL bytes the described requests of one set of rules may hold."""


def _remember_described(
    rules: Any, key: tuple[Any, ...], value: tuple[str, Any, WireFormat | None]
) -> None:
    size = len(key[-1]) + len(key[3])
    with _described_lock:
        memo = rules.memo
        if len(memo) >= _CACHED_REQUESTS or rules.memo_size + size > _CACHED_REQUEST_BYTES:
            memo.clear()
            rules.memo_size = 0
        memo[key] = value
        rules.memo_size += size


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
    if not is_plain(result):  # parsed JSON nearly always is: not copied then
        result = to_plain(result)
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
            text = response.body.decode("utf-8")
        except UnicodeDecodeError:
            stored["body"] = {"base64": base64.b64encode(response.body).decode("ascii")}
        else:
            # The answer's texts were parsed from this body: searched once, here.
            stored["body"] = redactor.json_text(text, _texts(result))
    else:
        stored["body"] = ""
    http = {"request": described.record, "response": stored}
    rules = redactor.rules
    clean = redactor.data(result)
    if clean is result:
        redactor.vouch(result, rules)  # the end pass need not walk it again
    return clean, http


def _texts(value: Any) -> Iterator[str]:
    """The text values (not keys) in plain data."""
    stack = [value]
    while stack:
        item = stack.pop()
        cls = type(item)
        if cls is str:
            yield item
        elif cls is dict:
            stack.extend(item.values())
        elif cls is list:
            stack.extend(item)


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
    http = step.http
    if type(http) is dict:  # as loaded: no ABC checks on every replayed call
        stored = http.get("response")
        if type(stored) is dict and "status" in stored:
            return stored_response(stored)
    http = http if isinstance(http, Mapping) else {}
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


_decoded: dict[int, tuple[Mapping[str, Any], Any, Any, Any, WireResponse]] = {}
_decoded_lock = threading.Lock()
_CACHED_RESPONSES = 2048
_CACHED_BYTES = 1 << 25
"""Body bytes the decoded responses may hold before the cache is emptied."""
_decoded_bytes = 0


def stored_response(stored: Mapping[str, Any]) -> WireResponse:
    """A stored ``http.response`` (status, reason, headers, body or events) as a response.

    Remembered per stored mapping while its headers, body and events are the same
    objects: a loaded cassette is replayed again and again (every session, every
    flakiness rerun), and its data is not edited in place (redaction and the hook build
    new mappings).
    """
    known = _decoded.get(id(stored))
    if (
        known is not None
        and known[0] is stored
        and known[1] is stored.get("headers")
        and known[2] is stored.get("body")
        and known[3] is stored.get("events")
    ):
        return known[4]
    response = _stored_response(stored)
    global _decoded_bytes
    with _decoded_lock:
        if len(_decoded) >= _CACHED_RESPONSES or _decoded_bytes > _CACHED_BYTES:
            _decoded.clear()
            _decoded_bytes = 0
        _decoded_bytes += len(response.body) + sum(map(len, response.events or ()))
        # Holds ``stored`` (so its id is not reused meanwhile) and its parts.
        parts = (stored.get("headers"), stored.get("body"), stored.get("events"))
        _decoded[id(stored)] = (stored, *parts, response)
    return response


def _stored_response(stored: Mapping[str, Any]) -> WireResponse:
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
