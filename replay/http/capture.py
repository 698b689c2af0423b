"""Per-session HTTP capture: turns intercepted requests into steps of the session.

The seams (``transport.py`` for httpx/httpx2, ``vcr_bridge.py`` for everything vcrpy
patches) are installed process-wide while at least one session uses them, and ask
``capture_for_caller()`` on every request: the session of the calling context decides
whether it is recorded, replayed or passed through (no session, or inside a step).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from replay.boundary import (
    Call,
    RecordingSession,
    ReplayingSession,
    Session,
    active_session,
    current_session,
)
from replay.cassette import Step
from replay.errors import Divergence, NetworkBlocked
from replay.http.exchange import (
    Described,
    WireRequest,
    WireResponse,
    decode_response,
    describe_request,
    encode_response,
)
from replay.http.options import HttpOptions
from replay.http.redact import Redactor
from replay.mcp import carries_mcp_traffic

OFFLINE_REASON = "the request was not sent: replay is offline"


class HttpCapture:
    """One session's HTTP capture: its options, its redactor, and the step conversions."""

    def __init__(self, session: Session, options: HttpOptions) -> None:
        self.session = session
        self.options = options
        self.redactor = Redactor(options)

    @property
    def replaying(self) -> bool:
        return isinstance(self.session, ReplayingSession)

    def describe(self, request: WireRequest) -> Described:
        return describe_request(request, self.options, self.redactor)

    def encoder(self, described: Described) -> Callable[[WireResponse], tuple[Any, Any]]:
        return lambda response: encode_response(described, response, self.redactor)

    def decode(self, step: Step) -> WireResponse:
        return decode_response(step, cassette=self.session.cassette_path)

    def exchange(self, described: Described, live: Callable[[], WireResponse]) -> WireResponse:
        """Record ``live()`` as a step, or serve the step that answers it (never ``live``)."""
        try:
            return self.session.call(
                described.call, live, encode=self.encoder(described), decode=self.decode
            )
        except Divergence as exc:
            raise offline_error(exc, described.call) from None

    async def aexchange(self, described: Described, live: Callable[[], Any]) -> WireResponse:
        """``exchange`` for async clients (``live`` returns an awaitable)."""
        try:
            return await self.session.acall(
                described.call, live, encode=self.encoder(described), decode=self.decode
            )
        except Divergence as exc:
            raise offline_error(exc, described.call) from None


_captures: dict[Session, HttpCapture] = {}
_captures_lock = threading.Lock()


def capture_for_caller() -> HttpCapture | None:
    """The capture of the session a request made here belongs to (None: send it live)."""
    session = active_session()
    if session is None or carries_mcp_traffic():
        return None  # live, or an MCP connection's traffic (the MCP seam records it)
    return _captures.get(session)


def replaying_capture() -> HttpCapture | None:
    """A replaying session's capture, preferring the caller's (for the socket guard)."""
    session = current_session()
    capture = _captures.get(session) if session is not None else None
    if capture is not None and capture.replaying:
        return capture
    with _captures_lock:
        return next((c for c in _captures.values() if c.replaying), None)


def caller_is_recording() -> bool:
    return isinstance(current_session(), RecordingSession)


@contextmanager
def attached(capture: HttpCapture) -> Iterator[HttpCapture]:
    with _captures_lock:
        _captures[capture.session] = capture
    try:
        yield capture
    finally:
        with _captures_lock:
            _captures.pop(capture.session, None)


class SharedPatch:
    """A process-wide patch installed while at least one session needs it.

    ``install`` applies it and returns the function that undoes it; concurrent sessions
    share one installation, and the last one out undoes it, so nothing is left behind.
    """

    def __init__(self, install: Callable[[], Callable[[], None]]) -> None:
        self._install = install
        self._undo: Callable[[], None] | None = None
        self._users = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._users > 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._undo = self._install()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._undo is not None:
                    undo, self._undo = self._undo, None
                    undo()


# --- raising a divergence through an SDK -------------------------------------------------

_offline_classes: dict[tuple[type, ...], type[NetworkBlocked]] = {}


def _sdk_error_roots() -> tuple[type[BaseException], ...]:
    """The root exception classes of the model SDKs already imported (none imported here)."""
    roots: list[type[BaseException]] = []
    for module_name, class_name in (("openai", "OpenAIError"), ("anthropic", "AnthropicError")):
        module = sys.modules.get(module_name)
        root = getattr(module, class_name, None) if module is not None else None
        if isinstance(root, type) and issubclass(root, Exception):
            roots.append(root)
    return tuple(roots)


def offline_error_type() -> type[NetworkBlocked]:
    """``NetworkBlocked``, made to pass through the loaded SDKs' retry loops unwrapped.

    The SDKs retry connection-level failures and wrap unknown exceptions raised by their
    HTTP client (anthropic wraps them in ``APIConnectionError`` and retries), but both
    re-raise their own errors as they are. The class raised is therefore also a subclass
    of each loaded SDK's root error, so a divergence surfaces at once, not after retries.
    """
    roots = _sdk_error_roots()
    cls = _offline_classes.get(roots)
    if cls is None:
        cls = type(
            "NetworkBlocked",
            (NetworkBlocked, *roots),
            {"__module__": NetworkBlocked.__module__, "__doc__": NetworkBlocked.__doc__},
        )
        _offline_classes[roots] = cls
    return cls


def offline_error(exc: Divergence, call: Call) -> NetworkBlocked:
    """The divergence ``exc`` of ``call`` (already recorded by the session) as the error
    raised to the client. (``exc.args`` is the message: ``BaseException`` owns ``args``.)"""
    reason = exc.reason if OFFLINE_REASON in exc.reason else f"{exc.reason}; {OFFLINE_REASON}"
    error = offline_error_type()(
        step=exc.step,
        kind=exc.kind,
        name=exc.name,
        args=call.args,
        nearest=exc.nearest,
        args_diff=exc.args_diff,
        cassette=exc.cassette,
        reason=reason,
    )
    for note in getattr(exc, "__notes__", ()):
        error.add_note(note)
    return error


def block_request(
    capture: HttpCapture, call: Call, *, reason: str, compare: bool = True
) -> NetworkBlocked:
    """Record a blocked network attempt in the replaying session and return the error."""
    session = capture.session
    assert isinstance(session, ReplayingSession)
    error = session.diverge(
        None, call, reason=reason, error_type=offline_error_type(), compare=compare
    )
    assert isinstance(error, NetworkBlocked)
    return error
