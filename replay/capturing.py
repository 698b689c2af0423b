"""Production capture: every run recorded in memory, the failing ones written as cassettes.

(The module is ``capturing``: a submodule named ``capture`` would replace the function
``replay.capture`` on the package once imported.)

``replay.capture(folder, keep="failed", sample=0.01, run_id=..., ...)`` wraps one run of
an agent served in production (sync ``with`` or ``async with``). Many runs at once in
one process are captured independently: a call belongs to the run whose context it is
made from (``replay.boundary``: asyncio tasks and ``contextvars.copy_context().run``
inherit it); a thread without that context belongs to no run and is never guessed into
one.

When the block ends the keep policy decides, on the request path and in constant time,
whether the run is written: ``keep="failed"`` keeps runs that did not complete (a
``stop_reason`` other than ``completed``, an exception, an unknown ending), ``"all"``
every run, and ``sample`` that fraction of the healthy runs (golden-set candidates, in a
``sampled/`` folder). A kept run goes to a bounded queue; one background thread redacts,
serialises and writes it (``<folder>/<YYYY-MM-DD>/<run_id>.yaml``, never over another
file). A full queue drops the cassette and counts it; a recorder failure (a value that
cannot be recorded, a redaction hook that raises, a full disk) is logged and counted,
never raised into the agent. ``capture_stats()`` reads the counters.

When an OpenTelemetry span is active (``opentelemetry`` already imported by the app), the
cassette's ``trace_id`` is that trace's id and each step keeps the span id of the span
active at its call. The line logged for each written cassette (logger
``replay.capture``) names the run, the trace and the file in ``extra``.

Configuration, ``[tool.replay.capture]`` in pyproject.toml (arguments win)::

    dir = "incidents"      # where cassettes go
    keep = "failed"        # or "all"
    sample = 0.01          # fraction of healthy runs kept as golden-set candidates
    queue_size = 64        # cassettes waiting for the writer; more are dropped
    release = "2026.11.3"
    workflow = "support"

Imports only the core dependencies (PyYAML and vcrpy, through the HTTP seams).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import errno
import logging
import os
import queue
import random as _random
import sys
import tempfile
import threading
import time
import uuid as _uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from replay.boundary import Call, RecordingSession, current_session
from replay.canonical import error_class_name
from replay.cassette import UNKNOWN, Cassette, ErrorInfo, Outcome, RunContext, Step
from replay.config import ConfigError, find_pyproject, per_version, section

log = logging.getLogger("replay.capture")

KEEP_CHOICES = ("failed", "all")
DEFAULT_QUEUE_SIZE = 64
DROP_LOG_INTERVAL_S = 10.0
EXIT_FLUSH_S = 5.0
SAMPLED_FOLDER = "sampled"
_SETTING_KEYS = frozenset({"dir", "keep", "sample", "queue_size", "release", "workflow"})

UNREPORTED = Outcome(
    UNKNOWN,
    note="the capture block ended without set_result() and without an exception: how the "
    "run ended was not reported",
)


# --- settings ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """``[tool.replay.capture]`` with the defaults filled in."""

    dir: str | None = None
    keep: str = "failed"
    sample: float = 0.0
    queue_size: int = DEFAULT_QUEUE_SIZE
    release: str | None = None
    workflow: str | None = None
    where: str = "[tool.replay.capture]"


def check_keep(keep: Any, where: str) -> str:
    if keep not in KEEP_CHOICES:
        raise ConfigError(f"{where}: keep = {keep!r} is not one of {', '.join(KEEP_CHOICES)}")
    return str(keep)


def check_sample(sample: Any, where: str) -> float:
    if isinstance(sample, bool) or not isinstance(sample, int | float) or not 0 <= sample <= 1:
        raise ConfigError(f"{where}: sample = {sample!r} is not a fraction between 0 and 1")
    return float(sample)


def settings_of(table: Mapping[str, Any], where: str) -> CaptureSettings:
    """Settings from a ``[tool.replay.capture]`` table; a bad value is one ``ConfigError``."""
    unknown = sorted(set(table) - _SETTING_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; "
            f"expected one of {', '.join(sorted(_SETTING_KEYS))}"
        )
    queue_size = table.get("queue_size", DEFAULT_QUEUE_SIZE)
    if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
        raise ConfigError(f"{where}: queue_size = {queue_size!r} is not a whole number >= 1")
    texts = {}
    for name in ("dir", "release", "workflow"):
        value = table.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {name} = {value!r} is not text")
        texts[name] = value
    return CaptureSettings(
        keep=check_keep(table.get("keep", "failed"), where),
        sample=check_sample(table.get("sample", 0.0), where),
        queue_size=queue_size,
        where=where,
        **texts,
    )


_settings_cache: dict[tuple[str, int, int], CaptureSettings] = {}


def load_settings(start: str | os.PathLike[str] | None = None) -> CaptureSettings:
    """The project's ``[tool.replay.capture]`` (defaults without a pyproject.toml)."""
    path = find_pyproject(start)
    if path is None:
        return CaptureSettings()
    return per_version(
        _settings_cache,
        path,
        lambda: settings_of(section("capture", path.parent), f"{path} [tool.replay.capture]"),
    )


# --- counters and the writer -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """What capture did since the process started (or the writer was made).

    ``runs``: capture blocks ended; ``written``: cassettes on disk (``failed`` + ``all`` +
    ``sampled`` by reason); ``discarded``: healthy runs not kept; ``dropped_queue_full``:
    kept runs lost because the writer's queue was full; ``recorder_errors``: runs whose
    recording failed (unrecordable value, seam or redaction failure); ``write_errors``:
    cassettes the writer could not write (disk full, permissions); ``pending``: queued.
    """

    runs: int = 0
    written: int = 0
    failed: int = 0
    all: int = 0
    sampled: int = 0
    discarded: int = 0
    dropped_queue_full: int = 0
    recorder_errors: int = 0
    write_errors: int = 0
    pending: int = 0


@dataclass(frozen=True, slots=True)
class _Job:
    folder: Path
    reason: str
    context: RunContext
    steps: tuple[Step, ...]
    outcome: Outcome
    redactor: Any
    started: _dt.datetime


WriteFn = Callable[[Cassette, Path], Path]


class CaptureWriter:
    """One background thread writing kept runs from a bounded queue.

    ``put`` never blocks: a full queue drops the cassette (counted). ``write`` is the I/O
    seam (``write_new``: atomic, never over an existing file); tests and benchmarks pass
    a plain function. The thread is a daemon started on first use; ``flush`` waits for
    the queue to empty (tests, shutdown hooks).
    """

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE, write: WriteFn | None = None):
        self.queue_size = queue_size
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=queue_size)
        self._write = write or write_new
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._counts: dict[str, int] = dict.fromkeys(CaptureStats.__slots__, 0)
        self._thread: threading.Thread | None = None
        self._unlogged_drops = 0
        self._last_drop_log = -DROP_LOG_INTERVAL_S

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def stats(self) -> CaptureStats:
        with self._lock:
            return CaptureStats(**self._counts)

    def put(self, job: _Job) -> bool:
        """Queue a kept run; False (and counted) when the queue is full."""
        self._start()
        with self._lock:
            self._counts["pending"] += 1
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            now = time.monotonic()
            with self._lock:
                self._counts["pending"] -= 1
                self._counts["dropped_queue_full"] += 1
                self._unlogged_drops += 1
                self._idle.notify_all()
                # One line per interval while saturated: logging every drop would itself
                # slow the requests down.
                due = now - self._last_drop_log >= DROP_LOG_INTERVAL_S
                if due:
                    dropped, self._unlogged_drops, self._last_drop_log = (
                        self._unlogged_drops,
                        0,
                        now,
                    )
            if due:
                log.warning(
                    "capture: queue full (%d cassettes waiting); dropped the cassette of run "
                    "%s (%d dropped since the last such line)",
                    self.queue_size,
                    job.context.run_id,
                    dropped,
                    extra=_fields(job, None),
                )
            return False
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued cassette is written or failed; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._counts["pending"]:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="replay-capture-writer", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            outcome = "write_errors"
            try:
                path = self._write(_cassette_of(job), _target(job))
            except _BuildFailed as exc:
                outcome = "recorder_errors"
                log.error(
                    "capture: run %s not written: %s",
                    job.context.run_id,
                    exc.cause,
                    extra=_fields(job, None),
                )
            except Exception as exc:
                log.error(
                    "capture: run %s not written: %s: %s",
                    job.context.run_id,
                    type(exc).__name__,
                    exc,
                    extra=_fields(job, None),
                )
            else:
                outcome = "written"
                log.info(
                    "capture: wrote %s (run %s, %s, trace %s)",
                    path,
                    job.context.run_id,
                    job.reason,
                    job.context.trace_id,
                    extra=_fields(job, path),
                )
            with self._idle:
                self._counts[outcome] += 1
                if outcome == "written":
                    self._counts[job.reason] += 1
                self._counts["pending"] -= 1
                self._idle.notify_all()


class _BuildFailed(Exception):
    """Building the cassette failed (not writing it): a recorder error."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _fields(job: _Job, path: Path | None) -> dict[str, Any]:
    """The structured ``extra`` of a log line about a run's cassette."""
    return {
        "replay_run_id": job.context.run_id,
        "replay_trace_id": job.context.trace_id,
        "replay_reason": job.reason,
        "replay_stop_reason": job.outcome.stop_reason,
        "replay_cassette": str(path) if path is not None else None,
    }


def _cassette_of(job: _Job) -> Cassette:
    """The run's cassette as ``replay.record`` writes it: HTTP steps kept raw described
    and encoded (``replay.http.deferred``), then one redaction pass over everything."""
    from replay.engine import _finish_cassette

    try:
        steps = job.steps
        if any(type(step.args).__name__ == "DeferredRequest" for step in steps):
            from replay.http.deferred import resolve

            steps = resolve(steps)
        cassette = _finish_cassette(job.context, steps, job.outcome)
        return cassette if job.redactor is None else job.redactor.cassette(cassette)
    except Exception as exc:  # the project's redact hook, a value the rules cannot walk
        raise _BuildFailed(exc) from exc


def _target(job: _Job) -> Path:
    folder = job.folder / job.started.strftime("%Y-%m-%d")
    if job.reason == "sampled":
        folder = folder / SAMPLED_FOLDER
    return folder / f"{safe_name(job.context.run_id)}.yaml"


def safe_name(run_id: str) -> str:
    """A run id as a file name (path separators and odd characters become ``_``)."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id).lstrip(".")
    return name[:120] or "run"


def write_new(cassette: Cassette, path: Path) -> Path:
    """Write ``cassette`` at ``path``, or at ``<stem>-2.yaml``, ``-3``... when taken.

    Atomic and never over an existing file: the text goes to a temp file (fsynced), then
    is hard-linked at the first free name (a link fails when the name exists, so two
    processes writing into one folder cannot overwrite each other).
    """
    from replay.storage import _file_mode, dumps

    text = dumps(cassette)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):  # mkstemp gives 0600; a plain file gets the umask's
            os.chmod(tmp, _file_mode())
        for attempt in range(1, 10_000):
            target = path if attempt == 1 else path.with_name(f"{path.stem}-{attempt}{path.suffix}")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                    raise
                if not _claim(target):  # no hard links here: reserve the name, then rename
                    continue
                os.replace(tmp, target)
            return target
        raise FileExistsError(errno.EEXIST, "no free name", str(path))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _claim(target: Path) -> bool:
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    return True


_default_writer: CaptureWriter | None = None
_default_lock = threading.Lock()


def default_writer() -> CaptureWriter:
    """The process's writer (queue size from ``[tool.replay.capture]`` on first use)."""
    global _default_writer
    if _default_writer is None:
        with _default_lock:
            if _default_writer is None:
                try:
                    size = load_settings().queue_size
                except ConfigError:
                    size = DEFAULT_QUEUE_SIZE
                _default_writer = CaptureWriter(queue_size=size)
                # The writer is a daemon thread: give queued cassettes a few seconds at exit.
                atexit.register(_default_writer.flush, EXIT_FLUSH_S)
    return _default_writer


def capture_stats(writer: CaptureWriter | None = None) -> CaptureStats:
    """The counters of ``writer`` (default: the process's writer)."""
    return (writer or default_writer()).stats()


def flush_captures(timeout: float | None = None, writer: CaptureWriter | None = None) -> bool:
    """Wait for queued cassettes to be written; False when ``timeout`` ran out first."""
    return (writer or default_writer()).flush(timeout)


# --- OpenTelemetry -------------------------------------------------------------------------


def _otel_span() -> Any:
    """The active OpenTelemetry span's context when it is valid, else None. Only asks
    when the app imported ``opentelemetry`` (capture never imports it)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    try:
        context = trace.get_current_span().get_span_context()
    except Exception:
        return None
    return context if context.is_valid else None


# --- the session and the block -----------------------------------------------------------


class CaptureSession(RecordingSession):
    """A recording session that never raises into the agent: a failure of the recorder
    marks the run ``broken`` (not written) and the calls then run live, unrecorded.
    HTTP exchanges are kept raw until written (``replay.http.deferred``)."""

    defers_http = True

    def __init__(self, *, trace_id: str, otel: bool) -> None:
        super().__init__(trace_id=trace_id)
        self.broken: str | None = None
        self._otel = otel
        # Span ids of steps reserved when their request was sent (a stream's step is
        # stored when it ends, maybe after the caller's span has ended).
        self._reserved_spans: dict[int, str] = {}

    def fail(self, reason: str) -> None:
        """Give up on this run's cassette (the first reason is kept)."""
        if self.broken is None:
            self.broken = reason

    def make_call(self, kind, name, args, policy):  # type: ignore[override]
        if self.broken is None:
            try:
                return Call.of(kind, name, args, policy)
            except Exception as exc:
                self.fail(f"the args of {kind} '{name}' cannot be recorded: {_describe(exc)}")
        return Call(kind, name, None, "", policy)

    def call(self, call, live, *, encode=None, decode=None):  # type: ignore[override]
        if self.broken is not None:
            return live()
        kwargs = {} if encode is None else {"encode": encode}
        return super().call(call, live, **kwargs)

    async def acall(self, call, live, *, encode=None, decode=None):  # type: ignore[override]
        if self.broken is not None:
            return await live()
        kwargs = {} if encode is None else {"encode": encode}
        return await super().acall(call, live, **kwargs)

    def record_completed(self, call, **kwargs):  # type: ignore[override]
        if self.broken is not None:
            return None
        return super().record_completed(call, **kwargs)

    def _failed(self, index, call, exc, started):  # type: ignore[override]
        try:
            error = ErrorInfo(error_class_name(exc), str(exc))
        except Exception as failure:
            self.fail(
                f"{call.kind} '{call.name}' raised an error that cannot be recorded: "
                f"{_describe(failure)}"
            )
            error = ErrorInfo("replay.capturing.Unrecorded", "")
        latency = round(self.elapsed_ms() - started, 3)
        http = getattr(exc, "__replay_http__", None)
        return self._new_step(
            index, call, error=error, started_at_ms=started, latency_ms=latency, http=http
        )

    def _succeeded(self, index, call, value, started, encode):  # type: ignore[override]
        latency = round(self.elapsed_ms() - started, 3)
        try:
            result, http = encode(value)
        except Exception as exc:
            self.fail(
                f"{call.kind} '{call.name}' returned a value that cannot be recorded: "
                f"{_describe(exc)}"
            )
            result, http = None, None
        return self._new_step(
            index, call, result=result, started_at_ms=started, latency_ms=latency, http=http
        )

    def reserve(self) -> tuple[int, float]:
        index, started = super().reserve()
        if self._otel:
            span = _otel_span()
            if span is not None:
                self._reserved_spans[index] = format(span.span_id, "016x")
        return index, started

    def _new_step(self, index, call, **kwargs):  # type: ignore[override]
        step = super()._new_step(index, call, **kwargs)
        if self._otel:
            span_id = self._reserved_spans.pop(index, None)
            if span_id is None:
                span = _otel_span()
                span_id = format(span.span_id, "016x") if span is not None else None
            if span_id is not None:
                step = replace(step, span_id=span_id)
        return step


def _describe(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return type(exc).__name__


class CapturedRun:
    """What ``capture()`` yields: report the run's result with ``set_result``.

    After the block, ``kept`` says why the run is being written ("failed", "all",
    "sampled") or is None (not kept, dropped or not captured).
    """

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.outcome: Outcome | None = None
        self.kept: str | None = None

    @property
    def run_id(self) -> str:
        return self.context.run_id

    @property
    def trace_id(self) -> str:
        return self.context.trace_id

    def set_result(self, value: Any) -> Any:
        """Report how the run ended (as ``replay.record``'s ``set_result``); returns
        ``value`` so ``return run.set_result(agent(...))`` reads naturally."""
        from replay.engine import outcome_from_return

        try:
            self.outcome = outcome_from_return(value)
        except Exception as exc:
            # Not known to have completed: kept by keep="failed", with the reason.
            self.outcome = Outcome(
                UNKNOWN, note=f"the result could not be recorded: {_describe(exc)}"
            )
        return value

    def set_exception(self, exc: BaseException) -> None:
        """Report that the run failed with ``exc`` (when the app catches it itself)."""
        from replay.engine import outcome_from_exception

        self.outcome = _exception_outcome(exc, outcome_from_exception)


def _exception_outcome(exc: BaseException, convert: Callable[[BaseException], Outcome]) -> Outcome:
    try:
        return convert(exc)
    except Exception:
        return Outcome("exception", error=ErrorInfo(type(exc).__qualname__, ""))


class capture:
    """Capture one run for production; use as ``with`` or ``async with``.

    ``folder`` (or ``dir`` of ``[tool.replay.capture]``) receives the kept cassettes;
    ``keep`` is "failed" or "all"; ``sample`` the fraction of healthy runs kept as golden
    candidates, decided by ``sampler()`` (a float in [0, 1): ``random.random`` unless
    given, e.g. a seeded ``random.Random(7).random``). ``run_id``, ``release``,
    ``workflow``, ``entrypoint``, ``input`` and ``model`` fill the cassette's run context;
    ``trace_id`` (default: the active OpenTelemetry trace's, else a random one) too.
    A bad argument raises ``ConfigError`` at once; nothing else here raises into the run.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str] | None = None,
        *,
        keep: str | None = None,
        sample: float | None = None,
        run_id: str | None = None,
        trace_id: str | None = None,
        release: str | None = None,
        workflow: str | None = None,
        entrypoint: str | None = None,
        input: Any = None,
        model: str | None = None,
        sampler: Callable[[], float] | None = None,
        writer: CaptureWriter | None = None,
    ) -> None:
        if keep is not None:
            check_keep(keep, "replay.capture()")
        if sample is not None:
            check_sample(sample, "replay.capture()")
        self._args = {
            "folder": folder,
            "keep": keep,
            "sample": sample,
            "release": release,
            "workflow": workflow,
        }
        self._run_id = run_id
        self._trace_id = trace_id
        self._entrypoint = entrypoint
        self._input = input
        self._model = model
        self._sampler = sampler or _random.random
        self._writer = writer
        self._session: CaptureSession | None = None
        self._stack: contextlib.ExitStack | None = None
        self.run: CapturedRun | None = None

    # --- entering -------------------------------------------------------------------

    def __enter__(self) -> CapturedRun:
        started = _dt.datetime.now(_dt.UTC)
        self._started = started
        settings = load_settings()
        span = _otel_span()
        run_id = self._run_id or f"run_{_uuid.uuid4().hex[:12]}"
        if self._trace_id is not None:
            trace_id = str(self._trace_id)
        elif span is not None:
            trace_id = format(span.trace_id, "032x")
        else:
            trace_id = _uuid.uuid4().hex
        self.run = run = CapturedRun(
            RunContext(
                run_id=str(run_id),
                trace_id=trace_id,
                entrypoint=self._entrypoint,
                input=None,
                release=self._args["release"] or settings.release,
                workflow=self._args["workflow"] or settings.workflow,
                model=self._model,
                recorded_at=started.isoformat(timespec="seconds"),
            )
        )
        folder = self._args["folder"] or settings.dir
        if folder is None:
            raise ConfigError(
                "replay.capture(): no folder for the cassettes; pass one "
                "(replay.capture('incidents/')) or set dir in [tool.replay.capture]"
            )
        self._folder = Path(folder)
        self._keep = self._args["keep"] or settings.keep
        self._sample = self._args["sample"] if self._args["sample"] is not None else settings.sample
        writer = self._writer or default_writer()
        self._writer = writer
        if current_session() is not None:
            # Inside a recording, a replay or another capture: that one owns the calls.
            log.warning("capture: run %s is inside another session; not captured", run_id)
            return run
        session = CaptureSession(trace_id=trace_id, otel=span is not None)
        if span is not None:
            session.root_span_id = format(span.span_id, "016x")
        self._session = session
        stack = contextlib.ExitStack()
        try:
            from replay.canonical import to_plain
            from replay.redact import Redactor, load_policy

            run.context = replace(run.context, input=to_plain(self._input))
            session.redactor = Redactor(load_policy())
            session.redactor.learn_fields(run.context.input)
            stack.enter_context(session)
            stack.enter_context(_network_seams(session))
        except Exception as exc:
            stack.close()
            session.fail(f"capture could not start: {_describe(exc)}")
            self._stack = None
            return run
        self._stack = stack
        return run

    async def __aenter__(self) -> CapturedRun:
        return self.__enter__()

    # --- leaving ----------------------------------------------------------------------

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._finish(exc)
        except Exception as failure:  # never into the agent's request
            log.error("capture: finishing run failed: %s", _describe(failure))
            with contextlib.suppress(Exception):
                self._writer.count("recorder_errors")  # type: ignore[union-attr]

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def _finish(self, exc: BaseException | None) -> None:
        run, session, writer = self.run, self._session, self._writer
        assert run is not None and writer is not None
        if self._stack is not None:
            try:
                self._stack.close()
            except Exception as failure:
                if session is not None:
                    session.fail(f"closing the capture failed: {_describe(failure)}")
        writer.count("runs")
        if session is None:
            return
        if exc is not None:
            from replay.engine import outcome_from_exception

            outcome = _exception_outcome(exc, outcome_from_exception)
        else:
            outcome = run.outcome or UNREPORTED
        run.outcome = outcome
        if session.broken is not None:
            writer.count("recorder_errors")
            log.error(
                "capture: run %s not recorded: %s",
                run.run_id,
                session.broken,
                extra={"replay_run_id": run.run_id, "replay_trace_id": run.trace_id},
            )
            return
        reason = self._reason(outcome)
        if reason is None:
            writer.count("discarded")
            return
        job = _Job(
            folder=self._folder,
            reason=reason,
            context=run.context,
            steps=session.history,
            outcome=outcome,
            redactor=session.redactor,
            started=self._started,
        )
        if writer.put(job):
            run.kept = reason

    def _reason(self, outcome: Outcome) -> str | None:
        if outcome.unknown or outcome.failed:
            return "failed"
        if self._keep == "all":
            return "all"
        if self._sample and self._sampler() < self._sample:
            return "sampled"
        return None


@contextlib.contextmanager
def _network_seams(session: CaptureSession) -> Any:
    """The HTTP and MCP seams of ``replay.engine``, for the capture session."""
    from replay.engine import _network_seams as seams

    _pin_seams()
    with seams(session):
        yield


_pinned: contextlib.ExitStack | None = None
_pin_lock = threading.Lock()


def _pin_seams() -> None:
    """Keep the process-wide HTTP patches installed from the first capture on.

    They are shared by open sessions and removed when the last one ends; a server
    capturing every run would otherwise install vcrpy's patches again for each run that
    does not overlap another (about 2 ms). Outside a run they pass traffic through.
    """
    global _pinned
    if _pinned is not None:
        return
    with _pin_lock:
        if _pinned is not None:
            return
        from replay.http import transport, vcr_bridge

        stack = contextlib.ExitStack()
        stack.enter_context(vcr_bridge.SEAM())
        stack.enter_context(transport.SEAM())
        _pinned = stack
        atexit.register(release_seams)  # before interpreter teardown empties the modules


def release_seams() -> None:
    """Remove the HTTP patches that capture keeps installed (tests; a shutdown hook).
    Sessions still open keep theirs until they end."""
    global _pinned
    with _pin_lock:
        stack, _pinned = _pinned, None
    if stack is not None:
        stack.close()
