"""Recording a run into a cassette, and replaying a cassette through the real agent code.

Replay runs the production code path: the entrypoint is imported and called exactly as
in production, with only the source of boundary answers changed (Temporal's replayer is
the model). Results are frozen values; raising on a divergence is the caller's choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import importlib
import inspect
import os
import random as _random
import sys
import threading
import uuid as _uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replay.boundary import (
    DivergenceInfo,
    RecordingSession,
    ReplayingSession,
    Session,
    span_id_for,
)
from replay.canonical import error_class_name, to_plain
from replay.cassette import UNKNOWN, Cassette, ErrorInfo, Outcome, RunContext, Step
from replay.config import find_pyproject, pin, unpin
from replay.diff import HistoryDiff, diff_histories
from replay.errors import Divergence, EntrypointError, ReplayedError, SessionError
from replay.limits import max_steps_errors, stops_at_max_steps
from replay.matching import MatchPolicy, comparable_steps
from replay.on_miss import AssumedCall, OnMiss, parse_on_miss, require_network
from replay.redact import Redactor, load_policy
from replay.storage import load_cassette, save_cassette
from replay.timers import VirtualClock, virtual_time
from replay.timers import install as install_virtual_waits

# A record() block that ends without set_result() and without an exception says nothing
# about how the run ended: recording "completed" would be false evidence.
UNREPORTED_OUTCOME = Outcome(
    UNKNOWN,
    note="the recording ended without set_result() and without an exception: how the run "
    "ended was not reported",
)


UNREPORTED_REPLAY_OUTCOME = Outcome(
    UNKNOWN,
    note="the replaying() block ended without set_result() and without an exception: how "
    "the replay ended was not reported",
)


def outcome_from_return(value: Any) -> Outcome:
    """How a run ended, from the entrypoint's return value.

    A mapping with ``stop_reason`` reports it (with ``output`` and an optional ``error``:
    an exception, a {class, message} mapping, or text); anything else means completed.
    """
    if isinstance(value, Mapping) and "stop_reason" in value:
        return Outcome(
            stop_reason=str(value["stop_reason"]),
            output=to_plain(value.get("output")),
            error=_error_info(value.get("error"), value.get("error_class")),
        )
    return Outcome(stop_reason="completed", output=to_plain(value))


def outcome_from_exception(exc: BaseException) -> Outcome:
    """How a run ended when the entrypoint raised (``diverged`` for a replay divergence,
    ``max_steps`` for a loop limit: see ``replay.limits``)."""
    if isinstance(exc, Divergence):
        return Outcome("diverged", error=ErrorInfo(error_class_name(exc), str(exc).splitlines()[0]))
    if isinstance(exc, ReplayedError):
        # A recorded error whose class cannot be imported here: it is still that error.
        return Outcome(stop_reason="exception", error=ErrorInfo(exc.error_class, exc.message))
    # A framework's own loop limit (MaxTurnsExceeded, ...) is a max_steps ending.
    stop_reason = "max_steps" if stops_at_max_steps(exc) else "exception"
    return Outcome(stop_reason=stop_reason, error=ErrorInfo(error_class_name(exc), str(exc)))


def _error_info(error: Any, error_class: Any = None) -> ErrorInfo | None:
    if error is None:
        return ErrorInfo(str(error_class), "") if error_class else None
    if isinstance(error, BaseException):
        return ErrorInfo(error_class_name(error), str(error))
    if isinstance(error, Mapping):
        return ErrorInfo(
            str(error.get("class") or error_class or "error"), str(error.get("message") or "")
        )
    return ErrorInfo(str(error_class or "error"), str(error))


def import_entrypoint(entrypoint: str) -> Callable[..., Any]:
    """Import ``"module:function"`` (the function may be a dotted attribute path).

    The working folder is searched too, as ``python -m`` would, so ``replay run`` works
    from a project's root without installing it.
    """
    module_name, sep, attr_path = entrypoint.partition(":")
    if not sep or not module_name or not attr_path:
        raise EntrypointError(
            f"entrypoint {entrypoint!r} is not of the form 'module:function' "
            "(e.g. 'support_agent:run')"
        )
    _search_working_folder()
    add_project_root(os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise EntrypointError(
                f"cannot import module '{module_name}' of entrypoint '{entrypoint}' "
                f"(no module named '{exc.name}'); run from the project's root or install it"
            ) from exc
        raise EntrypointError(
            f"importing '{module_name}' for entrypoint '{entrypoint}' failed: {exc}; "
            "install the missing package"
        ) from exc
    except Exception as exc:
        raise EntrypointError(
            f"importing '{module_name}' for entrypoint '{entrypoint}' raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise EntrypointError(
                f"module '{module_name}' has no attribute '{attr_path}' "
                f"(entrypoint '{entrypoint}'); check the function's name"
            ) from None
    if not callable(target):
        raise EntrypointError(f"entrypoint '{entrypoint}' is not callable")
    return target


def _search_working_folder() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def import_recorded_entrypoint(
    entrypoint: str, *, source: str | os.PathLike[str] | None
) -> Callable[..., Any]:
    """Import an entrypoint named by a file (a cassette's ``run.entrypoint``, a scenario's
    ``agent``) only when it is the user's own agent code: see ``replay.entrypoints``."""
    from replay.entrypoints import import_checked

    where = str(source) if source is not None else None
    _search_working_folder()
    return import_checked(entrypoint, source=where, importer=import_entrypoint)


def add_project_root(start: str | os.PathLike[str] | None) -> Path | None:
    """Put the project root (the folder of the nearest ``pyproject.toml`` at or above
    ``start``) on ``sys.path``, as pytest's rootdir does, so ``pkg.agent`` imports from a
    sub-folder or from elsewhere. Returns the root (None when there is no pyproject)."""
    if start is None:
        return None
    found = find_pyproject(start)
    if found is None:
        return None
    root = str(found.parent)
    if root not in sys.path:
        sys.path.append(root)
    return found.parent


def call_entrypoint(fn: Callable[..., Any], input: Any) -> Any:
    """Call an entrypoint with its recorded input: a mapping as keyword arguments, None as
    no arguments, anything else as the one argument. Coroutines are run to completion."""
    if input is None:
        result = fn()
    elif isinstance(input, Mapping):
        result = fn(**input)
    else:
        result = fn(input)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


class _NetworkSeams:
    """Capture (recording) or serve and block (replaying) HTTP traffic and MCP servers
    for ``session`` while the ``with`` block runs.

    Installing them leaves the process's global ``random`` as it was: the first session
    of a process imports vcrpy, which imports httpx and rich, and rich draws from the
    global generator at import, so an agent seeded with ``random.seed(7)`` would get
    other numbers the first time it was recorded than when run live. Only in a process
    with one thread: other threads share that generator in whatever order they run, and
    rewinding it could hand them the same numbers twice.

    A class, not a generator: every session enters it (what ``with intercept(session),
    mcp.seam(session)`` would do, in the same order, without the generators).
    """

    __slots__ = ("_capture", "_session")

    def __init__(self, session: Session) -> None:
        self._session = session
        self._capture: Any = None

    def __enter__(self) -> None:
        session = self._session
        watch = _ImportWatch()
        sys.meta_path.insert(0, watch)
        modules = len(sys.modules)
        try:
            mcp, open_capture, _ = _seam_parts()
            if open_capture is not None:
                self._capture = open_capture(session)
            try:
                mcp.open_seam(session)
                try:
                    _keep_random(watch.state, modules)
                except BaseException:
                    mcp.close_seam(session)
                    raise
            except BaseException:
                self._close_capture()
                raise
        finally:
            if watch in sys.meta_path:
                sys.meta_path.remove(watch)

    def __exit__(self, *exc_info: object) -> None:
        try:
            _seam_parts()[0].close_seam(self._session)
        finally:
            self._close_capture()

    def _close_capture(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            _seam_parts()[2](capture)


_network_seams = _NetworkSeams
"""``with _network_seams(session):`` (recording, replaying, capture)."""

_seam_modules: tuple[Any, ...] = ()


def _seam_parts() -> tuple[Any, ...]:
    """``replay.mcp`` and the HTTP capture's open/close (None without ``replay.http``),
    imported on the first session (``import replay`` stays cheap) and then kept."""
    global _seam_modules
    if _seam_modules:
        return _seam_modules
    from replay import mcp

    try:
        from replay.http import close_capture, open_capture
    except ImportError:
        return mcp, None, None
    _seam_modules = (mcp, open_capture, close_capture)
    return _seam_modules


class _ImportWatch:
    """First on ``sys.meta_path`` while the seams are installed: asked before any module
    is imported, it saves the global ``random``'s state then (in a process with one
    thread), so a setup that imports nothing (every session after the first) does not
    copy the generator's 625 words."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: Any = None

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if self.state is None and threading.active_count() == 1:
            self.state = _random.getstate()


def _keep_random(state: Any, modules: int) -> None:
    """Put the global generator back to ``state`` when a module was imported meanwhile."""
    if state is not None and len(sys.modules) != modules:
        _random.setstate(state)


@dataclass
class Recording:
    """What ``record()`` yields: report the run's return value with ``set_result``."""

    path: Path
    context: RunContext
    session: RecordingSession
    outcome: Outcome | None = None
    cassette: Cassette | None = None

    def set_result(self, value: Any) -> None:
        """Report how the run ended (see ``outcome_from_return``)."""
        self.outcome = outcome_from_return(value)


def _new_context(
    *,
    run_id: str | None,
    trace_id: str | None,
    entrypoint: str | None,
    input: Any,
    release: str | None,
    workflow: str | None,
    model: str | None,
) -> RunContext:
    run_id = run_id or f"run_{_uuid.uuid4().hex[:12]}"
    trace_id = trace_id or span_id_for(run_id, "trace") + span_id_for(run_id, "trace2")
    return RunContext(
        run_id=run_id,
        trace_id=trace_id,
        entrypoint=entrypoint,
        input=to_plain(input),
        release=release,
        workflow=workflow,
        model=model,
        recorded_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


@contextlib.contextmanager
def record(
    path: str | os.PathLike[str],
    *,
    entrypoint: str | None = None,
    input: Any = None,
    run_id: str | None = None,
    trace_id: str | None = None,
    release: str | None = None,
    workflow: str | None = None,
    model: str | None = None,
) -> Iterator[Recording]:
    """Record the run inside the ``with`` block into the cassette at ``path``.

    The cassette is written (atomically) when the block ends, also when it raises: a
    failing run is exactly the evidence wanted; the exception then propagates. Report how
    the run ended with ``set_result``: a block left without it and without an exception
    records ``stop_reason: unknown``, not ``completed``.
    """
    context = _new_context(
        run_id=run_id,
        trace_id=trace_id,
        entrypoint=entrypoint,
        input=input,
        release=release,
        workflow=workflow,
        model=model,
    )
    session = RecordingSession(trace_id=context.trace_id, cassette_path=str(path))
    session.redactor = Redactor(load_policy())
    session.redactor.learn_fields(context.input)
    recording = Recording(path=Path(path), context=context, session=session)
    _refuse_nesting()
    max_steps_errors()  # a malformed [tool.replay] fails here, not after the run
    raised: BaseException | None = None
    try:
        with session, _network_seams(session):
            yield recording
    except BaseException as exc:  # Ctrl-C too: the cassette must not say "completed"
        raised = exc
        raise
    finally:
        if raised is not None:
            outcome = outcome_from_exception(raised)
        else:
            outcome = recording.outcome or UNREPORTED_OUTCOME
        # One redaction pass over everything written, with every secret the run showed.
        recording.cassette = session.redactor.cassette(
            _finish_cassette(context, session.history, outcome)
        )
        _mark_plain_args(recording.cassette.steps)
        save_cassette(recording.cassette, path)


def _mark_plain_args(steps: tuple[Step, ...]) -> None:
    """Let a replay of the in-memory recording (the pytest plugin's) take the fast path
    a loaded cassette takes: each step's hash was computed from its plain args (or
    again after redaction changed them); the args are checked to be plain here."""
    from replay.canonical import is_plain
    from replay.cassette import mark_args_checked

    if all(is_plain(step.args) for step in steps):
        mark_args_checked(steps)


def _finish_cassette(context: RunContext, steps: tuple[Step, ...], outcome: Outcome) -> Cassette:
    if context.model is None:
        model = next((s.name for s in steps if s.kind == "llm"), None)
        if model is not None:
            context = RunContext(**{**_fields(context), "model": model})
    return Cassette(context=context, steps=steps, outcome=outcome)


def _fields(context: RunContext) -> dict[str, Any]:
    return {name: getattr(context, name) for name in RunContext.__slots__}


def _refuse_nesting() -> None:
    from replay.boundary import current_session

    if current_session() is not None:
        raise SessionError(
            "a recording or replay is already active here; agent-replay records one run "
            "at a time per context (end the outer one first)"
        )


def record_run(
    entrypoint: str,
    path: str | os.PathLike[str],
    *,
    input: Any = None,
    run_id: str | None = None,
    trace_id: str | None = None,
    release: str | None = None,
    workflow: str | None = None,
    model: str | None = None,
) -> Cassette:
    """Import and run ``entrypoint`` live on ``input`` and record it; returns the cassette.

    An exception from the agent is part of the evidence (``stop_reason: exception``), not
    an error of this function.
    """
    fn = import_entrypoint(entrypoint)
    with record(
        path,
        entrypoint=entrypoint,
        input=input,
        run_id=run_id,
        trace_id=trace_id,
        release=release,
        workflow=workflow,
        model=model,
    ) as recording:
        # Only the agent's exception is evidence; one from recording itself (a cassette
        # that cannot be written) must propagate, not leave an old file to be read back.
        try:
            recording.set_result(call_entrypoint(fn, input))
        except Exception as exc:
            recording.outcome = outcome_from_exception(exc)
    return load_cassette(path)


@dataclass(frozen=True)
class ReplayResult:
    """One replay of a cassette: the new history and outcome, and their comparison.

    ``divergence`` is the first call the cassette held no answer for (None when every
    call was served); ``unserved`` lists recorded steps the new code never asked for;
    ``virtual_wait_s`` is the time the agent asked to wait and did not (replay.timers);
    ``on_miss`` the declared policy and ``assumed`` the calls it answered (replay.on_miss).
    """

    cassette: Cassette
    agent: str
    history: tuple[Step, ...]
    outcome: Outcome
    diff: HistoryDiff
    divergence: DivergenceInfo | None = None
    divergences: tuple[DivergenceInfo, ...] = ()
    unserved: tuple[int, ...] = field(default=())
    policies: Mapping[tuple[str, str], MatchPolicy] = field(default_factory=dict)
    virtual_wait_s: float = 0.0
    approximations: tuple[str, ...] = ()
    on_miss: str | None = None
    assumed: tuple[AssumedCall, ...] = ()

    @property
    def diverged(self) -> bool:
        return self.divergence is not None

    @property
    def identical(self) -> bool:
        """Same calls, same answers, same ending as the recording."""
        return not self.diverged and self.diff.identical

    def raise_for_divergence(self) -> None:
        """Raise ``Divergence`` with the first divergence's message, if there was one."""
        if self.divergence is not None:
            info = self.divergence
            raise Divergence(
                step=info.step,
                kind=info.kind,
                name=info.name,
                args=None,
                nearest=self.cassette.steps[info.nearest_step]
                if info.nearest_step is not None
                else None,
                args_diff=info.args_diff,
                cassette=self.cassette.path,
                reason=info.reason,
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cassette": self.cassette.path,
            "run_id": self.cassette.run_id,
            "agent": self.agent,
            "outcome": self.outcome.to_dict(),
            "steps": len(self.history),
            "divergence": self.divergence.to_dict() if self.divergence else None,
            "unserved": list(self.unserved),
            "virtual_wait_s": self.virtual_wait_s,
            "approximations": list(self.approximations),
            "on_miss": self.on_miss,
            "assumed_calls": [call.to_dict() for call in self.assumed],
            "diff": self.diff.to_dict(),
        }


def replay(
    cassette: str | os.PathLike[str] | Cassette,
    *,
    agent: str | Callable[..., Any] | None = None,
    on_miss: OnMiss | str | None = None,
    allow_network: bool = False,
) -> ReplayResult:
    """Re-drive an agent against a cassette: every boundary call is served from it.

    ``agent`` defaults to the cassette's recorded entrypoint, which is only run when it
    is the user's own code (``replay.entrypoints``); pass another ``"module:function"``
    (or a callable) to run other code, e.g. a fix, against the same recorded world. No
    network: an HTTP request not in the cassette is a divergence, unless ``on_miss``
    declares how to answer it (``replay.on_miss``; ``live`` needs ``allow_network``).
    """
    policy = parse_on_miss(on_miss)
    require_network(policy, allow_network=allow_network)
    original = cassette if isinstance(cassette, Cassette) else load_cassette(cassette)
    install_virtual_waits()  # before the agent's modules import their sleeps
    if original.path:
        add_project_root(Path(original.path).parent)  # the cassette's project
    if agent is None:
        agent_name = recorded_entrypoint(original)
        fn = import_recorded_entrypoint(agent_name, source=original.path or "the cassette")
    elif isinstance(agent, str):
        agent_name, fn = agent, import_entrypoint(agent)
    else:
        agent_name, fn = f"{agent.__module__}:{agent.__qualname__}", agent
    with replaying(original, on_miss=policy) as replayed:
        try:
            replayed.set_result(call_entrypoint(fn, original.context.input))
        except Exception as exc:
            replayed.set_exception(exc)
    assert replayed.result is not None
    return _with_agent(replayed.result, agent_name)


_NAME_THE_AGENT = (
    "name the code to replay: agent='module:function' in Python, --agent module:function "
    "on the command line"
)


def recorded_entrypoint(cassette: Cassette, *, remedy: str = _NAME_THE_AGENT) -> str:
    """The entrypoint the cassette recorded; ``EntrypointError`` saying ``remedy`` (the
    caller's way to name the code, e.g. the CLI's ``--agent``) when it records none."""
    if not cassette.context.entrypoint:
        raise EntrypointError(
            f"{cassette.path}: the cassette records no entrypoint (field 'run.entrypoint'); "
            f"{remedy}"
        )
    return cassette.context.entrypoint


def _with_agent(result: ReplayResult, agent: str) -> ReplayResult:
    return ReplayResult(**{**result.__dict__, "agent": agent})


@dataclass
class Replaying:
    """What ``replaying()`` yields; ``result`` is filled in when the block ends."""

    cassette: Cassette
    session: ReplayingSession
    outcome: Outcome | None = None
    result: ReplayResult | None = None

    def set_result(self, value: Any) -> None:
        self.outcome = outcome_from_return(value)

    def set_exception(self, exc: BaseException) -> None:
        self.outcome = outcome_from_exception(exc)


@contextlib.contextmanager
def replaying(
    cassette: str | os.PathLike[str] | Cassette, *, on_miss: OnMiss | str | None = None
) -> Iterator[Replaying]:
    """Serve every boundary call in the block from ``cassette`` (for tests and harnesses).

    When the block ends, ``.result`` holds the ``ReplayResult``: its outcome is the one
    ``set_result``/``set_exception`` reported, else ``unknown`` (a block that does not say
    how the run ended is not taken to end as recorded). ``on_miss`` answers calls the
    cassette does not hold (``replay.on_miss``; the caller allows ``live`` its network).
    """
    original = cassette if isinstance(cassette, Cassette) else load_cassette(cassette)
    policy = parse_on_miss(on_miss)
    _refuse_nesting()
    pinned: Any = pin()  # the setup reads several settings of one pyproject.toml
    try:
        max_steps_errors()  # a malformed [tool.replay] fails here, not after the run
        session = _replaying_session(original)
        session.on_miss = policy
        session.redactor = Redactor(load_policy())
        state = Replaying(cassette=original, session=session)
        clock = VirtualClock()
        try:
            with session, _network_seams(session), virtual_time() as clock:
                unpin(pinned)
                pinned = None
                yield state
        except Exception as exc:
            state.set_exception(exc)
            raise
        finally:
            state.result = _result_of(original, session, state.outcome, clock)
    finally:
        if pinned is not None:
            unpin(pinned)


def _replaying_session(cassette: Cassette) -> ReplayingSession:
    """The session serving a replay; runs imported from traces match tolerantly."""
    if cassette.provenance is not None:
        from replay.otel.replaying import ImportedSession, is_imported

        if is_imported(cassette):
            return ImportedSession(cassette)
    return ReplayingSession(
        cassette.steps, trace_id=cassette.context.trace_id, cassette_path=cassette.path
    )


def _assumed_in_baseline(
    original: Cassette, session: ReplayingSession, unserved: tuple[int, ...]
) -> tuple[str, ...]:
    from replay.rerecord import assumed_in_baseline

    left = set(unserved)
    served = [step.index for step in original.steps if step.index not in left]
    return assumed_in_baseline(original, served)


def _result_of(
    original: Cassette, session: ReplayingSession, outcome: Outcome | None, clock: VirtualClock
) -> ReplayResult:
    history = session.history
    if outcome is None:
        outcome = UNREPORTED_REPLAY_OUTCOME
    elif session.redactor is not None:
        # Compared with the recorded (redacted) outcome, and written into reports.
        outcome = session.redactor.outcome(outcome)
    divergences = session.divergences
    if divergences and outcome.stop_reason != "diverged":
        first = divergences[0]
        outcome = Outcome(
            stop_reason="diverged",
            output=outcome.output,
            error=ErrorInfo(error_class_name(Divergence), first.message.splitlines()[0]),
        )
    policies = session.policies
    recorded: Sequence[Step] = original.steps
    replayed: Sequence[Step] = history
    if policies:
        recorded = comparable_steps(recorded, policies)
        replayed = comparable_steps(replayed, policies)
    left = session.index.unserved()
    unserved = tuple(step.index for step in left) if left else ()
    approximations = getattr(session, "approximations", ())
    if original.provenance is not None:
        approximations = (*approximations, *_assumed_in_baseline(original, session, unserved))
    return ReplayResult(
        cassette=original,
        agent=original.context.entrypoint or "",
        history=history,
        outcome=outcome,
        diff=diff_histories(
            recorded, replayed, original_outcome=original.outcome, new_outcome=outcome
        ),
        divergence=divergences[0] if divergences else None,
        divergences=tuple(divergences),
        unserved=unserved,
        policies=dict(policies),
        virtual_wait_s=round(clock.waited_s, 6),
        approximations=tuple(approximations),
        on_miss=session.on_miss.value if session.on_miss is not None else None,
        assumed=tuple(sorted(session.assumed, key=_step_of)) if session.assumed else (),
    )


def _step_of(call: AssumedCall) -> int:
    return call.step
