"""Scenarios: reproduced incidents kept as regression tests, one YAML file each.

A scenario names a cassette (the recorded incident), the agent to replay it against,
the failure's signature, and what is expected of it now: ``open`` (the incident still
reproduces) or ``fixed`` (replay gives ``fixed``, on evidence). The pytest plugin and
``replay scenario`` both judge a scenario through ``check_scenario`` and ``evaluate``,
so a merge gate and the command line never disagree. Paths inside a scenario are
relative to the project root (the folder of ``pyproject.toml``). The schema is
documented in ``docs/scenarios.md``; a change to it bumps ``SCENARIO_VERSION``.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replay.errors import ReplayError

if TYPE_CHECKING:
    from replay.cassette import Cassette
    from replay.diff import HistoryDiff
    from replay.verdict import FailureSignature, Verdict

SCENARIO_VERSION = 1
DEFAULT_SCENARIO_PATHS = ("scenarios",)
SCENARIO_SUFFIXES = (".yaml", ".yml")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
STEP_KINDS = ("llm", "tool", "mcp", "clock", "uuid", "random")
VERDICTS = ("reproduced", "fixed", "diverged", "flaky", "match", "regressed")

HEADER = (
    "# agent-replay scenario (format version {version}): one reproduced incident.\n"
    "# Schema: docs/scenarios.md. Paths are relative to the project root (pyproject.toml).\n"
)


class ScenarioError(ReplayError):
    """A scenario file cannot be read or validated, or does not fit its cassette.

    ``path`` and ``field`` say where; the message ends with how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.field = field
        self.hint = hint
        where = [part for part in (self.path, f"field '{field}'" if field else None) if part]
        text = f"{': '.join(where)}: {message}" if where else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class Status(enum.StrEnum):
    """What is expected of the incident now."""

    OPEN = "open"
    """Still reproduces: like a strict xfail, it must keep failing the recorded way."""
    FIXED = "fixed"
    """Fixed on evidence: replay must give the verdict ``fixed``."""


class Mode(enum.StrEnum):
    """Whether the scenario's last check stood on recorded answers alone."""

    EVIDENCE = "evidence"
    HYPOTHESIS = "hypothesis"


@dataclass(frozen=True)
class Scenario:
    """One incident kept as a regression test (a validated scenario file).

    ``cassette`` is relative to the project root; ``agent`` is ``module:function`` or
    None for the cassette's recorded entrypoint. ``last_verdict`` and ``last_reason``
    are written by ``replay scenario check --write`` (and ``replay run --note``) with ``mode``.
    ``on_miss`` is the declared answer to calls the cassette does not hold
    (``replay.on_miss``): its verdicts are hypotheses that name the assumption, and the
    scenario is checked, not skipped, as one.
    """

    id: str
    cassette: str
    failure: FailureSignature
    status: Status = Status.OPEN
    mode: Mode = Mode.EVIDENCE
    agent: str | None = None
    owner: str | None = None
    notes: str | None = None
    last_verdict: str | None = None
    last_reason: str | None = None
    on_miss: str | None = None
    version: int = SCENARIO_VERSION
    path: Path | None = field(default=None, compare=False)

    def cassette_path(self, root: str | os.PathLike[str]) -> Path:
        """The cassette's location for a project rooted at ``root``; ``ScenarioError`` when
        it resolves outside the project (through ``..`` or a symbolic link)."""
        base = Path(root)
        target = base / self.cassette
        resolved, inside = target.resolve(), base.resolve()
        if resolved != inside and inside not in resolved.parents:
            raise ScenarioError(
                f"{self.cassette!r} resolves to {resolved}, outside the project {inside}",
                path=self.path,
                field="cassette",
                hint="keep the cassette inside the project and name it relative to its root",
            )
        return target

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "id": self.id,
            "cassette": self.cassette,
        }
        if self.agent:
            data["agent"] = self.agent
        data["status"] = self.status.value
        data["mode"] = self.mode.value
        data["failure"] = self.failure.to_dict()
        for name in ("on_miss", "owner", "notes", "last_verdict", "last_reason"):
            value = getattr(self, name)
            if value:
                data[name] = value
        return data


# -- reading and validating ------------------------------------------------------------

_KEYS = frozenset(
    {
        "version",
        "id",
        "cassette",
        "agent",
        "status",
        "mode",
        "failure",
        "owner",
        "notes",
        "last_verdict",
        "last_reason",
        "on_miss",
    }
)
_FAILURE_KEYS = frozenset({"stop_reason", "error_class", "failing_step"})
_STEP_KEYS = frozenset({"index", "kind", "name"})


def scenario_from_dict(data: Any, *, path: str | os.PathLike[str] | None = None) -> Scenario:
    """Validate plain data (a parsed scenario file) and build a ``Scenario``.

    Raises ``ScenarioError`` naming the file and field of the first problem, and saying
    how to fix it.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"expected a mapping at the top of the file, found {type(data).__name__}",
            path=path,
            hint="a scenario starts with 'version: 1'; see docs/scenarios.md",
        )
    if "version" not in data:
        raise ScenarioError(
            "missing format version", path=path, field="version", hint="add 'version: 1'"
        )
    if data["version"] != SCENARIO_VERSION:
        raise ScenarioError(
            f"scenario format version {data['version']!r} is not supported; this build reads "
            f"version {SCENARIO_VERSION}",
            path=path,
            field="version",
            hint="install the version of agent-replay that wrote it",
        )
    _reject_unknown(data, _KEYS, path=path, prefix="")
    scenario_id = _text(data, "id", path=path, required=True)
    assert scenario_id is not None
    if not ID_PATTERN.match(scenario_id):
        raise ScenarioError(
            f"{scenario_id!r} is not a valid id",
            path=path,
            field="id",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    cassette = _text(data, "cassette", path=path, required=True)
    assert cassette is not None
    if Path(cassette).is_absolute() or cassette.startswith("~"):
        raise ScenarioError(
            f"{cassette!r} is an absolute path",
            path=path,
            field="cassette",
            hint="write it relative to the project root (the folder of pyproject.toml), so "
            "the scenario works on every machine",
        )
    if os.path.normpath(cassette).split(os.sep)[0] == os.pardir:
        raise ScenarioError(
            f"{cassette!r} leads out of the project",
            path=path,
            field="cassette",
            hint="keep the cassette inside the project and name it relative to its root",
        )
    agent = _text(data, "agent", path=path)
    if agent is not None and not re.match(r"^[\w.]+:[\w.]+$", agent):
        raise ScenarioError(
            f"{agent!r} is not of the form 'module:function'",
            path=path,
            field="agent",
            hint="e.g. 'support_agent.fixed:run', or remove it to use the cassette's entrypoint",
        )
    status = _choice(data, "status", Status, path=path, default=None)
    mode = _choice(data, "mode", Mode, path=path, default=Mode.EVIDENCE)
    last_verdict = _text(data, "last_verdict", path=path)
    if last_verdict is not None and last_verdict not in VERDICTS:
        raise ScenarioError(
            f"{last_verdict!r} is not a verdict (one of {', '.join(VERDICTS)})",
            path=path,
            field="last_verdict",
            hint="remove it; 'replay scenario check --write' writes it",
        )
    if "failure" not in data:
        raise ScenarioError(
            "missing section",
            path=path,
            field="failure",
            hint=f"fill it in from the cassette with 'replay scenario add {cassette} --force'",
        )
    failure: FailureSignature = _failure_from(data["failure"], path=path)
    on_miss = _text(data, "on_miss", path=path)
    if on_miss is not None:
        from replay.on_miss import POLICY_NAMES

        if on_miss not in POLICY_NAMES:
            raise ScenarioError(
                f"{on_miss!r} is not an on-miss policy (one of {', '.join(POLICY_NAMES)})",
                path=path,
                field="on_miss",
                hint="write e.g. 'on_miss: nearest', or remove it to diverge on a missing answer",
            )
    return Scenario(
        id=scenario_id,
        cassette=cassette,
        agent=agent,
        failure=failure,
        status=status,
        mode=mode,
        owner=_text(data, "owner", path=path),
        notes=_text(data, "notes", path=path),
        last_verdict=last_verdict,
        last_reason=_text(data, "last_reason", path=path),
        on_miss=on_miss,
        path=Path(path) if path is not None else None,
    )


def _reject_unknown(
    data: Mapping, allowed: frozenset[str], *, path: str | os.PathLike[str] | None, prefix: str
) -> None:
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        first = unknown[0] if unknown[0].isprintable() else repr(unknown[0])
        raise ScenarioError(
            f"unknown field (allowed: {', '.join(sorted(allowed))})",
            path=path,
            field=f"{prefix}{first}",
            hint="fix the spelling or remove it",
        )


def _text(
    data: Mapping,
    key: str,
    *,
    path: str | os.PathLike[str] | None,
    required: bool = False,
    prefix: str = "",
) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ScenarioError("missing or empty", path=path, field=f"{prefix}{key}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ScenarioError(
            f"expected text, found {type(value).__name__}", path=path, field=f"{prefix}{key}"
        )
    return str(value)


def _choice(
    data: Mapping,
    key: str,
    enum_type: type[enum.Enum],
    *,
    path: str | os.PathLike[str] | None,
    default: Any,
) -> Any:
    allowed = [member.value for member in enum_type]
    value = data.get(key)
    if value is None:
        if default is None:
            raise ScenarioError(
                "missing", path=path, field=key, hint=f"write one of: {', '.join(allowed)}"
            )
        return default
    try:
        return enum_type(value)
    except ValueError:
        raise ScenarioError(
            f"{value!r} is not one of {', '.join(allowed)}",
            path=path,
            field=key,
            hint=f"write '{key}: {allowed[0]}' or '{key}: {allowed[-1]}'",
        ) from None


def _failure_from(value: Any, *, path: str | os.PathLike[str] | None) -> FailureSignature:
    from replay.verdict import FailureSignature

    if not isinstance(value, Mapping):
        raise ScenarioError(
            f"expected a mapping (stop_reason, error_class, failing_step), found "
            f"{type(value).__name__}",
            path=path,
            field="failure",
        )
    _reject_unknown(value, _FAILURE_KEYS, path=path, prefix="failure.")
    stop_reason = _text(value, "stop_reason", path=path, required=True, prefix="failure.")
    assert stop_reason is not None
    error_class = _text(value, "error_class", path=path, prefix="failure.")
    if stop_reason == "completed" and error_class is None:
        raise ScenarioError(
            "'completed' with no error is not a failure",
            path=path,
            field="failure.stop_reason",
            hint="a scenario keeps a failing run; point it at the incident's cassette",
        )
    step = value.get("failing_step")
    if step is None:
        return FailureSignature(stop_reason, error_class, None, None, None)
    if not isinstance(step, Mapping):
        raise ScenarioError(
            f"expected a mapping (index, kind, name), found {type(step).__name__}",
            path=path,
            field="failure.failing_step",
        )
    _reject_unknown(step, _STEP_KEYS, path=path, prefix="failure.failing_step.")
    index = step.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ScenarioError(
            f"expected a step number (0 or more), found {index!r}",
            path=path,
            field="failure.failing_step.index",
        )
    kind = _text(step, "kind", path=path, required=True, prefix="failure.failing_step.")
    if kind not in STEP_KINDS:
        raise ScenarioError(
            f"{kind!r} is not a step kind (one of {', '.join(STEP_KINDS)})",
            path=path,
            field="failure.failing_step.kind",
        )
    name = _text(step, "name", path=path, required=True, prefix="failure.failing_step.")
    return FailureSignature(stop_reason, error_class, kind, name, index)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate one scenario file (with the safe YAML loader)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ScenarioError("no such scenario file", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise ScenarioError("is a folder, not a scenario file", path=path) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the file ({exc.strerror})", path=path) from None
    return scenario_from_dict(parse(raw, path=path), path=path)


def parse(raw: bytes, *, path: str | os.PathLike[str] | None = None) -> Any:
    """Parse scenario YAML with the strict safe loader (``replay.safe_yaml``: no aliases,
    duplicate keys, ...), naming the line of a syntax error or refused construct."""
    import yaml

    from replay import safe_yaml

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    try:
        return safe_yaml.load(text)
    except safe_yaml.YamlRefused as exc:
        raise ScenarioError(
            f"{exc.problem}{exc.where}",
            path=path,
            field=safe_yaml.field_path(text, exc),
            hint=exc.hint,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(
            f"malformed YAML{where}: {problem}", path=path, hint="fix the file by hand"
        ) from None
    except RecursionError:
        raise ScenarioError("the YAML nests too deeply to read", path=path) from None


def dumps(scenario: Scenario) -> str:
    """The YAML text of a scenario, with its header comment."""
    import yaml

    base: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class _Dumper(base):  # type: ignore[misc, valid-type]
        """Safe dumper writing multi-line text (notes) as literal blocks, and never an
        anchor or alias (loading refuses them)."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    def represent_str(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, represent_str)
    body = yaml.dump(
        scenario.to_dict(),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=4096,
        default_flow_style=False,
    )
    return HEADER.format(version=scenario.version) + body


def save_scenario(scenario: Scenario, path: str | os.PathLike[str] | None = None) -> Path:
    """Write a scenario atomically (temp file and rename) to ``path`` or its own path."""
    from replay.storage import atomic_write_text

    target = path if path is not None else scenario.path
    if target is None:
        raise ScenarioError(f"scenario {scenario.id!r} has no file to write to; pass a path")
    text = dumps(scenario)
    scenario_from_dict(parse(text.encode("utf-8")), path=target)  # write only what reads back
    return atomic_write_text(target, text)


# -- finding scenarios ---------------------------------------------------------------


def project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the nearest ``pyproject.toml`` at or above ``start`` (else ``start``).

    Scenario paths are relative to it; the pytest plugin uses pytest's rootdir instead,
    which is the same folder in a project configured in ``pyproject.toml``.
    """
    from replay.config import find_pyproject

    here = Path(start or os.getcwd()).resolve()
    pyproject = find_pyproject(here)
    return pyproject.parent if pyproject is not None else here


def configured_paths(table: Mapping[str, Any]) -> list[str]:
    """The scenario folders named by ``[tool.replay] scenarios`` (default ``["scenarios"]``)."""
    from replay.config import ConfigError

    value = table.get("scenarios")
    if value is None:
        return list(DEFAULT_SCENARIO_PATHS)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(
            f"[tool.replay] scenarios must be a list of folders, found {value!r} "
            '(e.g. scenarios = ["scenarios"])'
        )
    return list(value)


def folders_configured(table: Mapping[str, Any]) -> bool:
    """Whether ``[tool.replay] scenarios`` names the folders (else the default is used)."""
    return table.get("scenarios") is not None


def is_scenario_file(path: Path, roots: Iterable[Path]) -> bool:
    """A ``.yaml``/``.yml`` file inside one of ``roots`` (folders or files, absolute)."""
    if path.suffix not in SCENARIO_SUFFIXES or path.name.startswith("."):
        return False
    return any(path == root or root in path.parents for root in roots)


_CASSETTE_KEY = re.compile(rb"^cassette\s*:", re.MULTILINE)


def looks_like_scenario(path: Path) -> bool:
    """Whether a YAML file has a top-level ``cassette:`` key (read as text, not parsed).

    Other tools keep YAML in a ``scenarios/`` folder too (load-test scripts, BDD data):
    in the default folder, which nobody configured, only files that look like ours are
    scenarios. In a configured folder every YAML file is one and must validate.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return True  # let loading report it
    return _CASSETTE_KEY.search(head) is not None


def discover(
    paths: Iterable[str | os.PathLike[str]],
    *,
    root: str | os.PathLike[str],
    claim_all: bool = True,
) -> list[Path]:
    """Every scenario file under ``paths`` (relative to ``root``), sorted; missing folders
    are skipped. Without ``claim_all`` only files that ``looks_like_scenario``."""
    found: set[Path] = set()
    for entry in paths:
        base = Path(root) / entry
        if base.is_file():
            found.add(base)
        elif base.is_dir():
            found.update(
                p
                for suffix in SCENARIO_SUFFIXES
                for p in base.rglob(f"*{suffix}")
                if p.is_file() and not p.name.startswith(".")
            )
    return sorted(p for p in found if claim_all or looks_like_scenario(p))


def load_all(
    paths: Iterable[str | os.PathLike[str]] | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
) -> list[Scenario]:
    """Load every scenario of a project (its configured folders unless ``paths``); ids
    must be unique across files."""
    from replay.config import load_config

    base = Path(root) if root is not None else project_root()
    claim_all = True
    if paths is None:
        table = load_config(base)
        paths, claim_all = configured_paths(table), folders_configured(table)
    scenarios: list[Scenario] = []
    seen: dict[str, Path] = {}
    for path in discover(paths, root=base, claim_all=claim_all):
        scenario = load_scenario(path)
        if scenario.id in seen:
            raise ScenarioError(
                f"id {scenario.id!r} is already used by {seen[scenario.id]}",
                path=path,
                field="id",
                hint="give each scenario its own id",
            )
        seen[scenario.id] = path
        scenarios.append(scenario)
    return scenarios


def find(scenario_id: str, scenarios: Sequence[Scenario]) -> Scenario:
    """The scenario with this id, or a ``ScenarioError`` listing the known ids."""
    for scenario in scenarios:
        if scenario.id == scenario_id:
            return scenario
    known = ", ".join(s.id for s in scenarios) or "none"
    raise ScenarioError(
        f"no scenario with id {scenario_id!r} (known: {known})",
        hint="see 'replay scenario list'",
    )


# -- creating and updating -----------------------------------------------------------


def new_scenario(
    cassette: Cassette,
    *,
    cassette_path: str,
    scenario_id: str,
    status: Status = Status.OPEN,
    agent: str | None = None,
    owner: str | None = None,
    notes: str | None = None,
) -> Scenario:
    """A scenario for a recorded incident, its failure signature taken from the cassette.

    ``cassette_path`` is the path to store (relative to the project root). Raises
    ``ScenarioError`` when the cassette records no failure.
    """
    from replay.verdict import FailureSignature

    if cassette.outcome.unknown:
        raise ScenarioError(
            "the recording does not say how the run ended (stop_reason unknown): there is "
            "no known failure to keep",
            path=cassette.path,
            field="outcome.stop_reason",
            hint="re-record the run with its outcome (set_result, or replay record)",
        )
    if not cassette.outcome.failed:
        raise ScenarioError(
            "the run completed without an error: there is no incident to keep",
            path=cassette.path,
            field="outcome.stop_reason",
            hint="add the cassette of a failing run",
        )
    if not ID_PATTERN.match(scenario_id):
        raise ScenarioError(
            f"{scenario_id!r} is not a valid id",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    return Scenario(
        id=scenario_id,
        cassette=cassette_path,
        agent=agent,
        failure=FailureSignature.of(cassette.steps, cassette.outcome),
        status=status,
        owner=owner,
        notes=notes,
    )


def with_verdict(scenario: Scenario, verdict: Verdict) -> Scenario:
    """The scenario with ``mode``, ``last_verdict`` and ``last_reason`` from a verdict."""
    return replace(
        scenario,
        mode=Mode(verdict.mode),
        last_verdict=verdict.verdict,
        last_reason=verdict.reason,
    )


def effective_agent(scenario: Scenario, cassette: Cassette) -> str | None:
    """The agent a scenario replays: its own ``agent``, else the cassette's entrypoint."""
    return scenario.agent or cassette.context.entrypoint


def note_verdict(verdict: Verdict, *, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Record a verdict (from ``replay run``) in the scenarios it speaks for.

    A scenario is updated when it names the verdict's cassette and replays the same
    agent; returns the files written.
    """
    base = Path(root) if root is not None else project_root()
    if verdict.cassette.path is None:
        return []
    target = Path(verdict.cassette.path).resolve()
    written = []
    for scenario in load_all(root=base):
        if scenario.cassette_path(base).resolve() != target:
            continue
        if effective_agent(scenario, verdict.cassette) != verdict.replay.agent:
            continue
        written.append(save_scenario(with_verdict(scenario, verdict)))
    return written


# -- judging -------------------------------------------------------------------------


class CheckOutcome(enum.StrEnum):
    """What a scenario's check means for a test run."""

    PASSED = "passed"
    """As expected: a fixed scenario replays as fixed."""
    XFAILED = "xfailed"
    """As expected: an open scenario still reproduces (reported like a strict xfail)."""
    FAILED = "failed"
    """Not as expected; blocks the merge."""
    SKIPPED = "skipped"
    """A hypothesis scenario: not run, never counted as passing."""


@dataclass(frozen=True)
class ScenarioCheck:
    """The judgement of one scenario: the outcome, a headline and the evidence.

    ``label`` is what the summary counts: the verdict, or ``hypothesis``.
    """

    scenario: Scenario
    outcome: CheckOutcome
    label: str
    headline: str
    verdict: Verdict | None = None
    root: Path | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (CheckOutcome.PASSED, CheckOutcome.XFAILED)

    def report(self) -> str:
        """The readable failure report: verdict, first divergence, step diff, command."""
        return "\n".join(report_lines(self))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.scenario.id,
            "status": self.scenario.status.value,
            "outcome": self.outcome.value,
            "label": self.label,
            "headline": self.headline,
            "scenario_file": str(self.scenario.path) if self.scenario.path else None,
            "reproduce": reproduce_command(self.scenario),
            "verdict": self.verdict.to_dict() if self.verdict is not None else None,
        }


def reproduce_command(scenario: Scenario) -> str:
    """The command that replays the scenario by hand, from the project root."""
    command = f"replay run {scenario.cassette}"
    if scenario.agent:
        command += f" --agent {scenario.agent}"
    if scenario.on_miss:
        command += f" --on-miss {scenario.on_miss}"
        if scenario.on_miss == "live":
            command += " --allow-network"
    return command


def evaluate(scenario: Scenario, verdict: Verdict) -> ScenarioCheck:
    """What a verdict means for a scenario (see ``_evaluate``); a verdict reached under
    an on-miss assumption says so in the headline."""
    check = _evaluate(scenario, verdict)
    if verdict.assumption is None:
        return check
    return replace(check, headline=f"{check.headline}, assuming {verdict.assumption}")


def _evaluate(scenario: Scenario, verdict: Verdict) -> ScenarioCheck:
    """What a verdict means for a scenario; pure.

    ``fixed`` passes only on the verdict ``fixed``. ``open`` expects ``reproduced`` and
    fails when the incident stops reproducing. ``diverged`` and ``flaky`` are not
    evidence either way, so both statuses fail on them: the scenario's claim can no longer
    be checked, and the remedy (re-record, or record ``mode: hypothesis`` with
    ``replay scenario check --write``) is a reviewable change to the scenario file.
    """
    kind = verdict.verdict
    sid = scenario.id
    if kind in ("diverged", "flaky"):
        what = "diverges" if kind == "diverged" else "is flaky"
        return ScenarioCheck(
            scenario,
            CheckOutcome.FAILED,
            kind,
            f"incident {sid} ({scenario.status.value}) cannot be checked on evidence: the "
            f"replay {what}; re-record the incident, or run 'replay scenario check {sid} "
            "--write' to mark it a hypothesis",
            verdict,
        )
    if kind == "match":
        return ScenarioCheck(
            scenario,
            CheckOutcome.FAILED,
            kind,
            f"scenario {sid}: its cassette records a successful run, not an incident; "
            "point it at the incident's cassette",
            verdict,
        )
    if scenario.status is Status.FIXED:
        if kind == "fixed":
            return ScenarioCheck(
                scenario, CheckOutcome.PASSED, kind, f"incident {sid} stays fixed", verdict
            )
        if kind == "reproduced":
            headline = f"incident {sid} is back: the replay fails like the recorded incident"
        else:
            headline = f"incident {sid} is not fixed: the replay fails again, differently"
        return ScenarioCheck(scenario, CheckOutcome.FAILED, kind, headline, verdict)
    if kind == "reproduced":
        return ScenarioCheck(
            scenario,
            CheckOutcome.XFAILED,
            kind,
            f"incident {sid} still reproduces (open)",
            verdict,
        )
    if kind == "fixed":
        headline = (
            f"incident {sid} no longer reproduces: mark it fixed "
            f"('replay scenario fix {sid}', or set 'status: fixed' in its file)"
        )
    else:
        headline = (
            f"incident {sid} no longer reproduces as recorded: the replay fails differently; "
            f"update the scenario ('replay scenario add {scenario.cassette} --force') "
            "or re-record the incident"
        )
    return ScenarioCheck(scenario, CheckOutcome.FAILED, kind, headline, verdict)


def skipped_hypothesis(scenario: Scenario) -> ScenarioCheck:
    """The check of a scenario whose last check was a hypothesis: skipped, not run."""
    reason = scenario.last_reason or "no reason recorded"
    return ScenarioCheck(
        scenario,
        CheckOutcome.SKIPPED,
        "hypothesis",
        f"scenario {scenario.id} is a hypothesis, not evidence ({reason}); re-record the "
        f"incident and run 'replay scenario check {scenario.id} --write'",
    )


def check_scenario(
    scenario: Scenario,
    *,
    root: str | os.PathLike[str],
    repeats: int | None = None,
    run_hypothesis: bool = False,
    on_miss: str | None = None,
    allow_network: bool = False,
) -> ScenarioCheck:
    """Replay a scenario's cassette against its agent and judge it (see ``evaluate``).

    A ``mode: hypothesis`` scenario is skipped unless ``run_hypothesis``, or it declares
    an ``on_miss`` policy (its hypothesis is declared, not stale). ``on_miss`` overrides
    the scenario's own; ``live`` needs ``allow_network``. Raises
    ``ScenarioError`` when the scenario's failure no longer matches its cassette, and the
    engine's errors (``CassetteError``, ``EntrypointError``) as they come.
    """
    from replay.storage import load_cassette
    from replay.verdict import FailureSignature, verdict_for

    policy = on_miss or scenario.on_miss
    if scenario.mode is Mode.HYPOTHESIS and not run_hypothesis and policy is None:
        return skipped_hypothesis(scenario)
    base = Path(root)
    cassette = load_cassette(scenario.cassette_path(base))
    recorded = FailureSignature.of(cassette.steps, cassette.outcome)
    if recorded.key != scenario.failure.key:
        raise ScenarioError(
            f"the failure no longer matches its cassette {scenario.cassette} "
            f"(scenario: {_signature_text(scenario.failure)}; cassette: "
            f"{_signature_text(recorded)})",
            path=scenario.path,
            field="failure",
            hint=f"run 'replay scenario add {scenario.cassette} --id {scenario.id} --force'",
        )
    from replay.engine import import_recorded_entrypoint
    from replay.entrypoints import project_root

    options: dict[str, Any] = {
        "agent": scenario.agent,
        "on_miss": policy,
        "allow_network": allow_network,
    }
    if repeats is not None:
        options["repeats"] = repeats
    with project_root(base):
        if scenario.agent:
            import_recorded_entrypoint(scenario.agent, source=scenario.path)
        verdict = verdict_for(cassette, **options)
    return replace(evaluate(scenario, verdict), root=base)


def _signature_text(signature: FailureSignature) -> str:
    text = signature.stop_reason
    if signature.error_class:
        text += f" ({signature.error_class})"
    if signature.step_kind:
        text += f" at {signature.step_kind} '{signature.step_name}'"
    return text


# -- the report ------------------------------------------------------------------------

_MAX_CHANGES = 10


def report_lines(check: ScenarioCheck) -> list[str]:
    """Plain-text lines (no colour: pytest reports and CI logs) explaining a check."""
    scenario = check.scenario
    lines = [check.headline]
    verdict = check.verdict
    if verdict is not None:
        expected = "fixed" if scenario.status is Status.FIXED else "reproduced"
        lines.append(f"  verdict:  {verdict.verdict} ({verdict.mode}), expected {expected}")
        lines.append(f"            {verdict.reason}")
        lines.extend(_divergence_lines(verdict))
        lines.extend(_diff_lines(verdict.diff))
    lines.append(f"  reproduce: {reproduce_command(scenario)}")
    where = str(scenario.path) if scenario.path else scenario.id
    if check.root is not None and scenario.path is not None:
        with contextlib.suppress(ValueError):
            where = str(Path(scenario.path).resolve().relative_to(check.root.resolve()))
    owner = f" (owner: {scenario.owner})" if scenario.owner else ""
    lines.append(f"  scenario: {where}, status {scenario.status.value}{owner}")
    return lines


def _divergence_lines(verdict: Verdict) -> list[str]:
    divergence = verdict.replay.divergence
    if divergence is not None:
        message = [
            line for line in divergence.message.splitlines() if "reproduce with:" not in line
        ]
        return [f"  first divergence: {message[0]}", *(f"    {line}" for line in message[1:])]
    if verdict.verdict == "flaky" and verdict.flaky_step is not None:
        return [f"  first divergence: the replays disagree at step {verdict.flaky_step}"]
    if verdict.first_divergence is None:
        return ["  first divergence: none (the replay follows the recorded calls)"]
    return [f"  first divergence: step {verdict.first_divergence}"]


def _diff_lines(diff: HistoryDiff) -> list[str]:
    if diff.identical:
        return ["  step diff: none (same calls, same answers, same ending as recorded)"]
    lines = [
        f"  step diff (recorded {diff.original_steps} steps -> replay {diff.new_steps}, "
        f"{diff.equal_steps} equal):"
    ]
    for change in diff.changes[:_MAX_CHANGES]:
        where = change.new if change.new is not None else change.original
        lines.append(
            f"    {change.change} step {where} {change.kind} '{change.name}': {change.cause}"
        )
        lines.extend(f"      {line}" for line in change.differences[:4])
    if len(diff.changes) > _MAX_CHANGES:
        lines.append(f"    ... and {len(diff.changes) - _MAX_CHANGES} more changes")
    outcome = diff.outcome_change
    if outcome is not None:
        before, after = outcome.before, outcome.after
        parts = []
        if "stop_reason" in outcome.fields:
            parts.append(f"stop_reason {before.stop_reason} -> {after.stop_reason}")
        if "error_class" in outcome.fields:
            parts.append(f"error {before.error_class} -> {after.error_class}")
        if "output" in outcome.fields:
            parts.append("output changed")
        lines.append(f"    outcome: {'; '.join(parts)}")
    return lines
