"""The boundary's promises the core agent does not exercise: ``replay.random()`` and
recorded errors whose class cannot simply be built again from their message."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import replay
from replay.boundary import rebuild_error
from replay.cassette import ErrorInfo
from tests.process import run_python

HERE = __name__  # "tests.test_boundary": the recorded errors below are importable by name


def draw(n: int) -> dict[str, Any]:
    """An agent that rolls ``n`` dice with ``replay.random()``."""
    return {"stop_reason": "completed", "output": [replay.random() for _ in range(n)]}


def test_random_is_recorded_and_served_on_replay(tmp_path: Path) -> None:
    path = tmp_path / "dice.yaml"
    random.seed(7)
    recorded = replay.record_run(f"{HERE}:draw", path, input={"n": 3})
    seeded = random.Random(7)
    expected = [seeded.random(), seeded.random(), seeded.random()]
    # the first three floats of Python's Mersenne Twister seeded with 7
    assert [round(v, 6) for v in expected] == [0.323833, 0.150849, 0.650934]

    assert recorded.outcome.output == expected
    assert [(s.kind, s.name, s.args, s.result) for s in recorded.steps] == [
        ("random", "random", {}, value) for value in expected
    ]
    assert replay.load_cassette(path, cache=False).steps == recorded.steps

    random.seed(99)  # whatever the process's generator does now, replay serves the recording
    result = replay.replay(path)
    assert result.outcome.output == expected and result.identical
    assert all(isinstance(v, float) for v in result.outcome.output)
    assert replay.random() != expected[0]  # outside a session it is live again


_SEEDED_AGENT = """
import json, random, sys
import replay

def dice(n):
    return {"stop_reason": "completed", "output": [random.random() for _ in range(n)]}

random.seed(7)
live = dice(3)["output"]
random.seed(7)
with replay.record(sys.argv[1]) as run:
    run.set_result(dice(3))
random.seed(7)
with replay.replaying(sys.argv[1]):
    replayed = dice(3)["output"]
print(json.dumps({"live": live, "recorded": run.cassette.outcome.output, "replayed": replayed}))
"""


def test_a_seeded_agent_draws_the_same_numbers_recorded_as_live(tmp_path: Path) -> None:
    """A fresh process (its first session imports the HTTP seams, whose libraries draw
    from the global ``random`` at import): recording and replaying leave the process's
    generator as they found it, so an agent using ``random`` itself is not changed by
    being observed."""
    done = run_python("-c", _SEEDED_AGENT, tmp_path / "seeded.yaml", check=True)
    figures = json.loads(done.stdout)
    assert figures["recorded"] == figures["live"], figures
    assert figures["replayed"] == figures["live"], figures


_THREADED_AGENT = """
import json, random, sys, threading
import replay

stop = threading.Event()
other = threading.Thread(target=stop.wait)
other.start()  # another thread: the global generator is shared, never rewound
imported_before = "rich.style" in sys.modules
random.seed(7)
with replay.record(sys.argv[1]) as run:
    run.set_result({"stop_reason": "completed", "output": None})
after = random.random()
stop.set()
other.join()
print(json.dumps({"drew_at_import": not imported_before and "rich.style" in sys.modules,
                  "after": after, "rewound": random.Random(7).random()}))
"""


def test_with_other_threads_the_global_random_is_never_rewound(tmp_path: Path) -> None:
    """In a process with more threads, the seams leave the generator where the imports
    left it: rewinding it could hand another thread numbers it already drew."""
    done = run_python("-c", _THREADED_AGENT, tmp_path / "threaded.yaml", check=True)
    figures = json.loads(done.stdout)
    assert figures["drew_at_import"], "rich no longer draws at import: find another drawer"
    assert figures["after"] != figures["rewound"], figures


def test_a_random_call_the_recording_lacks_is_a_divergence(tmp_path: Path) -> None:
    path = tmp_path / "dice.yaml"
    replay.record_run(f"{HERE}:draw", path, input={"n": 2})
    result = replay.replay(path, agent=lambda n: draw(n + 1))
    assert result.diverged
    assert (result.divergence.step, result.divergence.kind, result.divergence.name) == (
        2,
        "random",
        "random",
    )


class TwoPartError(Exception):
    """Built from two arguments, so not from the one recorded message."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")


class PrefixedError(Exception):
    """Built from one message, but prints it with a prefix."""

    def __init__(self, message: str) -> None:
        super().__init__(f"prefixed: {message}")


class UnbuildableError(Exception):
    """Cannot even be allocated without its two arguments."""

    def __new__(cls, code: str, detail: str) -> UnbuildableError:
        return super().__new__(cls, code, detail)


class FieldsError(Exception):
    """Prints fields its constructor sets: a half-built instance cannot be printed."""

    def __init__(self, code: str, detail: str) -> None:
        self.code, self.detail = code, detail
        super().__init__(code, detail)

    def __str__(self) -> str:
        return f"{self.code} ({self.detail})"


@replay.tool
def store(key: str) -> str:
    raise TwoPartError("E42", f"disk full while storing {key}")


def save_one(key: str) -> dict[str, Any]:
    """An agent that reports which error class reached it, and its text."""
    try:
        store(key)
    except TwoPartError as exc:
        return {"stop_reason": "tool_error", "output": [type(exc).__name__, str(exc)]}
    return {"stop_reason": "completed", "output": None}


def test_an_error_built_from_two_arguments_is_raised_again_as_its_class(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    recorded = replay.record_run(f"{HERE}:save_one", path, input={"key": "k1"})
    (step,) = recorded.steps
    assert step.error == ErrorInfo(f"{HERE}.TwoPartError", "E42: disk full while storing k1")

    result = replay.replay(path)

    assert result.outcome.output == ["TwoPartError", "E42: disk full while storing k1"]
    assert result.identical


@pytest.mark.parametrize(
    ("error_class", "message", "raised", "text"),
    [
        (f"{HERE}.TwoPartError", "E1: full", TwoPartError, "E1: full"),
        (f"{HERE}.PrefixedError", "plain", PrefixedError, "plain"),
        ("builtins.TimeoutError", "slow", TimeoutError, "slow"),
        # its text comes from fields one message cannot fill (the message stays its args)
        ("builtins.UnicodeDecodeError", "bad byte", UnicodeDecodeError, ""),
        (f"{HERE}.FieldsError", "E3 (x)", replay.ReplayedError, f"{HERE}.FieldsError: E3 (x)"),
        (
            f"{HERE}.UnbuildableError",
            "E2: gone",
            replay.ReplayedError,
            f"{HERE}.UnbuildableError: E2: gone",
        ),
        ("gone.module.Error", "vanished", replay.ReplayedError, "gone.module.Error: vanished"),
        (f"{HERE}.NoSuchError", "typo", replay.ReplayedError, f"{HERE}.NoSuchError: typo"),
        ("builtins.len", "not a class", replay.ReplayedError, "builtins.len: not a class"),
        (
            "builtins.KeyboardInterrupt",
            "not an Exception",
            replay.ReplayedError,
            "builtins.KeyboardInterrupt: not an Exception",
        ),
        ("NoModule", "bare", replay.ReplayedError, "NoModule: bare"),
    ],
)
def test_rebuilding_a_recorded_error(
    error_class: str, message: str, raised: type[BaseException], text: str
) -> None:
    rebuilt = rebuild_error(ErrorInfo(error_class, message), step=4, cassette="run.yaml")
    assert type(rebuilt) is raised
    assert str(rebuilt) == text
    assert rebuilt.__notes__ == ["agent-replay: error replayed from step 4 of run.yaml"]
    if not isinstance(rebuilt, replay.ReplayedError):
        assert rebuilt.args == (message,)
    else:
        assert (rebuilt.error_class, rebuilt.message) == (error_class, message)


def test_the_note_of_a_rebuilt_error_names_what_it_knows() -> None:
    error = ErrorInfo("builtins.ValueError", "bad")
    assert rebuild_error(error).__notes__ == ["agent-replay: error replayed from the recording"]
    assert rebuild_error(error, step=0).__notes__ == ["agent-replay: error replayed from step 0"]
    assert rebuild_error(error, cassette="a.yaml").__notes__ == [
        "agent-replay: error replayed from the recording of a.yaml"
    ]
