"""Recording an httpx/httpx2 exchange, and passing a streamed (SSE) answer through live.

A request's step is reserved when the request is sent (its place among the run's
steps) and stored once, when its answer has ended. A whole response ends when it has
been read. A server-sent event stream is handed to the client as it arrives instead:
each event goes on as soon as its blank line is received, one chunk per event (the
chunks a replay serves), so recording does not change the agent's time to first token.
The step is stored when the stream ends, in one of four ways:

- read to its end: the same step a buffered recording stores;
- cut by an error (a dropped connection): a failed step whose ``http.response`` keeps
  the events received and says ``incomplete``; a replay serves those events, then
  raises the error, as the agent saw it;
- closed by the client before its end: the events received, ``incomplete`` saying so;
- still open when the run ends: the same, recorded when the seam is removed.

Only the httpx/httpx2 seam streams live; clients captured through vcrpy
(``vcr_bridge.py``) get their responses after vcrpy has read them whole.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from replay.canonical import error_class_name
from replay.cassette import ErrorInfo
from replay.errors import SessionError
from replay.http.exchange import Described, WireResponse
from replay.http.sse import is_final

if TYPE_CHECKING:
    from replay.http.capture import HttpCapture

CLOSED_EARLY = "the client closed the stream before its end"
RUN_ENDED = "the run ended before the stream was read to its end"

# A blank line ends an event. Line ends are \r\n, \n or \r, so two in a row show as
# \n\n, \n\r or \r\r; a \r that ends the blank line takes the \n after it along.
_BLANK_LINE = re.compile(rb"\n\n|\n\r\n?|\r\r\n?")


class EventChunker:
    """Cuts a byte stream into one chunk per server-sent event, as the bytes arrive."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The events ``data`` completes (each with its blank line); the rest waits."""
        if (
            not self._pending
            and type(data) is bytes
            and data.endswith(b"\n\n")
            and data.find(b"\n\n") == len(data) - 2
            and b"\r" not in data
        ):
            return [data]  # one whole event, as servers send them: the loop's answer
        self._pending += data
        chunks: list[bytes] = []
        start = 0
        for match in _BLANK_LINE.finditer(self._pending):
            end = match.end()
            if end == len(self._pending) and self._pending.endswith(b"\r"):
                break  # the \n of this \r\n may be in the next read
            chunk = bytes(self._pending[start:end])
            if chunks and not chunk.strip(b"\r\n"):
                chunks[-1] += chunk  # an extra blank line belongs to the event before it
            else:
                chunks.append(chunk)
            start = end
        del self._pending[:start]
        return chunks

    def flush(self) -> bytes:
        """What is left at the end of the stream (an event without its blank line)."""
        rest, self._pending = bytes(self._pending), bytearray()
        return rest


class PendingExchange:
    """One request's step: reserved when the request is sent, stored once when it ends."""

    def __init__(self, capture: HttpCapture, described: Described) -> None:
        self.capture = capture
        self.described = described
        self.index, self.started_at_ms = capture.session.reserve()  # type: ignore[attr-defined]
        self._stored = False
        self._lock = threading.Lock()

    @property
    def stored(self) -> bool:
        """Whether the step is stored (or being stored): later answers are dropped."""
        return self._stored

    def _claim(self) -> bool:
        with self._lock:
            if self._stored:
                return False
            self._stored = True
            return True

    def _store(self, *, result: Any = None, error: ErrorInfo | None = None, http: Any) -> None:
        self.capture.session.record_completed(  # type: ignore[attr-defined]
            self.described.call,
            started_at_ms=self.started_at_ms,
            result=result,
            error=error,
            http=http,
            index=self.index,
        )

    def _encoded(self, response: WireResponse) -> tuple[Any, dict[str, Any]] | None:
        """The step's result and http field; None when a production capture gave up the
        run's cassette over it (``replay.capture`` never raises into the agent)."""
        try:
            return self.capture.encoder(self.described)(response)
        except Exception as exc:
            call = self.described.call
            reason = (
                f"{call.kind} '{call.name}' returned a response that cannot be recorded "
                f"({type(exc).__name__}: {exc})"
            )
            give_up = getattr(self.capture.session, "fail", None)
            if give_up is not None:
                give_up(reason)
                return None
            failure = SessionError(reason)
            self._store(
                error=ErrorInfo(error_class_name(failure), str(failure)),
                http={"request": self.described.record},
            )
            raise failure from exc

    def succeeded(self, response: WireResponse, *, incomplete: str | None = None) -> None:
        """Store the answer (``incomplete``: why a stream stopped before its end)."""
        if not self._claim():
            return
        encoded = self._encoded(response)
        if encoded is None:
            return
        result, http = encoded
        if incomplete is not None:
            http["response"]["incomplete"] = incomplete
        self._store(result=result, http=http)

    def failed(self, exc: BaseException, response: WireResponse | None = None) -> None:
        """Store the error, with the part of a streamed ``response`` received before it."""
        if not self._claim():
            return
        http: dict[str, Any] = {"request": self.described.record}
        if response is not None:
            encoded = self._encoded(response)
            if encoded is None:
                return
            http["response"] = {**encoded[1]["response"], "incomplete": _describe(exc)}
        self._store(error=ErrorInfo(error_class_name(exc), str(exc)), http=http)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class StreamTee:
    """A live event stream on its way to the client: chunks passed on and kept."""

    def __init__(self, pending: PendingExchange, response: Any) -> None:
        self.pending = pending
        self._status = response.status_code
        self._reason = response.reason_phrase
        self._headers = tuple(response.headers.multi_items())
        self._http_version = response.http_version
        self._chunker = EventChunker()
        self._received = bytearray()
        self._events = 0
        pending.capture.streams_opened(self)

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The headers the client gets: those of the stored (decoded) response."""
        return self._response().headers

    def _response(self) -> WireResponse:
        return WireResponse.received(
            self._status, self._reason, self._headers, bytes(self._received), self._http_version
        )

    def pass_on(self, data: bytes) -> list[bytes]:
        self._received += data
        chunks = self._chunker.feed(data)
        self._events += len(chunks)
        return chunks

    def ended(self) -> bytes:
        """The stream was read to its end: store the step; the last bytes to pass on."""
        self.pending.capture.streams_closed(self)
        self.pending.succeeded(self._response())
        return self._chunker.flush()

    def failed(self, exc: BaseException) -> None:
        self.pending.capture.streams_closed(self)
        self.pending.failed(exc, self._response())

    def closed(self, reason: str = CLOSED_EARLY) -> None:
        """Stopped before its end: store what arrived, saying so unless its last event
        ends the model's answer (SDKs close the stream there). Stored once; later calls
        do nothing. Never raises: it runs from the client's ``close()``."""
        self.pending.capture.streams_closed(self)
        if self.pending.stored:
            return  # read to its end first (the SDKs close a stream after its last event)
        response = self._response()
        whole = bool(response.events) and is_final(response.events[-1])
        incomplete = None if whole else f"{reason} ({self._events} events)"
        with contextlib.suppress(SessionError):  # stored as the step's error
            self.pending.succeeded(response, incomplete=incomplete)


_classes: dict[tuple[str, str], type] = {}


def _live_class(module: ModuleType, kind: str) -> type:
    cls = _classes.get((module.__name__, kind))
    if cls is not None:
        return cls

    class LiveStream(module.SyncByteStream):  # type: ignore[name-defined, misc]
        """The live response's decoded bytes, one chunk per event, recorded on the way."""

        def __init__(self, response: Any, tee: StreamTee) -> None:
            self._response = response
            self._tee = tee
            self._source: Iterator[bytes] | None = None

        def __iter__(self) -> Iterator[bytes]:
            # A second iteration goes on where the first stopped, as the transport's own
            # stream does (the SDKs drain the rest of a stream after its last event).
            if self._source is None:
                self._source = self._response.iter_bytes()
            pass_on = self._tee.pass_on
            try:
                for data in self._source:
                    yield from pass_on(data)
            except Exception as exc:
                self._tee.failed(exc)
                raise
            except BaseException as exc:
                if not isinstance(exc, GeneratorExit):
                    self._tee.closed(f"interrupted by {type(exc).__name__}")
                raise
            tail = self._tee.ended()
            if tail:
                yield tail

        def close(self) -> None:
            try:
                self._response.close()
            finally:
                self._tee.closed()

    class LiveAsyncStream(module.AsyncByteStream):  # type: ignore[name-defined, misc]
        """``LiveStream`` for async clients."""

        def __init__(self, response: Any, tee: StreamTee) -> None:
            self._response = response
            self._tee = tee
            self._source: AsyncIterator[bytes] | None = None

        async def __aiter__(self) -> AsyncIterator[bytes]:
            if self._source is None:
                self._source = self._response.aiter_bytes()
            pass_on = self._tee.pass_on
            try:
                async for data in self._source:
                    for chunk in pass_on(data):
                        yield chunk
            except Exception as exc:
                self._tee.failed(exc)
                raise
            except BaseException as exc:
                if not isinstance(exc, GeneratorExit):
                    self._tee.closed(f"interrupted by {type(exc).__name__}")
                raise
            tail = self._tee.ended()
            if tail:
                yield tail

        async def aclose(self) -> None:
            try:
                await self._response.aclose()
            finally:
                self._tee.closed()

    _classes[(module.__name__, "sync")] = LiveStream
    _classes[(module.__name__, "async")] = LiveAsyncStream
    return _classes[(module.__name__, kind)]


def live_response(
    module: ModuleType, response: Any, pending: PendingExchange, request: Any, *, kind: str
) -> Any:
    """The client's response for the transport's live event stream ``response``
    (``kind``: "sync" or "async"), passed on as it arrives."""
    tee = StreamTee(pending, response)
    return module.Response(
        response.status_code,
        headers=list(tee.headers),
        stream=_live_class(module, kind)(response, tee),
        extensions={
            "http_version": response.http_version.encode("ascii", "replace"),
            "reason_phrase": response.reason_phrase.encode("ascii", "replace"),
        },
        request=request,
    )
