"""The exceptions agent-replay raises, under one root.

    ReplayError                   anything agent-replay itself reports
    ├── CassetteError             a cassette file cannot be read, parsed or validated
    │   └── CassetteVersionError  the file's format version is not one this build reads
    ├── CassetteWriteError        a cassette could not be written (disk, permissions)
    ├── TraceError                OpenTelemetry trace files cannot be read or imported
    ├── ReportError               a saved --json output cannot be made into an HTML report
    ├── EntrypointError           "module:function" cannot be imported or called
    ├── SessionError              a boundary used wrongly (nested record, no session, ...)
    ├── Divergence                replay asked for a call the cassette does not hold
    │   ├── NetworkBlocked        the replayed run tried to reach the network (or look up a name)
    │   └── SubprocessBlocked     the replayed run tried to start a process
    ├── TrafficRefused            traffic not made on behalf of the replayed run was refused
    │                             (also a ``ConnectionRefusedError``, so its client fails softly)
    └── ReplayedError             a recorded error whose class cannot be imported here

Every message says what happened, where (file, step, field) and what to do. One warning:
``CassetteFormatWarning`` (a ``UserWarning``), a cassette read in an older format version.
"""

from __future__ import annotations

from typing import Any


class ReplayError(Exception):
    """Root of every error agent-replay raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments; rebuild from args and attributes so the
        # errors cross process boundaries (process pools, xdist) intact.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[ReplayError], args: tuple[Any, ...], state: dict[str, Any]) -> ReplayError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class CassetteError(ReplayError):
    """A cassette cannot be read, parsed or validated.

    ``path``, ``step`` and ``field`` say where; the message says how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        step: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.step = step
        self.field = field
        self.hint = hint
        where = []
        if path:
            where.append(str(path))
        if step is not None:
            where.append(f"step {step}")
        if field:
            where.append(f"field '{field}'")
        text = f"{': '.join(where)}: {message}" if where else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class CassetteVersionError(CassetteError):
    """The cassette declares a format version this build does not read."""

    def __init__(self, *, path: str | None, found: Any, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"cassette format version {found!r} is not supported; this build reads versions "
            f"1 to {supported}",
            path=path,
            field="version",
            hint="re-record it with this version of agent-replay, or install the version "
            "that wrote it",
        )


class CassetteFormatWarning(UserWarning):
    """A cassette was read in an older format version that lacks a safeguard of the
    current one (version 1: no end marker, so a cut-off copy is not detected)."""


class CassetteWriteError(ReplayError):
    """Writing a cassette failed; the previous file (if any) is left intact."""


class TraceError(ReplayError):
    """OTLP trace files cannot be read, or a trace cannot be imported or replayed as asked.

    The message names the file and line (or trace id and span) and what to do.
    """


class ReportError(ReplayError):
    """A saved ``--json`` output cannot be read or made into an HTML report; the message
    names the file and says which outputs ``replay report --json`` takes."""


class EntrypointError(ReplayError):
    """An agent entrypoint ("module:function") cannot be imported or called."""


class SessionError(ReplayError):
    """A recording or replaying session was used in a way it cannot support."""


class Divergence(ReplayError):
    """The replayed code made a call that the cassette holds no answer for.

    Attributes: ``step`` (index in the replay's history), ``kind``, ``name``, ``call_args``,
    ``nearest`` (the closest recorded step, or None) and ``args_diff`` (readable lines).
    """

    def __init__(
        self,
        *,
        step: int,
        kind: str,
        name: str,
        args: Any,
        nearest: Any = None,
        args_diff: tuple[str, ...] = (),
        cassette: str | None = None,
        reason: str = "no recorded answer",
    ) -> None:
        self.step = step
        self.kind = kind
        self.name = name
        self.call_args = args
        self.nearest = nearest
        self.args_diff = args_diff
        self.cassette = cassette
        self.reason = reason
        lines = [f"step {step}: {kind} call '{name}' diverged: {reason}"]
        if nearest is not None:
            lines.append(
                f"  nearest recorded call: step {nearest.index} {nearest.kind} '{nearest.name}'"
            )
            lines.extend(f"    {line}" for line in args_diff)
        else:
            lines.append(f"  the cassette holds no {kind} call named '{name}'")
        if cassette:
            lines.append(f"  reproduce with: replay run {cassette}")
        super().__init__("\n".join(lines))


class NetworkBlocked(Divergence):
    """A real network request was attempted while replaying (replay is offline)."""


class SubprocessBlocked(Divergence):
    """The replayed run tried to start a process (a subprocess could reach anything).

    ``command`` is the command line it asked for. An MCP or tool seam can rely on it:
    in replay no process is started on the run's behalf.
    """

    def __init__(self, *, command: str = "", **kwargs: Any) -> None:
        self.command = command
        super().__init__(**kwargs)


class TrafficRefused(ReplayError, ConnectionRefusedError):
    """A connection or lookup that is not part of the replayed run was refused.

    Raised in threads that did not inherit the run's context (trace exporters, telemetry)
    and for ``ignore_hosts``: their client sees an ordinary connection failure, and the
    run's own steps and verdict are not touched.
    """

    def __init__(self, message: str) -> None:
        ReplayError.__init__(self, message)


class ReplayedError(ReplayError):
    """A recorded error raised again when its original class cannot be imported.

    ``error_class`` is the recorded "module.QualName"; ``message`` the recorded text.
    """

    def __init__(self, error_class: str, message: str) -> None:
        self.error_class = error_class
        self.message = message
        super().__init__(f"{error_class}: {message}")
