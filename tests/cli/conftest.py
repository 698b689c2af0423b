"""CLI tests drive the real ``replay`` command in subprocesses, on cassettes recorded in
the test session from the real agents in ``tests/agents/cli_*.py``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.process import CHECKOUT, CliResult, run_replay

REPO = CHECKOUT
SUPPORT = "tests.agents.cli_support:run"
FIXED = "tests.agents.cli_support_fixed:run"
STRICT = "tests.agents.cli_support_strict:run"
REWORDED = "tests.agents.cli_support_prompt:run"
FLAKY = "tests.agents.cli_flaky:run"


def cli(
    *args: str | Path,
    cwd: Path | None = None,
    columns: int = 80,
    env: dict[str, str] | None = None,
    script: bool = False,
) -> CliResult:
    """Run ``python -m replay ARGS`` (or the installed ``replay`` script) on the checkout."""
    return run_replay(*args, cwd=cwd or REPO, columns=columns, env=env, script=script)


def record(
    path: Path, entrypoint: str, input: dict[str, Any], *extra: str
) -> tuple[Path, CliResult]:
    """``replay record`` one run; fails the test if the cassette was not written."""
    result = cli("record", entrypoint, "--input", json.dumps(input), "-o", path, *extra)
    assert result.code == 0, result
    assert path.is_file(), result
    return path, result


@dataclass(frozen=True)
class Cassettes:
    """The runs every CLI test works from, recorded once per test worker."""

    folder: Path
    failing: Path  # orders service times out, retried once: tool_error
    ok: Path  # a docs question answered: completed
    loop: Path  # the model searches the same thing until max_steps
    refund: Path  # the model calls a tool that does not exist: step_error (release r2)
    flaky: Path  # an agent whose calls depend on a module-level counter


@pytest.fixture(scope="session")
def cassettes(tmp_path_factory: pytest.TempPathFactory) -> Cassettes:
    folder = tmp_path_factory.mktemp("cassettes")
    question = {"question": "where is my order?", "order_id": "slow-7"}
    failing, _ = record(
        folder / "failing.yaml", SUPPORT, question, "--release", "r1", "--workflow", "support"
    )
    ok, _ = record(folder / "ok.yaml", SUPPORT, {"question": "how do I reset my password?"})
    loop, _ = record(folder / "loop.yaml", SUPPORT, {"question": "loop on my order"})
    refund, _ = record(
        folder / "refund.yaml", SUPPORT, {"question": "I want a refund"}, "--release", "r2"
    )
    flaky, _ = record(folder / "flaky.yaml", FLAKY, {"question": "opening hours"})
    return Cassettes(folder, failing, ok, loop, refund, flaky)


def assert_one_error_line(result: CliResult, *fragments: str) -> None:
    """Exit 3 with exactly one ``replay: error:`` line on stderr, no traceback (lines the
    test agent printed before the error aside)."""
    assert result.code == 3, result
    lines = [
        line for line in result.stderr.strip().splitlines() if not line.startswith("support agent:")
    ]
    assert len(lines) == 1, result
    assert lines[0].startswith("replay: error: "), result
    assert "Traceback" not in result.stderr, result
    for fragment in fragments:
        assert fragment in lines[0], result


def assert_fits(text: str, width: int = 80) -> None:
    """No output line is wider than ``width`` columns."""
    long = [line for line in text.splitlines() if len(line.rstrip()) > width]
    assert not long, "\n".join(long)
