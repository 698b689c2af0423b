"""A small, scripted model endpoint on 127.0.0.1: OpenAI- and Anthropic-compatible HTTP.

Tests and demos point a real SDK client at it (``base_url=llm.openai_url`` or
``llm.anthropic_url``) and script what the "model" answers, in order::

    with FakeLLM([tool_call("search_docs", {"query": "refund"}), reply("Done.")]) as llm:
        client = openai.OpenAI(base_url=llm.openai_url, api_key="sk-test")
        ...
        assert llm.requests[0].messages[0]["content"] == "..."

Each script item is rendered in the wire format of the request that consumes it: chat
completions (``/v1/chat/completions``), the Responses API (``/v1/responses``) or
Anthropic messages (``/v1/messages``), streamed as server-sent events when the request
says ``"stream": true``. An item may also be a callable ``(request) -> item``, and the
whole script may be one such responder. Ids, ``created`` timestamps and token counts are
derived from the request's ordinal and contents, so the same run re-recorded gives the
same bytes (pass a fixed ``port`` to keep URLs equal too). Stdlib only.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "CREATED",
    "Disconnect",
    "ErrorReply",
    "FakeLLM",
    "RawReply",
    "ReceivedRequest",
    "Reply",
    "ScriptItem",
    "ToolCall",
    "disconnect",
    "error",
    "malformed_tool_call",
    "raw",
    "reply",
    "slow",
    "tool_call",
    "tool_calls",
]

HOLD_TIMEOUT = 30.0
"""How long a held stream (``reply(hold=...)``) waits for the test before giving up."""

CREATED = 1_700_000_000
"""The fixed ``created`` timestamp of every response, for byte-stable recordings."""

OPENAI_CHAT = "openai.chat"
OPENAI_RESPONSES = "openai.responses"
ANTHROPIC_MESSAGES = "anthropic.messages"
OTHER = "other"


# --- the script ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call the model asks for; ``arguments`` as a mapping, or raw text sent
    verbatim (text that is not JSON makes a malformed tool call)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Reply:
    """An assistant message: text and/or tool calls.

    ``finish_reason`` defaults to what the provider would say (``stop``/``tool_calls``,
    ``end_turn``/``tool_use``); ``delay`` waits before answering (seconds), and
    ``stream_delay`` between streamed events. A streamed answer can be paced by the
    test: ``hold`` sends the first event, then waits until the test sets the event
    (``HOLD_TIMEOUT`` at most) before sending the rest; ``cut_after`` drops the
    connection after that many events (a stream that breaks mid-way).
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    delay: float = 0.0
    stream_delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    cut_after: int | None = None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An HTTP error in the provider's error format.

    ``retry_after_ms`` is sent as ``retry-after-ms`` (both SDKs honour it) so retries in
    tests do not wait for the SDK's back-off; ``should_retry`` sets ``x-should-retry``.
    """

    status: int = 500
    message: str | None = None
    type: str | None = None
    retry_after_ms: int | None = 1
    should_retry: bool | None = None
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close the connection without answering (the client sees a connection error)."""

    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class RawReply:
    """Any HTTP response, sent as given (``body`` as bytes, text or JSON-able data)."""

    status: int = 200
    body: bytes | str | Mapping[str, Any] | list[Any] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0


ScriptItem = Reply | ErrorReply | Disconnect | RawReply
Responder = Callable[["ReceivedRequest"], ScriptItem]


def reply(
    text: str | None = None,
    *,
    tool_calls: Iterable[ToolCall] = (),
    finish_reason: str | None = None,
    delay: float = 0.0,
    stream_delay: float = 0.0,
    headers: Mapping[str, str] | None = None,
    hold: threading.Event | None = None,
    cut_after: int | None = None,
) -> Reply:
    """An assistant answer with ``text`` (and optionally ``tool_calls``)."""
    return Reply(
        text=text,
        tool_calls=tuple(tool_calls),
        finish_reason=finish_reason,
        delay=delay,
        stream_delay=stream_delay,
        headers=dict(headers or {}),
        hold=hold,
        cut_after=cut_after,
    )


def tool_call(
    name: str,
    arguments: Mapping[str, Any] | str | None = None,
    *,
    id: str | None = None,
    text: str | None = None,
    delay: float = 0.0,
) -> Reply:
    """An answer that calls one tool, e.g. ``tool_call("search_docs", {"query": "x"})``."""
    call = ToolCall(name, {} if arguments is None else arguments, id)
    return Reply(text=text, tool_calls=(call,), delay=delay)


def tool_calls(
    *calls: ToolCall | tuple[str, Mapping[str, Any] | str], text: str | None = None
) -> Reply:
    """An answer that calls several tools at once: ``tool_calls(("a", {...}), ("b", {...}))``."""
    built = tuple(c if isinstance(c, ToolCall) else ToolCall(c[0], c[1]) for c in calls)
    return Reply(text=text, tool_calls=built)


def malformed_tool_call(name: str, raw_arguments: str = '{"query": ') -> Reply:
    """A tool call whose arguments are not valid JSON (sent verbatim)."""
    return tool_call(name, raw_arguments)


def error(
    status: int = 500,
    message: str | None = None,
    *,
    type: str | None = None,
    retry_after_ms: int | None = 1,
    should_retry: bool | None = None,
    delay: float = 0.0,
    headers: Mapping[str, str] | None = None,
) -> ErrorReply:
    """An HTTP error (500 by default; 429 for rate limits, 400 for bad requests, ...)."""
    return ErrorReply(
        status, message, type, retry_after_ms, should_retry, delay, dict(headers or {})
    )


def disconnect(*, delay: float = 0.0) -> Disconnect:
    """Drop the connection without a response (a connection error; SDKs retry it)."""
    return Disconnect(delay)


def raw(
    status: int = 200,
    body: bytes | str | Mapping[str, Any] | list[Any] = b"",
    *,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
    delay: float = 0.0,
) -> RawReply:
    """A response sent exactly as given, whatever the endpoint."""
    return RawReply(status, body, dict(headers or {}), content_type, delay)


def slow(seconds: float, item: ScriptItem | None = None) -> ScriptItem:
    """``item`` (a plain reply by default) answered after ``seconds``: for client timeouts."""
    return replace(item if item is not None else reply("(slow answer)"), delay=seconds)


# --- what the server received --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request the fake server received; ``index`` counts from 0 in arrival order."""

    index: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    endpoint: str

    @property
    def json(self) -> Any:
        """The body parsed as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def model(self) -> str | None:
        data = self.json
        return data.get("model") if isinstance(data, dict) else None

    @property
    def stream(self) -> bool:
        data = self.json
        return bool(data.get("stream")) if isinstance(data, dict) else False

    @property
    def messages(self) -> list[Any]:
        """The conversation sent: ``messages`` (chat, Anthropic) or ``input`` (Responses)."""
        data = self.json
        if not isinstance(data, dict):
            return []
        value = data.get("messages", data.get("input"))
        if isinstance(value, str):
            return [{"role": "user", "content": value}]
        return list(value or [])

    @property
    def tool_results(self) -> list[Any]:
        """The tool results the client sent back in this request, in order."""
        out: list[Any] = []
        for message in self.messages:
            if not isinstance(message, dict):
                continue
            if message.get("role") == "tool" or message.get("type") == "function_call_output":
                out.append(message.get("content", message.get("output")))
            content = message.get("content")
            if isinstance(content, list):
                out.extend(
                    block.get("content")
                    for block in content
                    if isinstance(block, dict) and block.get("type") == "tool_result"
                )
        return out


def endpoint_of(path: str) -> str:
    """Which API a request path belongs to (``openai.chat``, ``anthropic.messages``, ...)."""
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return OPENAI_CHAT
    if path.endswith("/responses"):
        return OPENAI_RESPONSES
    if path.endswith("/messages"):
        return ANTHROPIC_MESSAGES
    return OTHER


# --- the server ----------------------------------------------------------------------


class FakeLLM:
    """An OpenAI/Anthropic-compatible HTTP server on 127.0.0.1, answering from a script.

    ``script`` is a list of items (or callables ``(request) -> item``) consumed one per
    model request, or a single responder callable. When the list runs out, ``fallback``
    answers (an item or responder; by default a 500 that tells the SDK not to retry and
    names the request). Use it as a context manager, or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        script: Sequence[ScriptItem | Responder] | Responder = (),
        *,
        fallback: ScriptItem | Responder | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        self._script: list[ScriptItem | Responder] = []
        self._responder: Responder | None = None
        self.fallback = fallback
        self._requests: list[ReceivedRequest] = []
        self._errors: list[BaseException] = []
        self._served = 0
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._last_port: int | None = None
        self._thread: threading.Thread | None = None
        self.set_script(script)

    # scripting

    def set_script(self, script: Sequence[ScriptItem | Responder] | Responder) -> None:
        """Replace what is left of the script (a list of items, or one responder)."""
        with self._lock:
            if callable(script) and not isinstance(script, Sequence):
                self._responder, self._script = script, []
            else:
                self._responder, self._script = None, list(script)

    def add(self, *items: ScriptItem | Responder) -> None:
        """Append items to the script."""
        with self._lock:
            self._script.extend(items)

    @property
    def remaining(self) -> int:
        """Script items not consumed yet."""
        with self._lock:
            return len(self._script)

    # what happened

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def model_requests(self) -> list[ReceivedRequest]:
        """The requests to a model endpoint (chat, responses, messages)."""
        return [r for r in self.requests if r.endpoint != OTHER]

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by responders (each was answered with a 500)."""
        with self._lock:
            return list(self._errors)

    # lifecycle

    @property
    def port(self) -> int:
        """The port served on; after ``stop()`` the last one (the URL then refuses)."""
        if self._server is not None:
            return self._server.server_address[1]
        if self._last_port is None:
            raise RuntimeError("FakeLLM has not started; call start() or use it in a with block")
        return self._last_port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the base URL for Anthropic clients."""
        return f"http://{self._host}:{self.port}"

    @property
    def openai_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: the base URL for OpenAI clients."""
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    def start(self) -> FakeLLM:
        """Listen on ``host:port`` (a free port when 0) and serve in a background thread."""
        if self._server is not None:
            return self
        self._server = _Server((self._host, self._port), _Handler, self)
        self._last_port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-llm:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections: later requests are refused."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    close = stop

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # serving (called from handler threads)

    def _next_item(self, request: ReceivedRequest) -> ScriptItem:
        with self._lock:
            if self._responder is not None:
                source: ScriptItem | Responder | None = self._responder
            elif self._script:
                source = self._script.pop(0)
            else:
                source = self.fallback
            self._served += 1
        if source is None:
            return error(
                500,
                f"fake LLM script exhausted: request {request.index} ({request.method} "
                f"{request.path}) has no scripted answer; add one to the FakeLLM script",
                should_retry=False,
            )
        if callable(source):
            try:
                item = source(request)
            except Exception as exc:
                with self._lock:
                    self._errors.append(exc)
                return error(
                    500,
                    f"fake LLM responder raised {type(exc).__name__}: {exc}",
                    should_retry=False,
                )
            return item
        return source

    def _receive(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> ReceivedRequest:
        parts = urlsplit(target)
        with self._lock:
            request = ReceivedRequest(
                index=len(self._requests),
                method=method,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers=headers,
                body=body,
                endpoint=endpoint_of(parts.path),
            )
            self._requests.append(request)
        return request


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many clients at once (capture tests): not 5, which resets them

    def __init__(self, address: tuple[str, int], handler: type, owner: FakeLLM) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timeout, a cancelled stream) is not a server error.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, open_=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``FakeLLM.requests`` instead of a log."""

    def send_response(self, code: int, message: str | None = None) -> None:
        # No Date header: recordings of the same script stay byte-identical.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", "fake-llm")

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner = self.server.owner
        request = owner._receive(self.command, self.path, headers, body)
        if request.endpoint == OTHER:
            self._other(request)
            return
        item = owner._next_item(request)
        if item.delay and self.server.stopping.wait(item.delay):
            self.close_connection = True
            return
        if isinstance(item, Disconnect):
            self.close_connection = True
            return
        if isinstance(item, RawReply):
            self._send_raw(item)
            return
        if isinstance(item, ErrorReply):
            self._send_error(request, item)
            return
        if not isinstance(item, Reply):
            owner._errors.append(TypeError(f"not a script item: {item!r}"))
            self._send_error(
                request,
                error(
                    500,
                    f"fake LLM got a non-item {type(item).__name__} from its script",
                    should_retry=False,
                ),
            )
            return
        render = _RENDERERS[request.endpoint]
        if request.stream:
            self._send_events(render.stream(item, request), item)
        else:
            self._send_json(200, render.complete(item, request), item.headers, request)

    def _other(self, request: ReceivedRequest) -> None:
        if request.method == "GET" and request.path.rstrip("/").endswith("/models"):
            models = {
                "object": "list",
                "data": [
                    {
                        "id": "fake-model",
                        "object": "model",
                        "created": CREATED,
                        "owned_by": "fake-llm",
                    }
                ],
            }
            self._send_json(200, models, {}, request)
            return
        self._send_json(
            404,
            {
                "error": {
                    "message": f"fake LLM has no endpoint {request.method} {request.path}",
                    "type": "not_found_error",
                }
            },
            {"x-should-retry": "false"},
            request,
        )

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str], request: ReceivedRequest
    ) -> None:
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_fake_{request.index + 1:04d}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_raw(self, item: RawReply) -> None:
        body = item.body
        if isinstance(body, str):
            data = body.encode("utf-8")
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        self.send_response(item.status)
        self.send_header("Content-Type", item.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in item.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, request: ReceivedRequest, item: ErrorReply) -> None:
        message = item.message or f"fake LLM scripted error {item.status}"
        headers = dict(item.headers)
        if item.retry_after_ms is not None:
            headers.setdefault("retry-after-ms", str(item.retry_after_ms))
        if item.should_retry is not None:
            headers.setdefault("x-should-retry", "true" if item.should_retry else "false")
        if request.endpoint == ANTHROPIC_MESSAGES:
            payload: dict[str, Any] = {
                "type": "error",
                "error": {
                    "type": item.type or _anthropic_error_type(item.status),
                    "message": message,
                },
            }
        else:
            payload = {
                "error": {
                    "message": message,
                    "type": item.type
                    or (
                        "rate_limit_error"
                        if item.status == 429
                        else "server_error"
                        if item.status >= 500
                        else "invalid_request_error"
                    ),
                    "param": None,
                    "code": None,
                }
            }
        self._send_json(item.status, payload, headers, request)

    def _send_events(self, events: Iterator[str], item: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in item.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for sent, event in enumerate(events):
            if sent and item.stream_delay and self.server.stopping.wait(item.stream_delay):
                self.close_connection = True
                return
            if sent == 1 and item.hold is not None and not self._held(item.hold):
                self.close_connection = True
                return
            if item.cut_after is not None and sent == item.cut_after:
                self.close_connection = True  # no last chunk: the client sees a broken stream
                return
            data = (event + "\n\n").encode("utf-8")
            self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _held(self, hold: threading.Event) -> bool:
        """Wait for the test to release the stream; False when stopping or timed out."""
        waited = 0.0
        while not hold.wait(0.05):
            waited += 0.05
            if self.server.stopping.is_set():
                return False
            if waited >= HOLD_TIMEOUT:
                self.server.owner._errors.append(
                    TimeoutError(f"a held stream was not released within {HOLD_TIMEOUT} s")
                )
                return False
        return True


def _anthropic_error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")


# --- wire formats ----------------------------------------------------------------------


def _pieces(text: str) -> list[str]:
    """Deterministic stream chunks: one word (with its trailing space) per piece."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def _arg_pieces(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _usage(request: ReceivedRequest, item: Reply) -> tuple[int, int]:
    sent = json.dumps(request.messages, sort_keys=True, ensure_ascii=False)
    produced = (item.text or "") + "".join(c.name + c.arguments_json for c in item.tool_calls)
    return _tokens(sent), _tokens(produced)


def _event(data: Any, name: str | None = None) -> str:
    body = "data: " + (
        data
        if isinstance(data, str)
        else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    )
    return f"event: {name}\n{body}" if name else body


def _call_id(request: ReceivedRequest, position: int, call: ToolCall, prefix: str) -> str:
    return call.id or f"{prefix}_fake_{request.index + 1:04d}_{position}"


class _OpenAIChat:
    @staticmethod
    def complete(item: Reply, request: ReceivedRequest) -> dict[str, Any]:
        prompt, completion = _usage(request, item)
        message: dict[str, Any] = {"role": "assistant", "content": item.text, "refusal": None}
        if item.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(request, i, call, "call"),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for i, call in enumerate(item.tool_calls)
            ]
        return {
            "id": f"chatcmpl-fake-{request.index + 1:04d}",
            "object": "chat.completion",
            "created": CREATED,
            "model": request.model or "fake-model",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": item.finish_reason
                    or ("tool_calls" if item.tool_calls else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            "system_fingerprint": "fp_fake",
        }

    @staticmethod
    def stream(item: Reply, request: ReceivedRequest) -> Iterator[str]:
        base = {
            "id": f"chatcmpl-fake-{request.index + 1:04d}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": request.model or "fake-model",
            "system_fingerprint": "fp_fake",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return _event({**base, "choices": [choice]})

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        if item.text:
            for piece in _pieces(item.text):
                yield chunk({"content": piece})
        for i, call in enumerate(item.tool_calls):
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": _call_id(request, i, call, "call"),
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
            for piece in _arg_pieces(call.arguments_json):
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        yield chunk({}, item.finish_reason or ("tool_calls" if item.tool_calls else "stop"))
        options = (request.json or {}).get("stream_options") or {}
        if options.get("include_usage"):
            prompt, completion = _usage(request, item)
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            yield _event({**base, "choices": [], "usage": usage})
        yield _event("[DONE]")


class _OpenAIResponses:
    @staticmethod
    def complete(item: Reply, request: ReceivedRequest) -> dict[str, Any]:
        prompt, completion = _usage(request, item)
        n = request.index + 1
        output: list[dict[str, Any]] = []
        if item.text is not None:
            output.append(
                {
                    "type": "message",
                    "id": f"msg_fake_{n:04d}",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": item.text, "annotations": []}],
                }
            )
        for i, call in enumerate(item.tool_calls):
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_fake_{n:04d}_{i}",
                    "call_id": _call_id(request, i, call, "call"),
                    "name": call.name,
                    "arguments": call.arguments_json,
                    "status": "completed",
                }
            )
        body = request.json or {}
        return {
            "id": f"resp_fake_{n:04d}",
            "object": "response",
            "created_at": CREATED,
            "status": item.finish_reason or "completed",
            "model": request.model or "fake-model",
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "usage": {
                "input_tokens": prompt,
                "output_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    @classmethod
    def stream(cls, item: Reply, request: ReceivedRequest) -> Iterator[str]:
        final = cls.complete(item, request)
        started = {**final, "status": "in_progress", "output": [], "usage": None}
        sequence = iter(range(10_000))

        def event(kind: str, **payload: Any) -> str:
            return _event({"type": kind, "sequence_number": next(sequence), **payload}, kind)

        yield event("response.created", response=started)
        for index, output in enumerate(final["output"]):
            if output["type"] == "message":
                text = output["content"][0]["text"]
                added = {**output, "status": "in_progress", "content": []}
                yield event("response.output_item.added", output_index=index, item=added)
                part = {"type": "output_text", "text": "", "annotations": []}
                yield event(
                    "response.content_part.added",
                    item_id=output["id"],
                    output_index=index,
                    content_index=0,
                    part=part,
                )
                for piece in _pieces(text):
                    yield event(
                        "response.output_text.delta",
                        item_id=output["id"],
                        output_index=index,
                        content_index=0,
                        delta=piece,
                    )
                yield event(
                    "response.output_text.done",
                    item_id=output["id"],
                    output_index=index,
                    content_index=0,
                    text=text,
                )
                yield event(
                    "response.content_part.done",
                    item_id=output["id"],
                    output_index=index,
                    content_index=0,
                    part={**part, "text": text},
                )
            else:
                added = {**output, "status": "in_progress", "arguments": ""}
                yield event("response.output_item.added", output_index=index, item=added)
                for piece in _arg_pieces(output["arguments"]):
                    yield event(
                        "response.function_call_arguments.delta",
                        item_id=output["id"],
                        output_index=index,
                        delta=piece,
                    )
            yield event("response.output_item.done", output_index=index, item=output)
        yield event("response.completed", response=final)


class _AnthropicMessages:
    @staticmethod
    def _blocks(item: Reply, request: ReceivedRequest) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if item.text is not None:
            blocks.append({"type": "text", "text": item.text})
        for i, call in enumerate(item.tool_calls):
            arguments = call.arguments
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _call_id(request, i, call, "toolu"),
                    "name": call.name,
                    # Text arguments (a malformed call) go out as they are: a string input.
                    "input": dict(arguments) if isinstance(arguments, Mapping) else arguments,
                }
            )
        return blocks

    @classmethod
    def complete(cls, item: Reply, request: ReceivedRequest) -> dict[str, Any]:
        prompt, completion = _usage(request, item)
        return {
            "id": f"msg_fake_{request.index + 1:04d}",
            "type": "message",
            "role": "assistant",
            "model": request.model or "fake-model",
            "content": cls._blocks(item, request),
            "stop_reason": item.finish_reason or ("tool_use" if item.tool_calls else "end_turn"),
            "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": completion},
        }

    @classmethod
    def stream(cls, item: Reply, request: ReceivedRequest) -> Iterator[str]:
        final = cls.complete(item, request)
        start = {
            **final,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": final["usage"]["input_tokens"], "output_tokens": 1},
        }
        yield _event({"type": "message_start", "message": start}, "message_start")
        for index, block in enumerate(final["content"]):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
            else:
                opening = {**block, "input": {}}
                source = block["input"]
                text = (
                    source if isinstance(source, str) else json.dumps(source, separators=(",", ":"))
                )
                deltas = [
                    {"type": "input_json_delta", "partial_json": p} for p in _arg_pieces(text)
                ]
            yield _event(
                {"type": "content_block_start", "index": index, "content_block": opening},
                "content_block_start",
            )
            if index == 0:
                yield _event({"type": "ping"}, "ping")
            for delta in deltas:
                yield _event(
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    "content_block_delta",
                )
            yield _event({"type": "content_block_stop", "index": index}, "content_block_stop")
        yield _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": final["usage"]["output_tokens"]},
            },
            "message_delta",
        )
        yield _event({"type": "message_stop"}, "message_stop")


_RENDERERS: dict[str, Any] = {
    OPENAI_CHAT: _OpenAIChat,
    OPENAI_RESPONSES: _OpenAIResponses,
    ANTHROPIC_MESSAGES: _AnthropicMessages,
}
