"""MCP servers as a boundary: tool calls recorded as tool steps, sessions served on replay.

The seam is the mcp SDK's transport clients (``stdio_client``, ``streamable_http_client``,
``sse_client``): the plain ``ClientSession``, openai-agents and pydantic-ai (fastmcp) all
open their connections through them and speak JSON-RPC over the pair of streams they
yield. While a session records or replays, each of these functions is replaced in place
(every module that imported it sees the change) by a seam that knows the server's address:

- Recording: the real transport runs (the server starts, the connection is made) and the
  client's streams are tapped: every message passes through as it arrives (notifications,
  progress, sampling and elicitation requests reach the client at once). The HTTP traffic
  of the connection is marked (``carries_mcp_traffic``) so the HTTP capture leaves it alone.
- Replaying: the real transport never runs (no process, no connection). The client's
  streams are wired to a served connection that answers each request from the cassette.
  A server the cassette never connected to is a ``Divergence`` naming its address.

What becomes a step (``server`` is the name the server gives in its ``initialize`` result):

    tools/call                  ``tool`` step ``server.tool``: the tool's arguments, and its
                                result; an ``isError`` result is the step's error
                                (``MCPToolError``, the tool's text), the result kept in
                                ``http.mcp.result`` and handed back to the client on replay
    initialize, server/discover ``mcp`` step ``server.initialize`` with args {server: address}
    anything else               ``mcp`` step ``server.method`` (``tools/list``, ...), args the
                                params; the same setup request answered the same way again
                                on one connection is recorded once and served again

Server messages received while a request is in flight (or, with none in flight, before the
next one) are kept with that request's step in ``http.mcp.messages`` and sent again before
its answer on replay; a server request among them (sampling, elicitation) waits for the
client's answer, as it did live. A JSON-RPC error answer is the step's error
(``MCPRequestError``). Addresses: a stdio server is its command's file name and arguments
(``mcp-orders --db x``), an HTTP server its URL, without the port for a loopback host (local
test servers get a new port per run). Written for the mcp SDK 2.x.

Importing this module does not import ``mcp``, and neither does a session of an agent that
never imports it.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.abc
import importlib.machinery
import math
import os
import shlex
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from replay.boundary import (
    Call,
    RecordingSession,
    ReplayingSession,
    Session,
    active_session,
    copy_plain,
)
from replay.canonical import error_class_name, stable_hash, to_plain
from replay.cassette import ErrorInfo, Step
from replay.errors import Divergence, ReplayError
from replay.sockets import is_loopback

HANDSHAKES = ("initialize", "server/discover")
TOOL_CALL = "tools/call"

_mcp_traffic: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "replay_mcp_traffic", default=False
)


class MCPToolError(Exception):
    """The error class of a step whose MCP tool answered with ``isError`` (the message is
    the tool's text). The client never sees it raised: it gets the tool's result."""


class MCPRequestError(Exception):
    """The error class of a step whose MCP request got a JSON-RPC error answer (message
    and code); the client gets that answer, as it did live."""


def carries_mcp_traffic() -> bool:
    """True in code that carries an MCP connection's messages (its HTTP requests are not
    model calls: the MCP seam records them as tool and setup steps)."""
    return _mcp_traffic.get()


@contextlib.contextmanager
def _marked_traffic() -> Iterator[None]:
    token = _mcp_traffic.set(True)
    try:
        yield
    finally:
        _mcp_traffic.reset(token)


# --- addresses -------------------------------------------------------------------------


def stdio_address(server: Any, *_: Any, **__: Any) -> str:
    """``mcp-orders --db x``: the command's file name (paths differ between machines) and
    its arguments."""
    command = os.path.basename(str(getattr(server, "command", server)))
    return shlex.join([command, *(str(arg) for arg in getattr(server, "args", None) or ())])


def url_address(url: Any, *_: Any, **__: Any) -> str:
    """The server's URL without credentials or query (they may hold secrets); the port of a
    loopback host is left out (local test servers get a new port per run)."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and not is_loopback(socket.AF_INET, (host, 0)):
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- JSON-RPC messages as plain data ---------------------------------------------------


def _plain_message(item: Any) -> dict[str, Any] | None:
    """A ``SessionMessage`` (or a bare JSON-RPC message) as its wire dict; None for
    transport errors passed along the stream."""
    message = getattr(item, "message", item)
    dump = getattr(message, "model_dump", None)
    if dump is None:
        return None
    return dump(by_alias=True, mode="json", exclude_unset=True)


def _session_message(plain: dict[str, Any]) -> Any:
    """A ``SessionMessage`` for a wire dict, built with the installed SDK's own types."""
    from mcp import types
    from mcp.shared.message import SessionMessage

    return SessionMessage(message=types.jsonrpc_message_adapter.validate_python(plain))


def _is_request(plain: dict[str, Any]) -> bool:
    return "method" in plain and "id" in plain


def _is_answer(plain: dict[str, Any]) -> bool:
    return "method" not in plain and "id" in plain


def _id_key(request_id: Any) -> str:
    return str(request_id)


def _server_name(result: Any, address: str) -> str:
    """The name a handshake result gives the server, else the address's first word."""
    info = result.get("serverInfo") if isinstance(result, dict) else None
    if not isinstance(info, dict) and isinstance(result, dict):
        meta = result.get("_meta") or {}
        info = next((v for k, v in meta.items() if k.endswith("serverInfo")), None)
    name = info.get("name") if isinstance(info, dict) else None
    if isinstance(name, str) and name:
        return name
    first = address.split()[0] if address.split() else address
    return urlsplit(first).hostname or first


def _request_args(method: str, params: Any, address: str) -> Any:
    params = dict(params) if isinstance(params, dict) else {}
    params.pop("_meta", None)
    if method in HANDSHAKES:
        return {"server": address}
    if method == TOOL_CALL:
        return to_plain(params.get("arguments") or {})
    return to_plain(params)


def _kind_and_name(method: str, params: Any, server: str) -> tuple[str, str]:
    if method == TOOL_CALL and isinstance(params, dict):
        return "tool", f"{server}.{params.get('name')}"
    return "mcp", f"{server}.{'initialize' if method in HANDSHAKES else method}"


def _tool_error_text(result: dict[str, Any]) -> str:
    texts = [
        block.get("text", "")
        for block in result.get("content") or ()
        if isinstance(block, dict) and block.get("type") == "text"
    ]
    return "\n".join(texts) or "the tool reported an error (isError) with no text"


def _is_setup(method: str) -> bool:
    return method not in HANDSHAKES and method != TOOL_CALL


# --- recording -------------------------------------------------------------------------


@dataclass
class _InFlight:
    """A client request sent on a recorded connection, waiting for its answer."""

    method: str
    params: Any
    args: Any
    index: int | None
    started_at_ms: float
    messages: list[dict[str, Any]] = field(default_factory=list)


class RecordedConnection:
    """One live MCP connection being recorded: requests in flight, the server's name."""

    def __init__(self, session: RecordingSession, address: str) -> None:
        self.session = session
        self.address = address
        self.server = _server_name(None, address)
        self.in_flight: dict[str, _InFlight] = {}
        self.waiting: list[dict[str, Any]] = []  # server messages with no request in flight
        self.server_requests: dict[str, _InFlight | None] = {}
        self.setup_answers: dict[tuple[str, str], Any] = {}

    def client_sent(self, plain: dict[str, Any]) -> None:
        if _is_request(plain):
            method = plain["method"]
            args = _request_args(method, plain.get("params"), self.address)
            repeat = _is_setup(method) and (method, stable_hash(args)) in self.setup_answers
            index, started = (None, self.session.elapsed_ms()) if repeat else self.session.reserve()
            request = _InFlight(method, plain.get("params"), args, index, started, self.waiting)
            self.waiting = []
            self.in_flight[_id_key(plain["id"])] = request
        elif _is_answer(plain):
            owner = self.server_requests.pop(_id_key(plain["id"]), None)
            self._keep(owner, "client", plain)
        elif plain.get("method") == "notifications/cancelled":
            params = plain.get("params") or {}
            request = self.in_flight.pop(_id_key(params.get("requestId")), None)
            if request is not None:
                reason = params.get("reason") or "cancelled by the client"
                self._finish(request, {"error": {"code": -32800, "message": str(reason)}})

    def server_sent(self, plain: dict[str, Any]) -> None:
        if _is_answer(plain):
            request = self.in_flight.pop(_id_key(plain["id"]), None)
            if request is not None:
                self._finish(request, plain)
            return
        owner = self._owner(plain)
        self._keep(owner, "server", plain)
        if _is_request(plain):
            self.server_requests[_id_key(plain["id"])] = owner

    def closed(self, reason: str = "Connection closed") -> None:
        """Finish the requests still waiting for an answer (none will be recorded)."""
        for key in list(self.in_flight):
            request = self.in_flight.pop(key)
            self._finish(request, {"error": {"code": -32000, "message": reason}})

    def _owner(self, plain: dict[str, Any]) -> _InFlight | None:
        params = plain.get("params") or {}
        token = params.get("progressToken") if isinstance(params, dict) else None
        if token is not None and _id_key(token) in self.in_flight:
            return self.in_flight[_id_key(token)]
        return next(reversed(self.in_flight.values()), None)

    def _keep(self, owner: _InFlight | None, sender: str, plain: dict[str, Any]) -> None:
        entry = {"from": sender, "message": plain}
        (owner.messages if owner is not None else self.waiting).append(entry)

    def _finish(self, request: _InFlight, answer: dict[str, Any]) -> None:
        result = answer.get("result")
        if request.method in HANDSHAKES and isinstance(result, dict):
            self.server = _server_name(result, self.address)
        key = (request.method, stable_hash(request.args))
        if request.index is None:  # a repeated setup request
            if "result" in answer and _same_answer(self.setup_answers.get(key), result):
                return
            request.index, _ = self.session.reserve()
        kind, name = _kind_and_name(request.method, request.params, self.server)
        mcp: dict[str, Any] = {}
        if request.messages:
            mcp["messages"] = request.messages
        error: ErrorInfo | None = None
        if "error" in answer:
            failure = answer["error"] or {}
            mcp["error"] = failure
            error = ErrorInfo(
                error_class_name(MCPRequestError),
                f"{failure.get('message', '')} (JSON-RPC error {failure.get('code')})",
            )
        elif request.method == TOOL_CALL and isinstance(result, dict) and result.get("isError"):
            mcp["result"] = result
            error = ErrorInfo(error_class_name(MCPToolError), _tool_error_text(result))
        elif _is_setup(request.method):
            self.setup_answers[key] = result
        self.session.record_completed(
            Call.of_plain(kind, name, request.args),
            started_at_ms=request.started_at_ms,
            result=None if error is not None else to_plain(result),
            error=error,
            http={"mcp": mcp} if mcp else None,
            index=request.index,
        )


def _same_answer(a: Any, b: Any) -> bool:
    """Whether two answers are the same plain data."""
    return stable_hash(to_plain(a)) == stable_hash(to_plain(b))


class _TappedRead:
    """The client's read stream while recording: each server message is noted, then
    handed on at once."""

    def __init__(self, inner: Any, connection: RecordedConnection) -> None:
        self._inner = inner
        self._connection = connection

    @property
    def last_context(self) -> contextvars.Context | None:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        item = await self._inner.receive()
        plain = _plain_message(item)
        if plain is not None:
            self._connection.server_sent(plain)
        return item

    def __aiter__(self) -> _TappedRead:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _TappedRead:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _TappedWrite:
    """The client's write stream while recording: each client message is noted, then sent
    as MCP traffic (the HTTP capture skips it)."""

    def __init__(self, inner: Any, connection: RecordedConnection) -> None:
        self._inner = inner
        self._connection = connection

    async def send(self, item: Any) -> None:
        plain = _plain_message(item)
        if plain is not None:
            self._connection.client_sent(plain)
        with _marked_traffic():
            await self._inner.send(item)

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _TappedWrite:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@asynccontextmanager
async def _recorded(
    session: RecordingSession, address: str, transport: Any
) -> AsyncIterator[tuple[Any, Any]]:
    with _marked_traffic():
        read, write = await transport.__aenter__()
    connection = RecordedConnection(session, address)
    _open_connections.setdefault(session, set()).add(connection)
    try:
        yield _TappedRead(read, connection), _TappedWrite(write, connection)
    except BaseException:
        _close(connection)
        with _marked_traffic():
            if not await transport.__aexit__(*sys.exc_info()):
                raise
    else:
        _close(connection)
        with _marked_traffic():
            await transport.__aexit__(None, None, None)


def _close(connection: RecordedConnection) -> None:
    connection.closed()
    _open_connections.get(connection.session, set()).discard(connection)


# --- replaying -------------------------------------------------------------------------


def _never() -> Any:
    raise AssertionError("a replayed MCP request never reaches a server")


class ServedConnection:
    """One MCP connection served from the cassette: no server, no network."""

    def __init__(self, session: ReplayingSession, address: str, recorded: tuple[Step, ...]):
        import anyio

        self.session = session
        self.address = address
        self.server = _server_name(None, address)
        self.to_client, self.read = anyio.create_memory_object_stream[Any](math.inf)
        self.handshakes = [
            step
            for step in recorded
            if step.kind == "mcp"
            and step.name.endswith(".initialize")
            and step.args == {"server": address}
        ]
        self.setup_answers: dict[tuple[str, str], Any] = {}
        self.answered: dict[str, Any] = {}  # served server requests awaiting the client

    def refuse_unknown(self) -> None:
        """Raise the ``Divergence`` of connecting to a server the cassette never reached."""
        if self.handshakes:
            return
        raise self.session.diverge(
            None,
            Call.of_plain("mcp", self.address, {"server": self.address}),
            reason=(
                f"MCP server '{self.address}' is not in the cassette: a replay never starts "
                "or connects to a server (re-record the run to add it)"
            ),
        )

    async def client_sent(self, item: Any) -> None:
        plain = _plain_message(item)
        if plain is None:
            return
        if _is_answer(plain):
            waiter = self.answered.pop(_id_key(plain["id"]), None)
            if waiter is not None:
                waiter.set()
            return
        if not _is_request(plain):
            return  # client notifications (initialized, cancelled) have no answer to serve
        answer, http = self._answer(plain)
        meta = (plain.get("params") or {}).get("_meta") or {}
        for entry in (http or {}).get("mcp", {}).get("messages", ()):
            if entry.get("from") == "server":
                await self._deliver(_for_request(entry["message"], meta.get("progressToken")))
        response = {"jsonrpc": "2.0", "id": plain["id"], **answer}
        self.to_client.send_nowait(_session_message(response))

    def _answer(self, plain: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        method, params = plain["method"], plain.get("params")
        args = _request_args(method, params, self.address)
        if method in HANDSHAKES:
            kind, name = "mcp", self._handshake_name()
        else:
            kind, name = _kind_and_name(method, params, self.server)
        call = Call.of_plain(kind, name, args)
        key = (name, call.args_hash)
        if _is_setup(method) and key in self.setup_answers:
            # Recording kept one step per setup request and answer on a connection.
            return {"result": copy_plain(self.setup_answers[key])}, None
        try:
            result, http = self.session.call(
                call, _never, decode=lambda step: (copy_plain(step.result), step.http)
            )
        except (MCPToolError, MCPRequestError) as exc:
            http = getattr(exc, "__replay_http__", None) or {}
            recorded = http.get("mcp", {})
            if "result" in recorded:
                return {"result": copy_plain(recorded["result"])}, http
            return {"error": copy_plain(recorded.get("error") or _error_of(exc))}, http
        except Divergence as exc:
            return {"error": {"code": -32603, "message": str(exc).splitlines()[0]}}, None
        if method in HANDSHAKES:
            self.server = _server_name(result, self.address)
        if _is_setup(method):
            self.setup_answers[key] = result
        return {"result": result}, http

    def _handshake_name(self) -> str:
        """The name of the next recorded handshake with this server: a handshake that
        failed before the server named itself is named after its address."""
        unserved = {step.index for step in self.session.index.unserved()}
        return next(
            (step.name for step in self.handshakes if step.index in unserved),
            self.handshakes[0].name,
        )

    async def _deliver(self, message: dict[str, Any]) -> None:
        """Send a recorded server message; a server request waits for the client's answer."""
        import anyio

        if _is_request(message):
            done = anyio.Event()
            self.answered[_id_key(message["id"])] = done
            self.to_client.send_nowait(_session_message(message))
            await done.wait()
        else:
            self.to_client.send_nowait(_session_message(message))


def _for_request(message: dict[str, Any], progress_token: Any) -> dict[str, Any]:
    """A recorded message as sent again for a request: progress carries the token of the
    request now in flight (its id may differ from the recorded one)."""
    if message.get("method") != "notifications/progress" or progress_token is None:
        return message
    return {**message, "params": {**message.get("params", {}), "progressToken": progress_token}}


def _error_of(exc: BaseException) -> dict[str, Any]:
    return {"code": -32603, "message": str(exc)}


class _ServedWrite:
    """The client's write stream while replaying: each message goes to the served
    connection, which answers it on the read stream."""

    def __init__(self, connection: ServedConnection) -> None:
        self._connection = connection

    async def send(self, item: Any) -> None:
        await self._connection.client_sent(item)

    def close(self) -> None:
        self._connection.to_client.close()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> _ServedWrite:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@asynccontextmanager
async def _served(session: ReplayingSession, address: str) -> AsyncIterator[tuple[Any, Any]]:
    connection = ServedConnection(session, address, session.recorded)
    connection.refuse_unknown()
    try:
        yield connection.read, _ServedWrite(connection)
    finally:
        connection.to_client.close()


# --- the seam --------------------------------------------------------------------------


def _transport_seam(
    original: Callable[..., Any], address_of: Callable[..., str]
) -> Callable[..., Any]:
    """The async generator that stands in for a transport client's own."""
    live = asynccontextmanager(original)

    async def transport(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        session = active_session()
        if session is None or carries_mcp_traffic():
            # Live, or a transport opened by another seamed transport (already recorded).
            async with live(*args, **kwargs) as streams:
                yield streams
            return
        address = address_of(*args, **kwargs)
        if isinstance(session, ReplayingSession):
            async with _served(session, address) as streams:
                yield streams
        elif isinstance(session, RecordingSession):
            async with _recorded(session, address, live(*args, **kwargs)) as streams:
                yield streams
        else:
            async with live(*args, **kwargs) as streams:
                yield streams

    transport.__replay_seam__ = original  # type: ignore[attr-defined]
    return transport


TRANSPORTS: tuple[tuple[str, str, Callable[..., str]], ...] = (
    ("mcp.client.stdio", "stdio_client", stdio_address),
    ("mcp.client.streamable_http", "streamable_http_client", url_address),
    ("mcp.client.sse", "sse_client", url_address),
)
"""The transport clients the seam replaces: module, name, and how to name the server."""


def _generator_cell(cm_function: Any, where: str) -> Any:
    """The closure cell holding the async generator an ``@asynccontextmanager`` function
    runs: replacing its contents changes the function for every module that imported it.

    This leans on how ``contextlib`` builds such functions; it fails loudly if that changes.
    """
    code = getattr(cm_function, "__code__", None)
    closure = getattr(cm_function, "__closure__", None) or ()
    names = code.co_freevars if code is not None else ()
    wrapped = getattr(cm_function, "__wrapped__", None)
    for name, cell in zip(names, closure, strict=False):
        held = cell.cell_contents
        if name == "func" and wrapped in (held, getattr(held, "__replay_seam__", None)):
            return cell
    raise ReplayError(
        f"{where} is not an @asynccontextmanager function as agent-replay expects; this "
        "version of the mcp SDK is not supported by the MCP seam (pin the mcp version "
        "agent-replay was tested with, or report it)"
    )


class _Seam:
    """The transport functions replaced while at least one session is open (shared by
    concurrent sessions, undone by the last one out).

    Only modules already imported are changed when a session opens; one imported during a
    session is changed as it loads (``_SeamOnImport``). So agents that import mcp lazily
    are covered, and sessions of agents that never use it do not import the SDK.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users = 0
        self._undo: list[tuple[Any, Any]] = []
        self._finder = _SeamOnImport(self)

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        """Install the seam unless a session has already; ``release`` once for each."""
        with self._lock:
            if self._users == 0:
                try:
                    for module_name in _MODULES:
                        if module_name in sys.modules:
                            self.seam_module(sys.modules[module_name])
                    sys.meta_path.insert(0, self._finder)
                except BaseException:
                    self._restore()
                    raise
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._restore()

    def seam_module(self, module: Any) -> None:
        """Replace the transport functions ``module`` defines (once)."""
        with self._lock:
            for module_name, attribute, address_of in TRANSPORTS:
                cm_function = getattr(module, attribute, None)
                if module_name != module.__name__ or cm_function is None:
                    continue
                cell = _generator_cell(cm_function, f"{module_name}.{attribute}")
                if getattr(cell.cell_contents, "__replay_seam__", None) is not None:
                    continue
                self._undo.append((cell, cell.cell_contents))
                cell.cell_contents = _transport_seam(cell.cell_contents, address_of)

    def _restore(self) -> None:
        if self._finder in sys.meta_path:  # (someone else may have taken it out)
            sys.meta_path.remove(self._finder)
        for cell, original in reversed(self._undo):
            cell.cell_contents = original
        self._undo.clear()


class _SeamOnImport(importlib.abc.MetaPathFinder):
    """Seams a transport module right after it is imported during a session."""

    def __init__(self, seam: _Seam) -> None:
        self._seam = seam

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        loader = getattr(spec, "loader", None)
        execute = getattr(loader, "exec_module", None)
        if execute is None:
            return None
        seam = self._seam

        def exec_module(module: Any) -> None:
            execute(module)
            seam.seam_module(module)

        loader.exec_module = exec_module  # type: ignore[union-attr]  # this module's loader only
        return spec


_MODULES = frozenset(module_name for module_name, _, _ in TRANSPORTS)
_SEAM = _Seam()


_open_connections: dict[Session, set[RecordedConnection]] = {}


@contextlib.contextmanager
def seam(session: Session) -> Iterator[None]:
    """Install the MCP seam for a recording or replaying ``session`` (see ``_Seam``).

    When it ends, requests still in flight on the session's connections are recorded as
    unanswered, so the cassette written next has no hole where they were reserved.
    """
    open_seam(session)
    try:
        yield
    finally:
        close_seam(session)


def open_seam(session: Session) -> None:
    """``seam`` without a block (the engine's setup): in force until ``close_seam``."""
    try:
        _SEAM.acquire()
    except BaseException:
        _end_connections(session)
        raise


def close_seam(session: Session) -> None:
    """End what ``open_seam`` began for ``session``."""
    try:
        _SEAM.release()
    finally:
        _end_connections(session)


def _end_connections(session: Session) -> None:
    for connection in _open_connections.pop(session, ()):
        connection.closed("no answer before the recording ended")
