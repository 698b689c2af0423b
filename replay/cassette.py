"""The cassette: one recorded run as frozen values, and its versioned plain-data schema.

This module is pure: it turns plain data (what YAML gives) into validated values and
back. Reading and writing files lives in ``replay.storage``. The schema is documented in
``docs/cassette-format.md``; a change to it bumps ``FORMAT_VERSION``. Version 2 added
the end marker line (``storage``); version 1 files are still read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from replay.canonical import same_plain, stable_hash, to_plain
from replay.errors import CassetteError, CassetteVersionError

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
STEP_KINDS = ("llm", "tool", "mcp", "clock", "uuid", "random")
"""``mcp``: an MCP session's setup (``initialize``, ``tools/list``, ...); its tool calls are
``tool`` steps."""
CALL_KINDS = ("llm", "tool")
"""The kinds that are calls an agent decides to make (timed, counted, ranked by triage)."""
NONDETERMINISM_KINDS = ("clock", "uuid", "random")


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A recorded error: its class as ``module.QualName`` and its message."""

    error_class: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.error_class, "message": self.message}


@dataclass(frozen=True, slots=True)
class Step:
    """One boundary call of a run: an LLM call, a tool call, or a clock/uuid/random read.

    ``started_at_ms`` is relative to the start of the run; ``http`` holds the raw HTTP
    interaction for steps captured from an SDK's traffic (None otherwise).
    """

    index: int
    kind: str
    name: str
    args: Any
    args_hash: str
    result: Any = None
    error: ErrorInfo | None = None
    started_at_ms: float = 0.0
    latency_ms: float = 0.0
    span_id: str = ""
    parent_span_id: str | None = None
    http: Any = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the call (not its answer): kind, name, args hash."""
        return (self.kind, self.name, self.args_hash)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "name": self.name,
            "args_hash": self.args_hash,
            "args": self.args,
        }
        if self.error is not None:
            data["error"] = self.error.to_dict()
        else:
            data["result"] = self.result
        data["started_at_ms"] = self.started_at_ms
        data["latency_ms"] = self.latency_ms
        data["span_id"] = self.span_id
        data["parent_span_id"] = self.parent_span_id
        if self.http is not None:
            data["http"] = self.http
        return data


@dataclass(frozen=True, slots=True)
class RunContext:
    """Who and what the run was: identifiers, release, workflow, model and its input."""

    run_id: str
    trace_id: str
    entrypoint: str | None = None
    input: Any = None
    release: str | None = None
    workflow: str | None = None
    model: str | None = None
    recorded_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trace_id": self.trace_id,
            "release": self.release,
            "workflow": self.workflow,
            "model": self.model,
            "entrypoint": self.entrypoint,
            "input": self.input,
            "recorded_at": self.recorded_at,
        }


UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended: ``stop_reason``, its output, and the error when it raised.

    ``stop_reason: unknown`` (with a ``note`` saying why) when the run's ending was not
    reported, e.g. a ``replay.record()`` block left without ``set_result`` or an
    exception: such a run is neither known to have failed nor to have completed.
    """

    stop_reason: str
    output: Any = None
    error: ErrorInfo | None = None
    note: str | None = None

    @property
    def unknown(self) -> bool:
        return self.stop_reason == UNKNOWN

    @property
    def failed(self) -> bool:
        """Known to have failed (an unknown ending is not a failure, nor a success)."""
        if self.unknown:
            return False
        return self.stop_reason != "completed" or self.error is not None

    @property
    def error_class(self) -> str | None:
        return self.error.error_class if self.error else None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "stop_reason": self.stop_reason,
            "output": self.output,
            "error": self.error.to_dict() if self.error else None,
        }
        if self.note is not None:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class Cassette:
    """One recorded run: format version, run context, step history and outcome.

    ``version`` is the version of the file it was read from; it is always written in the
    current ``FORMAT_VERSION``. ``provenance`` is set on runs not recorded by agent-replay
    (imported from traces): where they came from and what was reconstructed, so a verdict
    can say "hypothesis".
    """

    context: RunContext
    steps: tuple[Step, ...]
    outcome: Outcome
    version: int = FORMAT_VERSION
    path: str | None = field(default=None, compare=False)
    provenance: Mapping[str, Any] | None = None

    @property
    def run_id(self) -> str:
        return self.context.run_id

    def with_path(self, path: str | None) -> Cassette:
        return replace(self, path=path)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "version": self.version,
            "run": self.context.to_dict(),
            "outcome": self.outcome.to_dict(),
            "steps": [step.to_dict() for step in self.steps],
        }
        if self.provenance is not None:
            data["provenance"] = dict(self.provenance)
        return data


_TOP_KEYS = frozenset({"version", "run", "outcome", "steps", "provenance"})
_RUN_KEYS = frozenset(
    {"run_id", "trace_id", "release", "workflow", "model", "entrypoint", "input", "recorded_at"}
)
_OUTCOME_KEYS = frozenset({"stop_reason", "output", "error", "note"})
_STEP_REQUIRED = ("index", "kind", "name", "args_hash")
_STEP_KEYS = frozenset(
    {
        "index",
        "kind",
        "name",
        "args",
        "args_hash",
        "result",
        "error",
        "started_at_ms",
        "latency_ms",
        "span_id",
        "parent_span_id",
        "http",
    }
)


def cassette_from_dict(data: Any, *, path: str | None = None, verify: bool = True) -> Cassette:
    """Validate plain data (a parsed cassette file) and build a ``Cassette``.

    With ``verify`` each step's ``args_hash`` is checked against its ``args``, so a
    hand-edited argument cannot silently keep matching under its old hash. Raises
    ``CassetteError`` naming the file, the step and the field at the first problem, and
    ``CassetteVersionError`` when the version is not one of ``READABLE_VERSIONS``.
    """
    version = format_version(data, path=path)
    _reject_unknown(data, _TOP_KEYS, path=path, where=None, prefix="")
    for key in ("run", "outcome", "steps"):
        if key not in data:
            raise CassetteError("missing section", path=path, field=key)
    context = _context_from(data["run"], path)
    outcome = _outcome_from(data["outcome"], path)
    raw_steps = data["steps"]
    if raw_steps is None:
        raw_steps = []
    if not isinstance(raw_steps, list):
        raise CassetteError("expected a list of steps", path=path, field="steps")
    steps = tuple(_step_from(raw, position, path) for position, raw in enumerate(raw_steps))
    if verify:
        for step in steps:
            expected = stable_hash(step.args)
            if expected != step.args_hash:
                raise CassetteError(
                    "args_hash does not match args; were the args edited by hand?",
                    path=path,
                    step=step.index,
                    field="args_hash",
                    hint=f"set it to {expected}",
                )
        if all(same_plain(to_plain(step.args), step.args) for step in steps):
            mark_args_checked(steps)
    provenance = data.get("provenance")
    if provenance is not None:
        provenance = _require_mapping(provenance, path=path, step=None, name="provenance")
    return Cassette(
        context=context,
        steps=steps,
        outcome=outcome,
        version=version,
        path=path,
        provenance=provenance,
    )


def format_version(data: Any, *, path: str | None = None) -> int:
    """The format version of parsed cassette data, checked before anything else: the
    top is a mapping, it is not another kind of file, the version is a readable one."""
    if data is None:
        raise CassetteError(
            "the file holds no data (empty, or only comments)",
            path=path,
            hint="is this the right file? re-record it if it was cut short",
        )
    if not isinstance(data, Mapping):
        raise CassetteError(
            f"expected a mapping at the top of the file, found {type(data).__name__}",
            path=path,
            hint=f"a cassette starts with 'version: {FORMAT_VERSION}'; see docs/cassette-format.md",
        )
    _refuse_other_files(data, path)
    if "version" not in data:
        raise CassetteError(
            "missing format version",
            path=path,
            field="version",
            hint=f"add 'version: {FORMAT_VERSION}'",
        )
    version = data["version"]
    if type(version) is not int:
        raise CassetteError(
            f"expected a whole number, found {_shown(version)}",
            path=path,
            field="version",
            hint=f"write 'version: {FORMAT_VERSION}'",
        )
    if version not in READABLE_VERSIONS:
        raise CassetteVersionError(path=path, found=version, supported=FORMAT_VERSION)
    return version


def _refuse_other_files(data: Mapping, path: str | None) -> None:
    """A scenario file, a vcrpy cassette or a golden report given for a cassette is named
    as what it is, with the command that takes it, instead of 'unknown field'."""
    if "run" in data:
        return
    schema = data.get("schema")
    if isinstance(schema, str) and schema.startswith("agent-replay/golden-report"):
        raise CassetteError(
            "this is a golden-set report (replay golden --json), not a cassette",
            path=path,
            hint="pass one of the cassettes it lists; reports of shards combine with "
            "'replay golden merge'",
        )
    if "interactions" in data:
        raise CassetteError(
            "this is a vcrpy cassette (HTTP interactions only), not an agent-replay cassette",
            path=path,
            hint="record the run with 'replay record module:function' to get a cassette",
        )
    if "cassette" in data and ("failure" in data or "id" in data):
        named = data.get("cassette")
        plain = isinstance(named, str) and named.isprintable() and len(named) < 300
        shown = f"replay run {named}" if plain else "replay run <cassette>"
        raise CassetteError(
            "this is a scenario file, not a cassette",
            path=path,
            hint=f"replay the cassette it names ('{shown}') or check it with "
            "'replay scenario check <id>'",
        )


def _shown(value: Any) -> str:
    """A value as YAML would show it (true, null, 1.0), cut to a readable length."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value!r:.40}"


# Step tuples, by identity, whose every step has plain ``args`` (``to_plain`` gives them
# back unchanged) and an ``args_hash`` checked against them. A replay of one of them may
# serve a call whose arguments are the very same data as a recorded step's without
# converting and hashing them (see ``RecordedIndex.same_args_step``). Holding the tuple
# keeps its id from being reused; the oldest are forgotten past the limit, which only
# costs that fast path.
_ARGS_CHECKED_LIMIT = 64
_args_checked: dict[int, tuple[Step, ...]] = {}


def mark_args_checked(steps: tuple[Step, ...]) -> None:
    """Note that each step's ``args`` are plain data and ``args_hash`` is their
    ``stable_hash`` (checked on reading the file, or read from a cache of a checked one)."""
    _args_checked.pop(id(steps), None)
    _args_checked[id(steps)] = steps
    while len(_args_checked) > _ARGS_CHECKED_LIMIT:
        _args_checked.pop(next(iter(_args_checked)), None)


def args_checked(steps: Any) -> bool:
    """Whether ``mark_args_checked`` was told about this very tuple of steps."""
    return _args_checked.get(id(steps)) is steps


def _reject_unknown(
    data: Mapping, allowed: frozenset[str], *, path: str | None, where: int | None, prefix: str
) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise CassetteError(
            f"unknown field (allowed: {', '.join(sorted(allowed))})",
            path=path,
            step=where,
            field=f"{prefix}{_key_shown(unknown[0])}",
            hint="fix the spelling or remove it",
        )


def _key_shown(key: Any) -> str:
    """A key as a message shows it: as written, or quoted when it holds line breaks or
    other control characters (an error stays one line)."""
    text = str(key)
    return text if text.isprintable() else repr(text)


def _require_mapping(value: Any, *, path: str | None, step: int | None, name: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise CassetteError(
            f"expected a mapping, found {type(value).__name__}", path=path, step=step, field=name
        )
    return value


def _optional_str(value: Any, *, path: str | None, step: int | None, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise CassetteError(
        f"expected text, found {type(value).__name__}", path=path, step=step, field=name
    )


def _required_str(value: Any, *, path: str | None, step: int | None, name: str) -> str:
    text = _optional_str(value, path=path, step=step, name=name)
    if not text:
        raise CassetteError("must be non-empty text", path=path, step=step, field=name)
    return text


def _number(
    value: Any, *, path: str | None, step: int | None, name: str, minimum: float | None = None
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CassetteError(
            f"expected a number, found {_shown(value)}", path=path, step=step, field=name
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        wanted = "a finite number" if minimum is None else f"a finite number >= {minimum:g}"
        raise CassetteError(
            f"expected {wanted}, found {_shown(value)}", path=path, step=step, field=name
        )
    return number


def _error_from(value: Any, *, path: str | None, step: int | None, name: str) -> ErrorInfo | None:
    if value is None:
        return None
    error = _require_mapping(value, path=path, step=step, name=name)
    _reject_unknown(
        error, frozenset({"class", "message"}), path=path, where=step, prefix=f"{name}."
    )
    return ErrorInfo(
        error_class=_required_str(error.get("class"), path=path, step=step, name=f"{name}.class"),
        message=_optional_str(error.get("message"), path=path, step=step, name=f"{name}.message")
        or "",
    )


def _context_from(value: Any, path: str | None) -> RunContext:
    run = _require_mapping(value, path=path, step=None, name="run")
    _reject_unknown(run, _RUN_KEYS, path=path, where=None, prefix="run.")

    def text(key: str) -> str | None:
        return _optional_str(run.get(key), path=path, step=None, name=f"run.{key}")

    return RunContext(
        run_id=_required_str(run.get("run_id"), path=path, step=None, name="run.run_id"),
        trace_id=_required_str(run.get("trace_id"), path=path, step=None, name="run.trace_id"),
        entrypoint=text("entrypoint"),
        input=run.get("input"),
        release=text("release"),
        workflow=text("workflow"),
        model=text("model"),
        recorded_at=text("recorded_at"),
    )


def _outcome_from(value: Any, path: str | None) -> Outcome:
    outcome = _require_mapping(value, path=path, step=None, name="outcome")
    _reject_unknown(outcome, _OUTCOME_KEYS, path=path, where=None, prefix="outcome.")
    stop_reason = _required_str(
        outcome.get("stop_reason"), path=path, step=None, name="outcome.stop_reason"
    )
    error = _error_from(outcome.get("error"), path=path, step=None, name="outcome.error")
    if stop_reason == UNKNOWN:
        for key, found in (("error", error), ("output", outcome.get("output"))):
            if found is not None:
                raise CassetteError(
                    f"stop_reason is '{UNKNOWN}' but the outcome has an {key}",
                    path=path,
                    field=f"outcome.{key}",
                    hint=f"set stop_reason to how the run ended, or remove outcome.{key}",
                )
    return Outcome(
        stop_reason=stop_reason,
        output=outcome.get("output"),
        error=error,
        note=_optional_str(outcome.get("note"), path=path, step=None, name="outcome.note"),
    )


def _step_from(value: Any, position: int, path: str | None) -> Step:
    raw = _require_mapping(value, path=path, step=position, name="steps[]")
    for key in _STEP_REQUIRED:
        if key not in raw:
            raise CassetteError("missing field", path=path, step=position, field=key)
    _reject_unknown(raw, _STEP_KEYS, path=path, where=position, prefix="")
    index = raw["index"]
    if type(index) is not int:
        raise CassetteError(
            f"expected a step number, found {_shown(index)}",
            path=path,
            step=position,
            field="index",
            hint=f"write 'index: {position}'",
        )
    if index != position:
        raise CassetteError(
            f"index is {index!r} but the step is number {position} in the list",
            path=path,
            step=position,
            field="index",
            hint="steps must be listed in order, numbered from 0",
        )
    kind = raw["kind"]
    if kind not in STEP_KINDS:
        raise CassetteError(
            f"unknown kind {kind!r} (expected one of {', '.join(STEP_KINDS)})",
            path=path,
            step=position,
            field="kind",
        )
    error = _error_from(raw.get("error"), path=path, step=position, name="error")
    if error is not None and raw.get("result") is not None:
        raise CassetteError(
            "a step has either a result or an error, not both",
            path=path,
            step=position,
            field="result",
        )
    parent = raw.get("parent_span_id")
    return Step(
        index=position,
        kind=kind,
        name=_required_str(raw["name"], path=path, step=position, name="name"),
        args=raw.get("args"),
        args_hash=_required_str(raw["args_hash"], path=path, step=position, name="args_hash"),
        result=raw.get("result"),
        error=error,
        started_at_ms=_number(
            raw.get("started_at_ms", 0.0), path=path, step=position, name="started_at_ms"
        ),
        latency_ms=_number(
            raw.get("latency_ms", 0.0), path=path, step=position, name="latency_ms", minimum=0
        ),
        span_id=_optional_str(raw.get("span_id"), path=path, step=position, name="span_id") or "",
        parent_span_id=_optional_str(parent, path=path, step=position, name="parent_span_id"),
        http=raw.get("http"),
    )
