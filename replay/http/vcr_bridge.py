"""vcrpy as the capture for every other client: http.client/urllib, requests, urllib3,
aiohttp, tornado, httplib2, boto3.

vcrpy patches those libraries and asks "the cassette" about each request. Ours is a
``vcr.cassette.Cassette`` with nothing on disk: ``can_play_response_for`` and
``play_response`` serve from the calling context's replaying session (or raise its
divergence), ``append`` records into its recording session. So the interactions are
steps of the run's one cassette, matched like every other call. httpx and httpx2 are
left to ``transport.py`` (``skip_patchers``), which also streams and records errors.

What vcrpy's stubs cannot give: a step is placed when its response has arrived (vcrpy
does not report a request's start separately from its end), a request that fails with a
connection error is not recorded (replaying it is then a divergence), and a response is
buffered whole (no chunk-by-chunk streaming for these clients).
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from replay.http.capture import HttpCapture, SharedPatch, capture_for_caller
from replay.http.exchange import Described, WireRequest, WireResponse

SKIPPED = ("httpx", "httpx2")


@dataclass
class _Pending:
    request: Any
    capture: HttpCapture
    described: Described
    started_at_ms: float = 0.0
    response: WireResponse | None = None


def _header_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_header_value(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def _body_bytes(request: Any) -> bytes:
    try:
        body = getattr(request, "body_bytes", None)
    except TypeError:  # vcrpy joins a list body as bytes; an aiohttp ``json=`` list is not
        body = None
    if body is None:
        body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if isinstance(body, Mapping):
        return _json_bytes(body)
    parts = list(body)
    if parts and not all(isinstance(p, str | bytes | bytearray) for p in parts):
        return _json_bytes(parts)
    return b"".join(p.encode("utf-8") if isinstance(p, str) else bytes(p) for p in parts)


def _json_bytes(body: Any) -> bytes:
    """A body vcrpy's aiohttp stub hands over as data (``json=``, or ``data=`` form fields):
    its content as JSON, as aiohttp sends ``json=``, so every key and value is matched."""
    return json.dumps(body, ensure_ascii=False, default=_jsonable).encode("utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def wire_request(request: Any) -> WireRequest:
    """A vcrpy ``Request`` as a ``WireRequest``."""
    return WireRequest(
        method=str(request.method),
        url=str(request.uri),
        headers=tuple((str(k), _header_value(v)) for k, v in request.headers.items()),
        body=_body_bytes(request),
    )


def wire_response(response: dict[str, Any]) -> WireResponse:
    """A vcrpy response dict as a ``WireResponse`` (gzip/deflate bodies decoded)."""
    headers = tuple(
        (str(name), _header_value(value))
        for name, values in (response.get("headers") or {}).items()
        for value in (values if isinstance(values, list | tuple) else [values])
    )
    body = (response.get("body") or {}).get("string") or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "").lower()
    decoded = True
    try:
        if encoding in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding not in ("", "identity"):
            decoded = False
    except (OSError, zlib.error):
        decoded = False
    status = response.get("status") or {}
    wire = WireResponse.received(
        int(status.get("code", 200)), str(status.get("message") or ""), headers, body
    )
    if not decoded:
        # Keep the bytes and their encoding header together: the client decodes them.
        wire = replace(wire, headers=(*wire.headers, ("content-encoding", encoding)))
    return wire


def vcr_response(wire: WireResponse) -> dict[str, Any]:
    """A ``WireResponse`` as the dict vcrpy's stubs build their client responses from."""
    headers: dict[str, list[str]] = {}
    for name, value in wire.headers:
        headers.setdefault(name, []).append(value)
    return {
        "status": {"code": wire.status, "message": wire.reason},
        "headers": headers,
        "body": {"string": wire.content},
    }


def _never() -> WireResponse:
    raise AssertionError("a replaying session never sends a request")


_never.__replay_no_live__ = True  # type: ignore[attr-defined]  # no on-miss live through vcrpy


def _bridge_class() -> type:
    from vcr.cassette import Cassette

    class SessionCassette(Cassette):  # type: ignore[misc]
        """A vcrpy cassette whose interactions are steps of the caller's session."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pending: dict[int, _Pending] = {}
            self._pending_lock = threading.Lock()

        def _load(self) -> None:
            """Nothing to load: recorded steps live in the session's cassette."""

        def _save(self, force: bool = False) -> None:
            """Nothing to save: the session writes its cassette."""

        @property
        def write_protected(self) -> bool:
            return False

        def _claim(self, request: Any) -> _Pending | None:
            with self._pending_lock:
                pending = self._pending.get(id(request))
            return pending if pending is not None and pending.request is request else None

        def can_play_response_for(self, request: Any) -> bool:
            pending = self._claim(request)
            if pending is not None:
                return pending.response is not None
            capture = capture_for_caller(request.host, request.port, request.path)
            if capture is None:
                return False
            described = capture.describe(wire_request(request))
            pending = _Pending(request, capture, described, capture.session.elapsed_ms())
            if capture.replaying:
                pending.response = capture.exchange(described, _never)
            with self._pending_lock:
                self._pending[id(request)] = pending
            return pending.response is not None

        def play_response(self, request: Any) -> dict[str, Any]:
            pending = self._claim(request)
            if pending is None or pending.response is None:
                raise AssertionError("play_response without can_play_response_for")
            with self._pending_lock:
                self._pending.pop(id(request), None)
            return vcr_response(pending.response)

        def append(self, request: Any, response: dict[str, Any]) -> None:
            pending = self._claim(request)
            if pending is None:
                return  # sent outside any session (or inside a step): not ours to record
            with self._pending_lock:
                self._pending.pop(id(request), None)
            session = pending.capture.session
            result, http = pending.capture.encoder(pending.described)(wire_response(response))
            session.record_completed(  # type: ignore[attr-defined]
                pending.described.call,
                started_at_ms=pending.started_at_ms,
                result=result,
                http=http,
            )

        def forget(self, capture: HttpCapture) -> None:
            """Drop what is pending for a session that ended (requests that failed)."""
            with self._pending_lock:
                for key in [k for k, p in self._pending.items() if p.capture is capture]:
                    del self._pending[key]

        def find_requests_with_most_matches(self, request: Any) -> list[Any]:
            return []

    return SessionCassette


class _Bridge:
    """The installed bridge cassette (one per installation of the vcrpy patches)."""

    cassette: Any = None


BRIDGE = _Bridge()


class _Patchers:
    """vcrpy's patches around the bridge cassette, built once per process.

    Building them (``CassettePatcherBuilder``) tries to import every HTTP library vcrpy
    supports, and retries the missing ones each time: ~1 ms that a session would pay on
    every start. The patch objects are reusable (each ``__enter__`` saves what is there
    then, each ``__exit__`` puts it back), so every installation enters the same ones.
    A client library first installed after the first session of the process is not
    patched until the process restarts.
    """

    cassette: Any = None
    patchers: tuple[tuple[Any, tuple[Any, str, Any] | None], ...] = ()
    """Each patch object, with what ``_plain_patch`` found in it."""
    removers: tuple[bool, ...] = ()
    """Whether each is vcrpy's ``ConnectionRemover`` (see ``_leave``)."""

    @classmethod
    def built(cls) -> tuple[Any, tuple[tuple[Any, tuple[Any, str, Any] | None], ...]]:
        if cls.cassette is None:
            from vcr.patch import CassettePatcherBuilder, ConnectionRemover

            bridge = _bridge_class()
            try:
                cassette = bridge.load(path="agent-replay", skip_patchers=SKIPPED)
            except TypeError:
                # vcrpy before skip_patchers: httpx traffic then passes vcrpy's stubs
                # inside our transport seam, where the session sees it as part of the
                # step (not twice).
                cassette = bridge.load(path="agent-replay")
            built = CassettePatcherBuilder(cassette).build()
            cls.patchers = _last_of_each([(patcher, _plain_patch(patcher)) for patcher in built])
            cls.removers = tuple(type(patcher) is ConnectionRemover for patcher, _ in cls.patchers)
            cls.cassette = cassette
        return cls.cassette, cls.patchers


def _last_of_each(
    patchers: list[tuple[Any, tuple[Any, str, Any] | None]],
) -> tuple[tuple[Any, tuple[Any, str, Any] | None], ...]:
    """The patches without plain ones that a later plain patch of the same attribute
    overrides (vcrpy patches urllib3 twice, also as ``requests.packages.urllib3``, the
    same modules): applying only the last gives the same state, and undoing it the
    same original, with half the work."""
    last = {(id(plain[0]), plain[1]): n for n, (_, plain) in enumerate(patchers) if plain}
    return tuple(
        (patcher, plain)
        for n, (patcher, plain) in enumerate(patchers)
        if plain is None or last[(id(plain[0]), plain[1])] == n
    )


def _plain_patch(patcher: Any) -> tuple[Any, str, Any] | None:
    """``(target, attribute, new)`` of a ``mock.patch.object(target, attribute, new)``,
    which ``_install`` applies with ``setattr`` (~10x cheaper than entering it); None
    for anything else (entered as it is). Reads ``unittest.mock._patch`` internals:
    tests/http/test_vcr_bridge.py fails loudly when they change."""
    from unittest import mock

    if type(patcher) is not mock._patch:  # type: ignore[attr-defined]
        return None
    plain = (
        patcher.new is not mock.DEFAULT
        and not patcher.create
        and patcher.new_callable is None
        and patcher.autospec is None
        and patcher.spec is None
        and patcher.spec_set is None
        and not patcher.kwargs
        and not patcher.additional_patchers
        and patcher.attribute_name is None
    )
    return (patcher.getter(), patcher.attribute, patcher.new) if plain else None


_MISSING = object()


def _install() -> Callable[[], None]:
    """Apply the plain patches with ``setattr`` and enter the others, in vcrpy's order
    (every session: one flat loop over what ``_Patchers`` built once, no ``ExitStack``)."""
    cassette, patchers = _Patchers.built()
    saved: list[tuple[Any, str, Any]] = []
    entered: list[tuple[Any, bool]] = []
    try:
        for (patcher, plain), remover in zip(patchers, _Patchers.removers, strict=True):
            if plain is None:
                if not remover:
                    patcher.__enter__()
                entered.append((patcher, remover))
                continue
            target, attribute, new = plain
            # As mock.patch saves and restores: the target's own value, or none of its own.
            saved.append((target, attribute, vars(target).get(attribute, _MISSING)))
            setattr(target, attribute, new)
    except BaseException:
        _restore(saved, entered)
        raise
    BRIDGE.cassette = cassette

    def undo() -> None:
        BRIDGE.cassette = None
        _restore(saved, entered)

    return undo


def _restore(saved: list[tuple[Any, str, Any]], entered: list[tuple[Any, bool]]) -> None:
    """Put back what ``saved`` holds, then leave the ``entered`` patch objects (last
    first; each is left even when an earlier one raises, as an ``ExitStack`` would)."""
    try:
        for target, attribute, original in reversed(saved):
            if original is _MISSING:
                delattr(target, attribute)
            else:
                setattr(target, attribute, original)
    finally:
        _leave(entered)


def _leave(entered: list[tuple[Any, bool]]) -> None:
    """Leave the patch objects entered, last first. vcrpy's ``ConnectionRemover`` does
    nothing on ``__enter__`` (not called), and on ``__exit__`` only closes the connections
    of vcrpy's stubs it saw added to a pool (``_connection_pool_to_connections``): it is
    left only when it saw some. Reads vcrpy internals: tests/http/test_vcr_bridge.py
    fails when they change."""
    while entered:
        patcher, remover = entered.pop()
        if remover and not patcher._connection_pool_to_connections:
            continue
        try:
            patcher.__exit__(None, None, None)
        except BaseException:
            _leave(entered)
            raise


SEAM = SharedPatch(_install)
"""Installs vcrpy's patches, with the bridge cassette, while a session needs them."""


def forget(capture: HttpCapture) -> None:
    if BRIDGE.cassette is not None:
        BRIDGE.cassette.forget(capture)
