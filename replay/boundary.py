"""The one seam every tool, LLM and clock/uuid/random call crosses.

Outside a session a boundary call is a plain call. Inside ``RecordingSession`` the real
function runs and its arguments, result or error and timing become a step. Inside
``ReplayingSession`` the real function never runs: the answer comes from the cassette
(or a ``Divergence`` is raised when there is none), and the call is appended to the
replay's own step history in the same shape, so both histories can be compared.

Only the outermost boundary call is a step: calls made inside a recorded tool (say an
HTTP request it sends) belong to that step's answer and are not recorded on their own.

Attribution: a call belongs to a run iff its context carries the run's session. The
session lives in a ``ContextVar``: asyncio tasks inherit it, and so do threads started
through ``contextvars.copy_context().run`` (``asyncio.to_thread``, ``anyio.to_thread``,
langchain's executor); a plain ``threading.Thread``, ``ThreadPoolExecutor.submit`` or
``loop.run_in_executor`` does not pass it on. Nothing is guessed: a call from a context
without the session is no step. Background traffic (trace exporters, telemetry) then
passes through live while recording and is refused in replay (``replay.hermetic``); a
``@replay.tool``/``@replay.llm`` called there while a run is open warns when recording
and raises ``SessionError`` in replay, naming the fix (propagate the context).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import enum
import functools
import hashlib
import importlib
import inspect
import random as _random
import threading
import time
import uuid as _uuid
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from replay.canonical import (
    argument_binder,
    callable_name,
    error_class_name,
    stable_hash,
    to_plain,
)
from replay.cassette import ErrorInfo, Step
from replay.errors import Divergence, ReplayedError, SessionError
from replay.matching import DEFAULT_POLICY, MatchOn, MatchPolicy, RecordedIndex
from replay.on_miss import AssumedCall, OnMiss

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

Encode = Callable[[Any], tuple[Any, Any]]
Decode = Callable[[Step], Any]


class Mode(enum.Enum):
    RECORDING = "recording"
    REPLAYING = "replaying"


@dataclass(frozen=True, slots=True)
class Call:
    """A boundary call as the matcher sees it: kind, name, plain args and their hash."""

    kind: str
    name: str
    args: Any
    args_hash: str
    policy: MatchPolicy = DEFAULT_POLICY

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.name, self.args_hash)

    @classmethod
    def of(cls, kind: str, name: str, args: Any, policy: MatchPolicy = DEFAULT_POLICY) -> Call:
        return cls.of_plain(kind, name, to_plain(args), policy)

    @classmethod
    def of_plain(
        cls, kind: str, name: str, plain: Any, policy: MatchPolicy = DEFAULT_POLICY
    ) -> Call:
        """A call whose args are already plain data (``to_plain`` output), not walked again."""
        return cls(kind, name, plain, stable_hash(plain), policy)


@dataclass(frozen=True, slots=True)
class DivergenceInfo:
    """Where a replay first asked for something the cassette does not hold."""

    step: int
    kind: str
    name: str
    reason: str
    nearest_step: int | None
    args_diff: tuple[str, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "name": self.name,
            "reason": self.reason,
            "nearest_step": self.nearest_step,
            "args_diff": list(self.args_diff),
        }


def span_id_for(trace_id: str, index: int | str) -> str:
    """Deterministic span ids, so a re-recorded run keeps its ids and histories align."""
    return hashlib.sha256(f"{trace_id}/{index}".encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _root_span_id(trace_id: str) -> str:
    """``span_id_for(trace_id, "root")``: every session asks, a replay for its cassette's
    trace id (a sha256 is a noticeable part of a session's setup)."""
    return span_id_for(trace_id, "root")


def _span_ids(known: dict[str, tuple[str, ...]], trace_id: str, count: int) -> tuple[str, ...]:
    """``span_id_for(trace_id, i)`` for i < ``count``, kept in ``known`` (the cassette's
    lookup tables: every replay of it asks for the same ids)."""
    ids = known.get(trace_id)
    if ids is None or len(ids) < count:
        ids = tuple(span_id_for(trace_id, index) for index in range(count))
        if len(known) >= 4:
            known.clear()
        known[trace_id] = ids
    return ids


def default_encode(value: Any) -> tuple[Any, Any]:
    return to_plain(value), None


def default_decode(step: Step) -> Any:
    return copy_plain(step.result)


def copy_plain(value: Any) -> Any:
    """Copy the containers of plain data, so an agent mutating an answer cannot change
    the cassette it came from (strings and numbers are immutable and shared)."""
    # Runs on every replayed answer: a shallow C copy of each container, then only its
    # dict and list entries replaced by their copies.
    kind = type(value)
    if kind is dict:
        copied = value.copy()
        for key, item in value.items():
            if type(item) not in _SHARED_LEAVES and isinstance(item, dict | list):
                copied[key] = copy_plain(item)
        return copied
    if kind is list:
        copied = value.copy()
        for position, item in enumerate(value):
            if type(item) not in _SHARED_LEAVES and isinstance(item, dict | list):
                copied[position] = copy_plain(item)
        return copied
    if isinstance(value, dict):
        return {k: copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_plain(v) for v in value]
    return value


_SHARED_LEAVES = frozenset({str, int, float, bool, type(None)})


class Session:
    """The step history of one run being recorded or replayed."""

    mode: Mode

    def __init__(self, *, trace_id: str, cassette_path: str | None = None) -> None:
        self.trace_id = trace_id
        self.root_span_id = _root_span_id(trace_id)
        self.cassette_path = cassette_path
        self._steps: list[Step | None] = []
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._tokens: list[contextvars.Token[Session | None]] = []
        # The run's ``replay.redact.Redactor`` (set by record/replaying): what is written,
        # and a replayed call's args, go through it.
        self.redactor: Any = None

    @property
    def history(self) -> tuple[Step, ...]:
        """The steps so far; a call still in flight is left out."""
        return tuple(step for step in self._steps if step is not None)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self._t0) * 1000.0, 3)

    def _reserve(self) -> int:
        with self._lock:
            self._steps.append(None)
            return len(self._steps) - 1

    def _store(self, step: Step) -> None:
        self._steps[step.index] = step

    def _new_step(
        self,
        index: int,
        call: Call,
        *,
        result: Any = None,
        error: ErrorInfo | None = None,
        started_at_ms: float = 0.0,
        latency_ms: float = 0.0,
        http: Any = None,
    ) -> Step:
        return Step(
            index=index,
            kind=call.kind,
            name=call.name,
            args=call.args,
            args_hash=call.args_hash,
            result=None if error is not None else result,
            error=error,
            started_at_ms=started_at_ms,
            latency_ms=latency_ms,
            span_id=span_id_for(self.trace_id, index),
            parent_span_id=self.root_span_id,
            http=http,
        )

    def _failed(self, index: int, call: Call, exc: Exception, started: float) -> Step:
        error = ErrorInfo(error_class_name(exc), str(exc))
        latency = round(self.elapsed_ms() - started, 3)
        http = getattr(exc, "__replay_http__", None)
        return self._new_step(
            index, call, error=error, started_at_ms=started, latency_ms=latency, http=http
        )

    def _succeeded(
        self, index: int, call: Call, value: Any, started: float, encode: Encode
    ) -> Step:
        latency = round(self.elapsed_ms() - started, 3)
        try:
            result, http = encode(value)
        except Exception as exc:
            failure = SessionError(
                f"{call.kind} '{call.name}' returned a value that cannot be recorded "
                f"({type(exc).__name__}: {exc}); fix its encode= function"
            )
            self._store(self._failed(index, call, failure, started))
            raise failure from exc
        return self._new_step(
            index, call, result=result, started_at_ms=started, latency_ms=latency, http=http
        )

    def make_call(self, kind: str, name: str, args: Any, policy: MatchPolicy) -> Call:
        """The ``Call`` for these args (``Call.of``; a replay may skip the work)."""
        return Call.of(kind, name, args, policy)

    def call(
        self,
        call: Call,
        live: Callable[[], T],
        *,
        encode: Encode = default_encode,
        decode: Decode = default_decode,
    ) -> T:
        raise NotImplementedError

    async def acall(
        self,
        call: Call,
        live: Callable[[], Awaitable[T]],
        *,
        encode: Encode = default_encode,
        decode: Decode = default_decode,
    ) -> T:
        raise NotImplementedError

    def __enter__(self) -> Session:
        with _active_lock:
            _active.append(self)
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._tokens.pop())
        with _active_lock:
            _active.remove(self)


class RecordingSession(Session):
    """Runs the real call and records it as a step."""

    mode = Mode.RECORDING

    def call(self, call, live, *, encode=default_encode, decode=default_decode):  # type: ignore[override]
        index = self._reserve()
        started = self.elapsed_ms()
        token = _inside.set(True)
        try:
            value = live()
        except Exception as exc:
            self._store(self._failed(index, call, exc, started))
            raise
        finally:
            _inside.reset(token)
        self._store(self._succeeded(index, call, value, started, encode))
        return value

    async def acall(self, call, live, *, encode=default_encode, decode=default_decode):  # type: ignore[override]
        index = self._reserve()
        started = self.elapsed_ms()
        token = _inside.set(True)
        try:
            value = await live()
        except Exception as exc:
            self._store(self._failed(index, call, exc, started))
            raise
        finally:
            _inside.reset(token)
        self._store(self._succeeded(index, call, value, started, encode))
        return value

    def reserve(self) -> tuple[int, float]:
        """Reserve the next step index and note the start time, for a call whose answer
        arrives elsewhere (JSON-RPC over streams); ``record_completed(index=...)`` fills
        the slot, which must happen (a reserved slot left empty is a hole in the history)."""
        return self._reserve(), self.elapsed_ms()

    def record_completed(
        self,
        call: Call,
        *,
        started_at_ms: float,
        result: Any = None,
        error: ErrorInfo | None = None,
        http: Any = None,
        index: int | None = None,
    ) -> Step:
        """Store a call whose live part ran outside ``call()`` and has just ended.

        For seams that only see a request start and end (vcrpy's stubs): the step takes
        the next index (completion order), or ``index`` from ``reserve()``, and is timed
        from ``started_at_ms``.
        """
        if index is None:
            index = self._reserve()
        latency = round(self.elapsed_ms() - started_at_ms, 3)
        step = self._new_step(
            index,
            call,
            result=result,
            error=error,
            started_at_ms=started_at_ms,
            latency_ms=latency,
            http=http,
        )
        self._store(step)
        return step


class ReplayingSession(Session):
    """Serves every call from the recorded steps; the real function never runs."""

    mode = Mode.REPLAYING

    def __init__(self, recorded: tuple[Step, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recorded = recorded
        self.index = RecordedIndex(recorded)
        self._span_ids = _span_ids(self.index.tables.span_ids, self.trace_id, len(recorded))
        self.divergences: list[DivergenceInfo] = []
        # Boundaries that ignore some args in matching: the diff ignores them too.
        self.policies: dict[tuple[str, str], MatchPolicy] = {}
        # The declared answer to a call the recording does not hold (replay.on_miss), and
        # the calls it answered.
        self.on_miss: OnMiss | None = None
        self.assumed: list[AssumedCall] = []

    def make_call(self, kind: str, name: str, args: Any, policy: MatchPolicy) -> Call:
        if policy.on is MatchOn.ARGS:
            # Args that are the very data of the next recorded call: its plain args and
            # hash are theirs (what Call.of would compute, without the work).
            same = self.index.same_args_step(kind, name, args)
            if same is not None:
                return Call(kind, name, same.args, same.args_hash, policy)
        call = Call.of(kind, name, args, policy)
        if self.redactor is None or (
            policy.on is MatchOn.ARGS and not policy.ignore and self.index.holds(call.key)
        ):
            return call  # recorded args are redacted already: these hold no secret
        clean = self.redactor.call_args(kind, name, call.args)
        return call if clean is call.args else Call.of_plain(kind, name, clean, policy)

    def plain_call(self, kind: str, name: str, plain: Any, policy: MatchPolicy) -> Call:
        """``Call.of_plain`` for args already plain and redacted: when they are the very
        data of the next recorded call of this kind and name (a faithful replay), its
        args and hash, without hashing (equal data has the equal hash)."""
        same = self.index.same_args_step(kind, name, plain)
        if same is not None:
            return Call(kind, name, same.args, same.args_hash, policy)
        return Call.of_plain(kind, name, plain, policy)

    def call(self, call, live, *, encode=default_encode, decode=default_decode):  # type: ignore[override]
        if self.on_miss is OnMiss.LIVE:
            index, recorded = self._take(call)
            if recorded is None and _can_go_live(live):
                return self._go_live(index, call, live, encode)
            return self._answer(index, call, recorded, decode)
        return self._serve(call, decode)

    async def acall(self, call, live, *, encode=default_encode, decode=default_decode):  # type: ignore[override]
        if self.on_miss is OnMiss.LIVE:
            index, recorded = self._take(call)
            if recorded is None and _can_go_live(live):
                return await self._ago_live(index, call, live, encode)
            return self._answer(index, call, recorded, decode)
        return self._serve(call, decode)

    def _serve(self, call: Call, decode: Decode) -> Any:
        index, recorded = self._take(call)
        return self._answer(index, call, recorded, decode)

    def _take(self, call: Call) -> tuple[int, Step | None]:
        """The call's step index and the recorded step that answers it (None: a miss)."""
        with self._lock:
            self._steps.append(None)
            index = len(self._steps) - 1
            if call.policy.ignore:
                self.policies[(call.kind, call.name)] = call.policy
            recorded = self.index.take(call.kind, call.name, call.args, call.args_hash, call.policy)
        return index, recorded

    def _answer(self, index: int, call: Call, recorded: Step | None, decode: Decode) -> Any:
        # Every replayed call runs this: the step built as _new_step builds it, without
        # two more method calls.
        if recorded is None:
            recorded = self._assumed_answer(index, call)
        error = recorded.error
        span_ids = self._span_ids
        span_id = span_ids[index] if index < len(span_ids) else span_id_for(self.trace_id, index)
        if (
            recorded.args is call.args
            and recorded.index == index
            and recorded.span_id == span_id
            and recorded.parent_span_id == self.root_span_id
            and recorded.kind == call.kind
            and recorded.name == call.name
            and recorded.args_hash == call.args_hash
            and (error is None or recorded.result is None)
        ):
            # A faithful call: the step built below would equal the recorded one, field
            # for field (its args are the recorded object: ``same_args_step``).
            self._steps[index] = recorded
        else:
            # Step's fields in order (positional: cheaper than keywords, on every call).
            self._steps[index] = Step(
                index,
                call.kind,
                call.name,
                call.args,
                call.args_hash,
                None if error is not None else recorded.result,
                error,
                recorded.started_at_ms,
                recorded.latency_ms,
                span_id,
                self.root_span_id,
                recorded.http,
            )
        if error is not None:
            raised = rebuild_error(error, step=recorded.index, cassette=self.cassette_path)
            if recorded.http is not None:
                # As a recorded failure carries its raw exchange (``__replay_http__``), so
                # does the replayed one: seams that answer a client with it need it back.
                with contextlib.suppress(AttributeError):
                    raised.__replay_http__ = recorded.http  # type: ignore[attr-defined]
            raise raised
        return decode(recorded)

    def _assumed_answer(self, index: int, call: Call) -> Step:
        """The recorded step the on-miss policy answers a miss with, noted as assumed; the
        divergence (raised) when there is no policy or it has no answer."""
        policy = self.on_miss
        if policy is None:
            raise self.diverge(index, call, reason="no recorded answer")
        what = f"{call.kind} '{call.name}'"
        with self._lock:
            if policy is OnMiss.NEAREST:
                step = self.index.answer_nearest(call.kind, call.name, call.args)
                missing = f"no recorded {what} call to take the nearest answer from"
            elif policy is OnMiss.REPEAT:
                step = self.index.answer_last(call.kind, call.name)
                missing = f"no recorded {what} call to repeat"
            elif policy is OnMiss.ERROR:
                step = self.index.answer_last(call.kind, call.name, failed=True)
                missing = f"no recorded error of {what} to raise"
            else:
                step = None
                missing = (
                    "this client's requests cannot be answered live in a replay (httpx, "
                    "httpx2 and @replay.tool/@replay.llm functions can)"
                )
            if step is not None:
                self.assumed.append(
                    AssumedCall(index, call.kind, call.name, policy.value, step.index)
                )
                return step
        raise self.diverge(
            index, call, reason=f"no recorded answer, and on-miss {policy.value}: {missing}"
        )

    def _go_live(self, index: int, call: Call, live: Callable[[], Any], encode: Encode) -> Any:
        """On-miss ``live``: run the real call (network allowed for it) and keep its
        answer as the step, as recording does."""
        from replay.hermetic import going_live

        started = self._live_start(index)
        t0 = self.elapsed_ms()
        token = _inside.set(True)
        try:
            with going_live():
                value = live()
        except Exception as exc:
            self._store_live(self._failed(index, call, exc, t0), started, call)
            raise
        finally:
            _inside.reset(token)
        self._store_live(self._succeeded(index, call, value, t0, encode), started, call)
        return value

    async def _ago_live(
        self, index: int, call: Call, live: Callable[[], Awaitable[Any]], encode: Encode
    ) -> Any:
        from replay.hermetic import going_live

        started = self._live_start(index)
        t0 = self.elapsed_ms()
        token = _inside.set(True)
        try:
            with going_live():
                value = await live()
        except Exception as exc:
            self._store_live(self._failed(index, call, exc, t0), started, call)
            raise
        finally:
            _inside.reset(token)
        self._store_live(self._succeeded(index, call, value, t0, encode), started, call)
        return value

    def _live_start(self, index: int) -> float:
        """A live step starts where the step before it ended (replayed steps keep their
        recorded timing; the live one is placed after them)."""
        last = self._steps[index - 1] if index > 0 else None
        return round(last.started_at_ms + last.latency_ms, 3) if last is not None else 0.0

    def _store_live(self, step: Step, started: float, call: Call) -> None:
        from dataclasses import replace

        self._store(replace(step, started_at_ms=started))
        with self._lock:
            self.assumed.append(
                AssumedCall(
                    step.index, call.kind, call.name, OnMiss.LIVE.value, None, _host_of(step.http)
                )
            )

    def diverge(
        self,
        index: int | None,
        call: Call,
        *,
        reason: str,
        error_type: type[Divergence] = Divergence,
        compare: bool = True,
    ) -> Divergence:
        """Record a divergence at ``index`` (a new step when None) and return the error.

        ``compare=False`` skips looking for the nearest recorded call (for attempts that
        resemble no recorded call, e.g. a blocked socket connection).
        """
        from replay.diff import describe_args_difference

        if index is None:
            index = self._reserve()
        nearest = self.index.nearest(call.kind, call.name, call.args) if compare else None
        lines = describe_args_difference(nearest.args, call.args) if nearest is not None else ()
        error = error_type(
            step=index,
            kind=call.kind,
            name=call.name,
            args=call.args,
            nearest=nearest,
            args_diff=tuple(lines),
            cassette=self.cassette_path,
            reason=reason,
        )
        info = DivergenceInfo(
            step=index,
            kind=call.kind,
            name=call.name,
            reason=reason,
            nearest_step=nearest.index if nearest is not None else None,
            args_diff=tuple(lines),
            message=str(error),
        )
        with self._lock:
            self.divergences.append(info)
        last = self._steps[index - 1] if index > 0 else None
        started = (last.started_at_ms + last.latency_ms) if last is not None else 0.0
        self._store(
            self._new_step(
                index,
                call,
                error=ErrorInfo(error_class_name(error_type), f"{reason}"),
                started_at_ms=round(started, 3),
            )
        )
        return error


def _can_go_live(live: Callable[[], Any]) -> bool:
    """Whether the seam can send this call live (vcrpy's bridge marks that it cannot)."""
    return not getattr(live, "__replay_no_live__", False)


def _host_of(http: Any) -> str | None:
    """The host:port of a live HTTP answer (its recorded request URL), else None."""
    from urllib.parse import urlsplit

    url = (http or {}).get("request", {}).get("url") if isinstance(http, dict) else None
    if not isinstance(url, str):
        return None
    return urlsplit(url).netloc or None


def rebuild_error(
    error: ErrorInfo, *, step: int | None = None, cassette: str | None = None
) -> BaseException:
    """The recorded error as an exception of its original class when it can be imported
    and built, else a ``ReplayedError`` carrying the class name and message."""
    rebuilt: BaseException | None = None
    module_name, _, qualname = error.error_class.rpartition(".")
    cls: Any = None
    if module_name:
        try:
            cls = importlib.import_module(module_name)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except Exception:
            cls = None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            rebuilt = cls(error.message)
        except Exception:
            try:
                rebuilt = cls.__new__(cls)
                rebuilt.args = (error.message,)
            except Exception:
                rebuilt = None
        if rebuilt is not None and not _prints(rebuilt, error.message):
            rebuilt = None  # half-built: printing it fails (a __str__ reading unset fields)
    if rebuilt is None:
        rebuilt = ReplayedError(error.error_class, error.message)
    where = f"step {step}" if step is not None else "the recording"
    source = f" of {cassette}" if cassette else ""
    rebuilt.add_note(f"agent-replay: error replayed from {where}{source}")
    return rebuilt


def _prints(rebuilt: BaseException, message: str) -> bool:
    """Give ``rebuilt`` the recorded message as its args; False when it cannot be printed.
    Its text may still differ from the message when its class prints other fields."""
    try:
        if str(rebuilt) != message:
            rebuilt.args = (message,)
            str(rebuilt)
    except Exception:
        return False
    return True


_current: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "replay_session", default=None
)
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("replay_inside_step", default=False)
_active: list[Session] = []
"""The sessions open in the process. Never used to attribute a call to a run; only to
tell a context-less call that runs are open (``_outside_every_run``)."""
_active_lock = threading.Lock()


def current_session() -> Session | None:
    """The session that a boundary call made here belongs to, or None (live): the one
    this context carries. A thread that did not inherit it belongs to no run."""
    return _current.get()


@contextlib.contextmanager
def inside_step() -> Iterator[None]:
    """Mark this context as inside a step whose live part a seam runs itself (a streamed
    HTTP response): calls made here belong to that step, not to the run."""
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def active_session() -> Session | None:
    """The session a new outermost boundary call would join: None when live or nested."""
    if _inside.get():
        return None
    return current_session()


def sessions_open() -> bool:
    """Whether any session is open in this process (a cheap test, without the lock)."""
    return bool(_active)


def open_modes() -> frozenset[Mode]:
    """The modes of the sessions open in this process (in any context)."""
    with _active_lock:
        return frozenset(session.mode for session in _active)


def _outside_every_run(kind: str, name: str) -> None:
    """A tool or model call from a context without a session while a run is open in the
    process: a thread that did not inherit the run's context. Never guessed into a run:
    in replay it cannot be served (raise), while recording it runs unrecorded (warn)."""
    replaying = Mode.REPLAYING in open_modes()
    what = (
        f"@replay.{kind} '{name}' was called from a thread that does not carry the run's "
        "context (a plain threading.Thread, ThreadPoolExecutor.submit or "
        "loop.run_in_executor does not pass it on), so it is not part of the run"
    )
    fix = (
        "submit it with the run's context: ctx = contextvars.copy_context(); "
        "pool.submit(ctx.run, fn, *args) (asyncio.to_thread does this for you)"
    )
    if replaying:
        raise SessionError(f"{what} and replay cannot serve it; {fix}")
    warnings.warn(f"{what}: it ran live and was not recorded; {fix}", RuntimeWarning, 3)


def boundary_call(
    kind: str,
    name: str,
    args: Any,
    live: Callable[[], T],
    *,
    policy: MatchPolicy = DEFAULT_POLICY,
    encode: Encode = default_encode,
    decode: Decode = default_decode,
) -> T:
    """Cross the boundary synchronously: live, recorded or replayed by the active session."""
    session = active_session()
    if session is None:
        return live()
    return session.call(Call.of(kind, name, args, policy), live, encode=encode, decode=decode)


async def async_boundary_call(
    kind: str,
    name: str,
    args: Any,
    live: Callable[[], Awaitable[T]],
    *,
    policy: MatchPolicy = DEFAULT_POLICY,
    encode: Encode = default_encode,
    decode: Decode = default_decode,
) -> T:
    """Cross the boundary from async code: live, recorded or replayed."""
    session = active_session()
    if session is None:
        return await live()
    return await session.acall(
        Call.of(kind, name, args, policy), live, encode=encode, decode=decode
    )


def _boundary_decorator(
    kind: str,
    fn: Callable[..., Any] | None,
    *,
    name: str | None,
    match: str | None,
    ignore: Iterable[str],
    encode: Callable[[Any], Any] | None,
    decode: Callable[[Any], Any] | None,
) -> Any:
    policy = MatchPolicy.of(match, ignore)
    step_encode: Encode = (
        default_encode if encode is None else (lambda v: (to_plain(encode(v)), None))
    )
    step_decode: Decode = (
        default_decode if decode is None else (lambda step: decode(copy_plain(step.result)))
    )

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        _require_plain_function(func, kind)
        step_name = name or callable_name(func)
        bind = argument_binder(inspect.signature(func), plain=False)  # make_call converts

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                session = active_session()
                if session is None:
                    if _active and _current.get() is None:
                        _outside_every_run(kind, step_name)
                    return await func(*args, **kwargs)
                call = session.make_call(kind, step_name, bind(args, kwargs), policy)
                return await session.acall(
                    call, lambda: func(*args, **kwargs), encode=step_encode, decode=step_decode
                )

            async_wrapper.__replay_boundary__ = (kind, step_name)  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            session = active_session()
            if session is None:
                if _active and _current.get() is None:
                    _outside_every_run(kind, step_name)
                return func(*args, **kwargs)
            call = session.make_call(kind, step_name, bind(args, kwargs), policy)
            return session.call(
                call, lambda: func(*args, **kwargs), encode=step_encode, decode=step_decode
            )

        wrapper.__replay_boundary__ = (kind, step_name)  # type: ignore[attr-defined]
        return wrapper

    return wrap(fn) if fn is not None else wrap


# Tool objects that agent frameworks' decorators build, and the decorator that builds them.
_FRAMEWORK_PACKAGES = ("agents", "langchain", "langchain_core", "pydantic_ai", "anthropic")
_FRAMEWORK_DECORATORS = {
    "FunctionTool": "@function_tool",
    "StructuredTool": "@tool",
    "Tool": "@agent.tool / @agent.tool_plain",
    "BetaFunctionTool": "@beta_tool",
    "BetaAsyncFunctionTool": "@beta_async_tool",
}


def _require_plain_function(func: Any, kind: str) -> None:
    """Refuse a framework's tool object: the boundary must wrap the plain function, and the
    framework's decorator go on top (else the framework cannot read its signature)."""
    cls = type(func)
    package = cls.__module__.partition(".")[0]
    framework_object = not inspect.isroutine(func) and package in _FRAMEWORK_PACKAGES
    if callable(func) and not framework_object:
        return
    label = getattr(func, "name", None) or getattr(func, "__name__", None) or "the function"
    decorator = _FRAMEWORK_DECORATORS.get(cls.__name__, "the framework's decorator")
    raise SessionError(
        f"@replay.{kind} was given a {cls.__module__}.{cls.__qualname__} ('{label}'), not a "
        f"function: put {decorator} on top and @replay.{kind} below it, directly above "
        f"'def {label}', so that @replay.{kind} wraps the plain function"
    )


@overload
def tool(fn: F, /) -> F: ...
@overload
def tool(
    *,
    name: str | None = None,
    match: str | None = None,
    ignore: Iterable[str] = (),
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> Callable[[F], F]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    match: str | None = None,
    ignore: Iterable[str] = (),
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> Any:
    """Mark a function (sync or async) as a tool: recorded, then served from the cassette.

    ``match``: "args" (default), "name" or "position"; ``ignore``: argument names left out
    of matching (e.g. a request id). ``encode`` turns a result into plain data for the
    cassette and ``decode`` turns it back, for tools that return richer objects.
    """
    return _boundary_decorator(
        "tool", fn, name=name, match=match, ignore=ignore, encode=encode, decode=decode
    )


@overload
def llm(fn: F, /) -> F: ...
@overload
def llm(
    *,
    name: str | None = None,
    match: str | None = None,
    ignore: Iterable[str] = (),
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> Callable[[F], F]: ...
def llm(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    match: str | None = None,
    ignore: Iterable[str] = (),
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> Any:
    """Mark a model call that is not spoken over HTTP (HTTP SDKs are captured by themselves).

    ``name`` is usually the model, e.g. ``@replay.llm(name="gpt-4o-mini")``; the options
    are those of ``tool``.
    """
    return _boundary_decorator(
        "llm", fn, name=name, match=match, ignore=ignore, encode=encode, decode=decode
    )


def now() -> _dt.datetime:
    """The current UTC time: recorded when recording, served when replaying."""
    return boundary_call(
        "clock",
        "now",
        {},
        lambda: _dt.datetime.now(_dt.UTC),
        encode=lambda value: (value.isoformat(), None),
        decode=lambda step: _dt.datetime.fromisoformat(step.result),
    )


def uuid4() -> _uuid.UUID:
    """A random UUID: recorded when recording, served when replaying."""
    return boundary_call(
        "uuid",
        "uuid4",
        {},
        _uuid.uuid4,
        encode=lambda value: (str(value), None),
        decode=lambda step: _uuid.UUID(step.result),
    )


def random() -> float:
    """A float in [0, 1): recorded when recording, served when replaying."""
    return boundary_call(
        "random",
        "random",
        {},
        _random.random,
        encode=lambda value: (value, None),
        decode=lambda step: float(step.result),
    )
