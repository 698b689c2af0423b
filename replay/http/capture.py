"""Per-session HTTP capture: turns intercepted requests into steps of the session.

The seams (``transport.py`` for httpx/httpx2, ``vcr_bridge.py`` for everything vcrpy
patches) are installed process-wide while at least one session uses them, and ask
``capture_for_caller()`` on every request: the session of the calling context decides
whether it is recorded, replayed or passed through (no session, inside a step, or a host
in ``[tool.replay] ignore_hosts``). A request from a thread that did not inherit the
run's context is never the run's (``replay.boundary``): it passes through, and in replay
the hermetic guard refuses it at the socket without touching the run.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from replay.boundary import (
    Call,
    Mode,
    ReplayingSession,
    Session,
    active_session,
    current_session,
    open_modes,
    sessions_open,
)
from replay.cassette import Step
from replay.errors import Divergence, NetworkBlocked
from replay.hermetic import NetworkPolicy
from replay.http.exchange import (
    Described,
    WireRequest,
    WireResponse,
    decode_response,
    describe_request,
    encode_response,
)
from replay.http.options import HttpOptions
from replay.http.redact import Redactor, with_http_options
from replay.mcp import carries_mcp_traffic
from replay.on_miss import OnMiss

OFFLINE_REASON = "the request was not sent: replay is offline"


class HttpCapture:
    """One session's HTTP capture: its options, its redactor, and the step conversions."""

    def __init__(
        self, session: Session, options: HttpOptions, policy: NetworkPolicy | None = None
    ) -> None:
        self.session = session
        self.options = options
        self.policy = policy if policy is not None else NetworkPolicy()
        shared = getattr(session, "redactor", None)
        if shared is not None:
            # The run's redactor: values learned from headers here are scrubbed from the
            # whole cassette when it is written.
            shared.widen(with_http_options(shared.policy, options))
            self.redactor = shared
        else:
            self.redactor = Redactor(options)
        # Event streams passed on live whose step is not stored yet (replay.http.streaming).
        self._streams: set[Any] = set()
        self._streams_lock = threading.Lock()
        self.replaying = isinstance(session, ReplayingSession)
        self.defers: bool = getattr(session, "defers_http", False)
        """Whether steps keep requests and responses raw until written (``deferred``)."""

    def describe(self, request: WireRequest) -> Described:
        if self.defers:
            from replay.http import deferred

            return deferred.describe(request, self)
        # A replay stores no request, except the live answers of ``--on-miss live``,
        # which go into the derived cassette.
        session = self.session
        if isinstance(session, ReplayingSession):
            return describe_request(
                request,
                self.options,
                self.redactor,
                stored=session.on_miss is OnMiss.LIVE,
                plain_call=session.plain_call,
            )
        return describe_request(request, self.options, self.redactor)

    def encoder(self, described: Described) -> Callable[[WireResponse], tuple[Any, Any]]:
        if self.defers:
            from replay.http import deferred

            return deferred.encoder(described)
        return lambda response: encode_response(described, response, self.redactor)

    def decode(self, step: Step) -> WireResponse:
        return decode_response(step, cassette=self.session.cassette_path)

    def exchange(self, described: Described, live: Callable[[], WireResponse]) -> WireResponse:
        """Record ``live()`` as a step, or serve the step that answers it (``live`` only when
        an ``--on-miss live`` policy answers a call the recording does not hold)."""
        try:
            return self.session.call(
                described.call, live, encode=self.encoder(described), decode=self.decode
            )
        except Divergence as exc:
            raise offline_error(exc, described.call) from None

    def streams_opened(self, stream: Any) -> None:
        with self._streams_lock:
            self._streams.add(stream)

    def streams_closed(self, stream: Any) -> None:
        with self._streams_lock:
            self._streams.discard(stream)

    def end_streams(self) -> None:
        """Store the steps of streams still open as the run ends (what they received)."""
        from replay.http.streaming import RUN_ENDED

        with self._streams_lock:
            open_streams, self._streams = list(self._streams), set()
        for stream in open_streams:
            stream.closed(RUN_ENDED)

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


def capture_for_caller(
    host: str | None = None, port: int | None = None, path: str | None = None
) -> HttpCapture | None:
    """The capture of the session a request to ``host`` made here belongs to (None:
    send it as if no session were open: no session here, inside a step, or ignored)."""
    session = active_session()
    if carries_mcp_traffic():
        return None  # an MCP connection's traffic: the MCP seam records it
    if session is None:
        if path is not None and sessions_open() and current_session() is None:
            _warn_model_call_outside_the_run(path)
        return None
    capture = _captures.get(session)
    if capture is not None and host is not None and capture.policy.ignore.has_name(host, port):
        return None
    return capture


def _warn_model_call_outside_the_run(path: str) -> None:
    """A model call from a thread without the run's context while recording: the agent's
    own worker thread, most likely (background traffic is not a model call)."""
    from replay.http.wire import detect

    if Mode.RECORDING in open_modes() and detect(path) is not None:
        warnings.warn(
            f"a model call ({path}) was sent from a thread that does not carry the run's "
            "context (a plain threading.Thread, ThreadPoolExecutor.submit or "
            "loop.run_in_executor does not pass it on): it is not recorded, and replay "
            "will refuse it; submit the work with the run's context: "
            "ctx = contextvars.copy_context(); pool.submit(ctx.run, fn, *args)",
            RuntimeWarning,
            stacklevel=2,
        )


@contextmanager
def attached(capture: HttpCapture) -> Iterator[HttpCapture]:
    attach(capture)
    try:
        yield capture
    finally:
        detach(capture)


def attach(capture: HttpCapture) -> None:
    """Make ``capture`` the one requests of its session go through (until ``detach``)."""
    with _captures_lock:
        _captures[capture.session] = capture


def detach(capture: HttpCapture) -> None:
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
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        """Install the patch unless a session has already; ``release`` once for each."""
        with self._lock:
            if self._users == 0:
                self._undo = self._install()
            self._users += 1

    def release(self) -> None:
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
