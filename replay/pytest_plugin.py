"""pytest plugin (entry point ``pytest11``): scenarios as tests, cassettes for hand-written tests.

* Every scenario file (``scenarios/*.yaml``) is collected as one test named by its id: a
  ``fixed`` scenario passes only when replay gives ``fixed``; an ``open`` one must still
  reproduce (a strict xfail); a ``mode: hypothesis`` one is skipped with its reason.
* ``@pytest.mark.replay("cassettes/x.yaml")`` and the ``replay_cassette`` fixture record a
  cassette when it is missing and replay it otherwise (``--replay-mode``).
* ``--replay-block-network`` refuses non-loopback connections for each test.
* ``--replay-allow-host`` lets the replays of every test reach a host live (replay is
  hermetic otherwise, loopback included; see ``replay.hermetic``).

pytest loads this module in every project where agent-replay is installed, so it imports
only pytest and the standard library at import time; the engine, YAML and deepdiff load
when a scenario or cassette is actually used. Run state lives on the config (``stash``
and plugin objects registered per config), never in module globals, so in-process
pytest sessions and xdist workers never share it.
"""

from __future__ import annotations

import contextlib
import enum
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from replay.errors import ReplayError
from replay.sockets import address_text

if TYPE_CHECKING:
    from replay.cassette import Cassette
    from replay.engine import ReplayResult
    from replay.scenarios import Scenario, ScenarioCheck


class ReplayMode(enum.StrEnum):
    """What the ``replay_cassette`` fixture does (``--replay-mode``); pytest-recording's
    ``--record-mode`` in brackets."""

    REPLAY = "replay"
    """Replay the cassette; record it when it is missing (``once``). The default."""
    RECORD = "record"
    """Replay; record a missing cassette, and re-record one whose replay diverges
    (``new_episodes``)."""
    REWRITE = "rewrite"
    """Run live and record every cassette anew, replacing the old one (``rewrite``)."""
    NONE = "none"
    """Never record: replay, and fail the test when its cassette is missing (``none``)."""


DEFAULT_MODE = ReplayMode.REPLAY
PROPERTY_PREFIX = "replay_"


@dataclass(frozen=True)
class Settings:
    """The plugin's options for one pytest run, resolved by their precedence."""

    root: Path
    scenario_paths: tuple[Path, ...]
    claim_all: bool
    """Every YAML file in the folders is a scenario (they were configured, not defaulted)."""
    mode: ReplayMode
    block_network: bool
    repeats: int | None
    allow_hosts: tuple[str, ...] = ()
    """Added to ``[tool.replay] allow_hosts`` for every replay in the run."""


SETTINGS = pytest.StashKey[Settings]()
CASSETTE_FIXTURE = pytest.StashKey["CassetteFixture"]()


# -- options -------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("replay", "agent-replay (scenarios and cassettes)")
    group.addoption(
        "--replay-mode",
        choices=[mode.value for mode in ReplayMode],
        default=None,
        help="replay_cassette fixture: replay (default: record missing cassettes, replay "
        "the rest), record (also re-record diverging ones), rewrite (record all anew), "
        "none (never record). Precedence: this option > ini replay_mode > default.",
    )
    group.addoption(
        "--replay-scenarios",
        action="append",
        default=None,
        metavar="PATH",
        help="folder or file of scenario YAML files (repeatable, or comma-separated; "
        "relative to the current folder). Precedence: this option > ini replay_scenarios > "
        "[tool.replay] scenarios > 'scenarios'.",
    )
    group.addoption(
        "--replay-block-network",
        action="store_true",
        default=None,
        help="refuse non-loopback network connections in every test (undone after each).",
    )
    group.addoption(
        "--replay-repeats",
        type=int,
        default=None,
        metavar="N",
        help="replays per scenario, to tell fixed from flaky (default 3, as 'replay run').",
    )
    group.addoption(
        "--replay-allow-host",
        action="append",
        default=None,
        metavar="HOST[:PORT]",
        help="let replays reach this host live (repeatable; replay refuses every connection "
        "otherwise, loopback included). Adds to ini replay_allow_hosts and [tool.replay] "
        "allow_hosts.",
    )
    parser.addini("replay_mode", "default --replay-mode", default=None)
    parser.addini(
        "replay_scenarios",
        "scenario folders, relative to the rootdir (overrides [tool.replay] scenarios)",
        type="linelist",
        default=[],
    )
    parser.addini("replay_block_network", "default --replay-block-network", type="bool")
    parser.addini("replay_repeats", "default --replay-repeats", default=None)
    parser.addini(
        "replay_allow_hosts", "hosts replays reach live (with --replay-allow-host)", type="linelist"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "replay(cassette): the cassette the replay_cassette fixture records and replays "
        "(a path relative to the rootdir)",
    )
    settings = _resolve_settings(config)
    config.stash[SETTINGS] = settings
    if not hasattr(config, "workerinput"):  # xdist workers report to the controller
        config.pluginmanager.register(ScenarioTally(), "replay-scenario-tally")
    if settings.block_network:
        config.pluginmanager.register(NetworkGuard(), "replay-block-network")
    if settings.allow_hosts:
        config.pluginmanager.register(HostAllowance(settings.allow_hosts), "replay-allow-host")


def _resolve_settings(config: pytest.Config) -> Settings:
    root = Path(config.rootpath)
    mode_text = config.getoption("replay_mode") or config.getini("replay_mode") or DEFAULT_MODE
    try:
        mode = ReplayMode(str(mode_text).strip())
    except ValueError:
        choices = ", ".join(m.value for m in ReplayMode)
        raise pytest.UsageError(
            f"replay_mode = {mode_text!r} is not one of {choices} (ini option replay_mode)"
        ) from None
    cli_paths = config.getoption("replay_scenarios")
    ini_paths = list(config.getini("replay_scenarios"))
    if cli_paths:
        base = Path(config.invocation_params.dir)
        entries = [part.strip() for value in cli_paths for part in value.split(",")]
        paths, claim_all = tuple((base / e).resolve() for e in entries if e), True
    elif ini_paths:
        paths, claim_all = tuple((root / entry).resolve() for entry in ini_paths), True
    else:
        entries, claim_all = _pyproject_scenarios(root)
        paths = tuple((root / entry).resolve() for entry in entries)
    block = config.getoption("replay_block_network")
    if block is None:
        block = bool(config.getini("replay_block_network"))
    repeats = config.getoption("replay_repeats")
    if repeats is None and config.getini("replay_repeats"):
        try:
            repeats = int(str(config.getini("replay_repeats")).strip())
        except ValueError:
            raise pytest.UsageError(
                f"replay_repeats = {config.getini('replay_repeats')!r} is not a number"
            ) from None
    if repeats is not None and repeats < 1:
        raise pytest.UsageError(f"--replay-repeats must be at least 1, got {repeats}")
    allow_hosts = (
        *config.getini("replay_allow_hosts"),
        *(config.getoption("replay_allow_host") or ()),
    )
    if allow_hosts:
        from replay.config import ConfigError
        from replay.hermetic import parse_hosts

        try:
            parse_hosts(allow_hosts, where="--replay-allow-host")
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    return Settings(root, paths, claim_all, mode, bool(block), repeats, tuple(allow_hosts))


def _pyproject_scenarios(root: Path) -> tuple[list[str], bool]:
    """``[tool.replay] scenarios`` and whether it is set (else the default folder)."""
    from replay.config import ConfigError, load_config
    from replay.scenarios import configured_paths, folders_configured

    try:
        table = load_config(root)
        return configured_paths(table), folders_configured(table)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str | None:
    """One header line, in projects that use the plugin (a scenario folder or an option)."""
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return None
    in_use = settings.block_network or settings.mode is not DEFAULT_MODE
    if not in_use and not any(path.exists() for path in settings.scenario_paths):
        return None
    folders = ", ".join(_relative(p, settings.root) for p in settings.scenario_paths) or "none"
    network = ", network blocked" if settings.block_network else ""
    return f"replay: mode {settings.mode.value}, scenarios in {folders}{network}"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve())) or "."
    except ValueError:
        return str(path)


# -- scenarios as tests --------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """With ``testpaths`` deciding what runs, add the scenario folders it leaves out: a plain
    ``pytest`` must run the scenarios. Explicit paths on the command line are left alone."""
    config = session.config
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return
    from replay.scenarios import discover

    settings = config.stash[SETTINGS]
    base = Path(config.invocation_params.dir)
    covered = [(base / arg.split("::")[0]).resolve() for arg in config.args]
    for path in settings.scenario_paths:
        if any(path == c or c in path.parents for c in covered):
            continue
        if discover([path], root=base, claim_all=settings.claim_all):
            config.args.append(str(path))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    from replay.scenarios import is_scenario_file, looks_like_scenario

    settings = parent.config.stash[SETTINGS]
    if is_scenario_file(file_path.resolve(), settings.scenario_paths) and (
        settings.claim_all or looks_like_scenario(file_path)
    ):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """One scenario file: validated on collection, it yields one test named by its id."""

    def collect(self) -> Iterator[ScenarioItem]:
        from replay.scenarios import load_scenario

        scenario = load_scenario(self.path)
        yield ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, ReplayError):
            shown = _relative(self.path, Path(self.config.rootpath))
            return str(excinfo.value).replace(str(self.path), shown)
        return super().repr_failure(excinfo)


class ScenarioFailure(Exception):
    """A scenario did not behave as its status expects; carries the check for the report."""

    def __init__(self, check: ScenarioCheck) -> None:
        self.check = check
        super().__init__(check.headline)


class ScenarioItem(pytest.Item):
    """The test of one scenario: replay its cassette and judge it (``scenarios.evaluate``)."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        from replay.scenarios import CheckOutcome, check_scenario

        settings = self.config.stash[SETTINGS]
        scenario = self.scenario
        self.user_properties.append((f"{PROPERTY_PREFIX}scenario", scenario.id))
        self.user_properties.append((f"{PROPERTY_PREFIX}status", scenario.status.value))
        try:
            with _importable(settings.root):
                check = check_scenario(scenario, root=settings.root, repeats=settings.repeats)
        except ReplayError:
            self.user_properties.append((f"{PROPERTY_PREFIX}verdict", "error"))
            raise
        mode = check.verdict.mode if check.verdict is not None else "hypothesis"
        self.user_properties.append((f"{PROPERTY_PREFIX}verdict", check.label))
        self.user_properties.append((f"{PROPERTY_PREFIX}mode", mode))
        self.user_properties.append((f"{PROPERTY_PREFIX}outcome", check.outcome.value))
        if check.outcome is CheckOutcome.XFAILED:
            pytest.xfail(check.headline)
        if check.outcome is CheckOutcome.SKIPPED:
            pytest.skip(check.headline)
        if check.outcome is CheckOutcome.FAILED:
            raise ScenarioFailure(check)

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> Any:
        if isinstance(excinfo.value, ScenarioFailure):
            return excinfo.value.check.report()
        if isinstance(excinfo.value, ReplayError):
            root = str(self.config.stash[SETTINGS].root)
            return f"scenario {self.scenario.id}: {excinfo.value}".replace(f"{root}/", "")
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario {self.scenario.id} ({self.scenario.status.value})"


@contextlib.contextmanager
def _importable(root: Path) -> Iterator[None]:
    """The project root on ``sys.path`` while a scenario's agent is imported, then not."""
    with pytest.MonkeyPatch.context() as patch:
        if str(root) not in sys.path:
            patch.syspath_prepend(str(root))
        yield


SUMMARY_ORDER = ("reproduced", "fixed", "diverged", "hypothesis")
EXTRA_ORDER = ("regressed", "flaky", "match", "error")


class ScenarioTally:
    """Counts scenario verdicts from test reports (under xdist, the workers' reports, which
    carry ``user_properties``) and prints the summary line; one per pytest run."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == f"{PROPERTY_PREFIX}verdict":
                self.counts[str(value)] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.counts:
            return
        terminalreporter.write_sep("-", summary_line(self.counts))


def summary_line(counts: Counter[str]) -> str:
    """``replay scenarios: 1 reproduced, 2 fixed, 0 diverged, 1 hypothesis`` (+ others)."""
    parts = [f"{counts.get(label, 0)} {label}" for label in SUMMARY_ORDER]
    parts += [f"{counts[label]} {label}" for label in EXTRA_ORDER if counts.get(label)]
    return "replay scenarios: " + ", ".join(parts)


# -- cassettes for hand-written tests ------------------------------------------------


class CassetteFixture:
    """What ``replay_cassette`` yields: run the agent through it, recorded or replayed.

    ``run(agent, input)`` calls ``agent`` ("module:function" or a callable) with ``input``
    (a mapping as keyword arguments, None as none, else one argument) and returns what it
    returns. Whether that run is recorded live or replayed offline follows ``mode``. In a
    replay, a call the cassette holds no answer for raises ``Divergence``, and fails the
    test even when the test catches it.
    """

    def __init__(self, path: Path, mode: ReplayMode, *, root: Path) -> None:
        self.path = path
        self.mode = mode
        self.root = root
        self.action: str | None = None
        """``recorded`` or ``replayed`` once ``run`` was called."""
        self.result: ReplayResult | None = None
        """The last replay (None when the run was recorded)."""
        self.cassette: Cassette | None = None
        """The cassette recorded or replayed."""
        self.properties: list[tuple[str, object]] = []

    def run(self, agent: str | Callable[..., Any], input: Any = None) -> Any:
        """Run ``agent`` on ``input`` against the cassette; returns the agent's result."""
        from replay.engine import import_entrypoint
        from replay.errors import CassetteError, SessionError

        if self.action is not None:
            raise SessionError(
                f"{self.path}: replay_cassette runs one agent run per test (one run per "
                "cassette); split the test, or give the other run its own cassette"
            )
        if isinstance(agent, str):
            fn, entrypoint = import_entrypoint(agent), agent
        else:
            fn, entrypoint = agent, _entrypoint_name(agent)
        exists = self.path.is_file()
        if self.mode is ReplayMode.NONE and not exists:
            raise CassetteError(
                "no such cassette, and --replay-mode=none never records",
                path=str(self.path),
                hint="record it once with --replay-mode=replay (the default)",
            )
        if self.mode is ReplayMode.REWRITE or not exists:
            return self._record(fn, entrypoint, input)
        return self._replay(fn, entrypoint, input)

    def _record(self, fn: Callable[..., Any], entrypoint: str | None, input: Any) -> Any:
        from replay.engine import call_entrypoint, record

        self._set_action("recorded")
        with record(self.path, entrypoint=entrypoint, input=input) as recording:
            value = call_entrypoint(fn, input)
            recording.set_result(value)
        self.cassette = recording.cassette
        return value

    def _replay(self, fn: Callable[..., Any], entrypoint: str | None, input: Any) -> Any:
        from replay.engine import call_entrypoint, replaying
        from replay.storage import load_cassette

        self._set_action("replayed")
        self.cassette = load_cassette(self.path)
        state = None
        try:
            with replaying(self.cassette) as state:
                value = call_entrypoint(fn, input)
                state.set_result(value)
        except Exception:
            self.result = state.result if state is not None else None
            if self._rerecord_after_divergence():
                return self._record(fn, entrypoint, input)
            raise
        self.result = state.result
        if self._rerecord_after_divergence():
            return self._record(fn, entrypoint, input)
        if self.result is not None:
            self.result.raise_for_divergence()
        return value

    def _rerecord_after_divergence(self) -> bool:
        return self.mode is ReplayMode.RECORD and self.result is not None and self.result.diverged

    def _set_action(self, action: str) -> None:
        self.action = action
        self.properties[:] = [
            (f"{PROPERTY_PREFIX}cassette", _relative(self.path.resolve(), self.root)),
            (f"{PROPERTY_PREFIX}cassette_action", action),
        ]

    def check_after_test(self) -> None:
        """Fail a passing test whose replay diverged (it caught the ``Divergence``)."""
        if self.action == "replayed" and self.result is not None:
            self.result.raise_for_divergence()


def _entrypoint_name(fn: Callable[..., Any]) -> str | None:
    """``module:qualname`` when that can be imported again (not a lambda or local)."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    return f"{module}:{qualname}"


def cassette_path_for(item: pytest.Item, root: Path) -> Path:
    """The marker's cassette (relative to the rootdir), else
    ``<test folder>/cassettes/<module>/<test name>.yaml``."""
    marker = item.get_closest_marker("replay")
    if marker is not None:
        if len(marker.args) > 1 or set(marker.kwargs) - {"cassette"}:
            raise pytest.UsageError(
                f"{item.nodeid}: use @pytest.mark.replay('cassettes/name.yaml') (one path)"
            )
        given = marker.args[0] if marker.args else marker.kwargs.get("cassette")
        if given:
            path = Path(str(given))
            return path if path.is_absolute() else root / path
    test_file = Path(item.path)
    name = re.sub(r"[^\w.-]+", "_", item.name).strip("_") or "test"
    return test_file.parent / "cassettes" / test_file.stem / f"{name}.yaml"


@pytest.fixture
def replay_cassette(request: pytest.FixtureRequest) -> Iterator[CassetteFixture]:
    """Run the test's agent against a cassette: recorded when missing, replayed otherwise
    (see ``--replay-mode``); the cassette is ``@pytest.mark.replay(path)`` or one per test."""
    settings = request.config.stash[SETTINGS]
    item = request.node
    fixture = CassetteFixture(
        cassette_path_for(item, settings.root), settings.mode, root=settings.root
    )
    item.stash[CASSETTE_FIXTURE] = fixture
    yield fixture
    item.user_properties.extend(fixture.properties)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    result = yield
    fixture = item.stash.get(CASSETTE_FIXTURE, None)
    if fixture is not None:
        fixture.check_after_test()
    return result


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("replay") is not None and "replay_cassette" not in getattr(
            item, "fixturenames", ()
        ):
            item.warn(
                pytest.PytestWarning(
                    "@pytest.mark.replay names a cassette for the replay_cassette fixture, "
                    "which this test does not use; add it as an argument"
                )
            )


# -- blocking the network ------------------------------------------------------------


class HostAllowance:
    """``--replay-allow-host``: the replays of each test (setup, call and teardown) also
    reach these hosts live."""

    def __init__(self, hosts: tuple[str, ...]) -> None:
        self.hosts = hosts

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        from replay.hermetic import allowing

        with allowing(self.hosts, where="--replay-allow-host"):
            return (yield)


class SocketBlocked(ReplayError):
    """``--replay-block-network`` refused a connection to a non-loopback address."""


class NetworkGuard:
    """Blocks non-loopback connections and datagrams around each test (setup, call and
    teardown) with the audit hook of ``replay.hermetic``, which also sees ``sendmsg`` and
    sockets made from ``_socket``; nothing is patched, and the guard ends with the test."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        from replay.hermetic import blocking_non_loopback

        where = item.nodeid

        def refusal(address: Any) -> SocketBlocked:
            return SocketBlocked(
                f"--replay-block-network refused a connection to {address_text(address)} in "
                f"{where}; replay it from a cassette (replay_cassette) or drop the option"
            )

        with blocking_non_loopback(refusal):
            return (yield)
