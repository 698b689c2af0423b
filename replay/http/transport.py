"""The httpx / httpx2 seam: ``HTTPTransport.handle_request`` and its async twin.

Every request the openai and anthropic SDKs send (httpx2), and litellm's or any other
httpx client's, leaves through these two methods. Capturing here rather than through
vcrpy's httpx stubs gives: each request a step reserved when it starts (true order among
tool steps, also for concurrent calls); connection errors and timeouts recorded as
failed steps and raised again on replay; and streamed (SSE) responses served one chunk
per event, so the SDKs' stream iterators see a stream, not one blob. While recording,
a whole response is read and then handed to the client from the same chunks a replay
serves; an event stream is passed on live, event by event, as it arrives
(``streaming.py``), and a stream cut by an error is replayed up to the error.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from replay.boundary import inside_step
from replay.http.capture import HttpCapture, SharedPatch, capture_for_caller
from replay.http.exchange import Described, WireRequest, WireResponse, interrupted_response
from replay.http.sse import is_event_stream
from replay.http.streaming import PendingExchange, live_response

MODULES = ("httpx", "httpx2")


_header_items: dict[tuple[tuple[bytes, bytes], ...], tuple[tuple[str, str], ...]] = {}
_CACHED_HEADER_SETS = 64


def _headers(headers: Any) -> tuple[tuple[str, str], ...]:
    """``headers.multi_items()`` as a tuple, remembered for ASCII headers: a client sends
    the same headers with every request, and decoding them costs more than a lookup.

    Only pure-ASCII sets are kept: those decode to the same text whatever encoding the
    ``Headers`` object would pick, so the raw bytes alone decide the result.
    """
    raw = tuple(headers.raw)
    items = _header_items.get(raw)
    if items is None:
        items = tuple(headers.multi_items())
        if headers.encoding == "ascii":
            if len(_header_items) >= _CACHED_HEADER_SETS:
                _header_items.clear()
            _header_items[raw] = items
    return items


def _wire_request(request: Any, body: bytes) -> WireRequest:
    return WireRequest(
        method=request.method,
        url=str(request.url),
        headers=_headers(request.headers),
        body=body,
    )


def _received(response: Any) -> WireResponse:
    return WireResponse.received(
        response.status_code,
        response.reason_phrase,
        tuple(response.headers.multi_items()),
        response.content,
        response.http_version,
    )


def _host_port(request: Any) -> tuple[str, int, str]:
    url = request.url
    return url.host, url.port or (443 if url.scheme == "https" else 80), url.path


_stream_classes: dict[str, type] = {}


def _stream_class(module: ModuleType) -> type:
    """A byte stream of the module's own base classes, yielding the recorded chunks."""
    cls = _stream_classes.get(module.__name__)
    if cls is None:

        class RecordedStream(module.SyncByteStream, module.AsyncByteStream):  # type: ignore[name-defined, misc]
            def __init__(self, chunks: list[bytes], error: BaseException | None = None) -> None:
                self._chunks = chunks
                self._error = error

            def __iter__(self) -> Iterator[bytes]:
                yield from self._chunks
                if self._error is not None:
                    raise self._error

            async def __aiter__(self) -> Any:
                for chunk in self._chunks:
                    yield chunk
                if self._error is not None:
                    raise self._error

        cls = _stream_classes[module.__name__] = RecordedStream
    return cls


def _to_client(
    module: ModuleType, wire: WireResponse, request: Any, *, error: BaseException | None = None
) -> Any:
    headers, chunks, extensions = wire.client_parts(module, _client_parts)
    # ``Response`` copies the headers and extensions it is given: the cached ones stay as
    # they are whatever the client does with its response.
    return module.Response(
        wire.status,
        headers=headers,
        stream=_stream_class(module)(list(chunks), error),
        extensions=extensions,
        request=request,
    )


def _client_parts(module: ModuleType, wire: WireResponse) -> tuple[Any, tuple[bytes, ...], Any]:
    """What every ``module.Response`` built from ``wire`` shares: its headers (as the
    module's ``Headers``), its body chunks and its extensions."""
    extensions = {
        "http_version": wire.http_version.encode("ascii", "replace"),
        "reason_phrase": wire.reason.encode("ascii", "replace"),
    }
    return module.Headers(list(wire.headers)), tuple(wire.chunks()), extensions


def _remember_request(exc: BaseException, described: Described) -> None:
    # A failed live answer (--on-miss live) keeps its request as the step's ``http``.
    with contextlib.suppress(AttributeError):
        exc.__replay_http__ = {"request": described.record}  # type: ignore[attr-defined]


def _interrupted(module: ModuleType, exc: Exception, request: Any) -> Any:
    """A recorded stream cut by an error: its events, then the error (else re-raise)."""
    partial = interrupted_response(getattr(exc, "__replay_http__", None))
    if partial is None:
        raise exc
    return _to_client(module, partial, request, error=exc)


def _served(
    module: ModuleType,
    capture: HttpCapture,
    described: Described,
    request: Any,
    original: Callable[..., Any],
    client: Any,
) -> Any:
    """The recorded answer. ``send`` runs only when the replay's ``--on-miss live``
    policy lets a call the recording does not hold reach the network; its response is
    read whole (a replay has no production latency to preserve)."""

    def send() -> WireResponse:
        try:
            response = original(client, request)
            try:
                response.read()
            finally:
                response.close()
        except Exception as exc:
            _remember_request(exc, described)
            raise
        return _received(response)

    try:
        wire = capture.exchange(described, send)
    except Exception as exc:
        return _interrupted(module, exc, request)
    return _to_client(module, wire, request)


async def _aserved(
    module: ModuleType,
    capture: HttpCapture,
    described: Described,
    request: Any,
    original: Callable[..., Any],
    client: Any,
) -> Any:
    """``_served`` for async clients."""

    async def send() -> WireResponse:
        try:
            response = await original(client, request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except Exception as exc:
            _remember_request(exc, described)
            raise
        return _received(response)

    try:
        wire = await capture.aexchange(described, send)
    except Exception as exc:
        return _interrupted(module, exc, request)
    return _to_client(module, wire, request)


def _is_stream(response: Any) -> bool:
    return is_event_stream(response.headers.get("content-type"))


def _sync_seam(module: ModuleType, original: Callable[..., Any]) -> Callable[..., Any]:
    def handle_request(self: Any, request: Any) -> Any:
        capture = capture_for_caller(*_host_port(request))
        if capture is None:
            return original(self, request)
        described = capture.describe(_wire_request(request, request.read()))
        if capture.replaying:
            return _served(module, capture, described, request, original, self)
        pending = PendingExchange(capture, described)
        try:
            with inside_step():
                response = original(self, request)
                if _is_stream(response):
                    return live_response(module, response, pending, request, kind="sync")
                try:
                    response.read()
                finally:
                    response.close()
        except Exception as exc:
            pending.failed(exc)
            raise
        wire = _received(response)
        pending.succeeded(wire)
        return _to_client(module, wire, request)

    handle_request.__replay_seam__ = original  # type: ignore[attr-defined]
    return handle_request


def _async_seam(module: ModuleType, original: Callable[..., Any]) -> Callable[..., Any]:
    async def handle_async_request(self: Any, request: Any) -> Any:
        capture = capture_for_caller(*_host_port(request))
        if capture is None:
            return await original(self, request)
        described = capture.describe(_wire_request(request, await request.aread()))
        if capture.replaying:
            return await _aserved(module, capture, described, request, original, self)
        pending = PendingExchange(capture, described)
        try:
            with inside_step():
                response = await original(self, request)
                if _is_stream(response):
                    return live_response(module, response, pending, request, kind="async")
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except Exception as exc:
            pending.failed(exc)
            raise
        wire = _received(response)
        pending.succeeded(wire)
        return _to_client(module, wire, request)

    handle_async_request.__replay_seam__ = original  # type: ignore[attr-defined]
    return handle_async_request


# vcrpy's ``force_reset()`` puts these saved originals back process-wide while one of its
# stubs sends a real request (a background thread's, say): for that window every thread's
# httpx/httpx2 traffic would skip the seam, and a run's model call would go unrecorded.
# While the seam is installed, the saved originals are the seam. (Private names of
# ``vcr.patch``; tests/http/test_seams.py fails loudly if they change.)
VCR_SAVED_ORIGINALS = {
    ("httpx", "handle_request"): "_HttpxHttpTransport_handle_request",
    ("httpx", "handle_async_request"): "_HttpxAsyncHttpTransport_handle_async_request",
    ("httpx2", "handle_request"): "_Httpx2HttpTransport_handle_request",
    ("httpx2", "handle_async_request"): "_Httpx2AsyncHttpTransport_handle_async_request",
}


_seams: dict[tuple[type, str], tuple[Callable[..., Any], Callable[..., Any]]] = {}
"""(class, attribute) -> (the original, its seam): built once per original, so each
installation only sets attributes."""
_vcr_patch: list[ModuleType] = []
_missing: set[str] = set()
"""Client modules that failed to import once (as vcrpy's patches, not retried each session)."""


def _seam_for(module: ModuleType, cls: type, attr: str, make: Any) -> Callable[..., Any]:
    original = getattr(cls, attr)
    built = _seams.get((cls, attr))
    if built is None or built[0] is not original:
        built = _seams[(cls, attr)] = (original, make(module, original))
    return built[1]


def _install() -> Callable[[], None]:
    undo: list[tuple[Any, str, Any]] = []
    if not _vcr_patch:
        _vcr_patch.append(importlib.import_module("vcr.patch"))
    vcr_patch = _vcr_patch[0]
    for name in MODULES:
        module = sys.modules.get(name)
        if module is None:
            if name in _missing:
                continue
            try:
                module = importlib.import_module(name)
            except ImportError:
                _missing.add(name)
                continue
        for cls, attr, make in (
            (module.HTTPTransport, "handle_request", _sync_seam),
            (module.AsyncHTTPTransport, "handle_async_request", _async_seam),
        ):
            original = getattr(cls, attr)
            seam = _seam_for(module, cls, attr, make)
            undo.append((cls, attr, cls.__dict__.get(attr)))
            setattr(cls, attr, seam)
            saved = VCR_SAVED_ORIGINALS[(name, attr)]
            if getattr(vcr_patch, saved, None) is original:
                undo.append((vcr_patch, saved, original))
                setattr(vcr_patch, saved, seam)

    def restore() -> None:
        for cls, attr, previous in reversed(undo):
            if previous is None:
                delattr(cls, attr)
            else:
                setattr(cls, attr, previous)

    return restore


SEAM = SharedPatch(_install)
"""Installs the seam while at least one recording or replaying session is open."""
