"""Child processes of the tests: every one imports the checkout under test.

The tests run ``replay``, ``pytest`` and agents in subprocesses. A child finds
``replay`` on its ``sys.path``; without the checkout first on ``PYTHONPATH`` it would
import whatever agent-replay happens to be installed, and the tests would pass or fail
for another tree. ``child_env`` is the one place that environment is built.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[1]

# Settings of the test process that must not leak into a child: debug tracebacks, the
# options and worker id of the pytest run around the test, forced colours.
NOT_INHERITED = ("REPLAY_DEBUG", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "FORCE_COLOR")


def checkout_pythonpath(existing: str | None = None) -> str:
    """``PYTHONPATH`` with the checkout first, then what was there before."""
    rest = os.environ.get("PYTHONPATH", "") if existing is None else existing
    kept = [p for p in rest.split(os.pathsep) if p and Path(p).resolve() != CHECKOUT]
    return os.pathsep.join([str(CHECKOUT), *kept])


def child_env(
    extra: Mapping[str, str] | None = None, *, columns: int | None = 100
) -> dict[str, str]:
    """The environment of a child process: the checkout first on ``PYTHONPATH``, nothing
    of the surrounding pytest run, no colours, a fixed terminal width."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["PYTHONPATH"] = checkout_pythonpath()
    env["NO_COLOR"] = "1"
    if columns is not None:
        env["COLUMNS"] = str(columns)
    env.update(extra or {})
    return env


def run_python(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` with this interpreter and ``child_env``, output captured."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=cwd or CHECKOUT,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


@dataclass(frozen=True, repr=False)
class CliResult:
    """What one ``replay`` process did."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout as the one JSON object it must be."""
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return (
            f"replay {' '.join(self.args)} -> exit {self.code}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


def run_replay(
    *args: str | Path,
    cwd: Path | None = None,
    columns: int = 80,
    env: Mapping[str, str] | None = None,
    script: bool = False,
    timeout: float = 300,
) -> CliResult:
    """Run ``python -m replay ARGS`` (or the installed ``replay`` script) and capture it."""
    command = (
        [str(Path(sys.executable).with_name("replay"))]
        if script
        else [sys.executable, "-m", "replay"]
    )
    proc = subprocess.run(
        [*command, *map(str, args)],
        cwd=cwd or CHECKOUT,
        env={**child_env(columns=columns), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(tuple(map(str, args)), proc.returncode, proc.stdout, proc.stderr)


@dataclass(frozen=True, repr=False)
class TerminalResult:
    """What a ``replay`` process wrote with its stderr on a terminal (stdout piped)."""

    args: tuple[str, ...]
    code: int
    stdout: str
    terminal: str  # the raw bytes the terminal received, decoded, escapes included

    @property
    def text(self) -> str:
        """The terminal output without its escape sequences."""
        return ANSI_ESCAPE.sub("", self.terminal)

    def __repr__(self) -> str:
        return (
            f"replay {' '.join(self.args)} -> exit {self.code}\n"
            f"--- stdout\n{self.stdout}--- terminal\n{self.terminal!r}"
        )


ANSI_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


def run_replay_on_terminal(
    *args: str | Path, cwd: Path | None = None, columns: int = 100, timeout: float = 300
) -> TerminalResult:
    """``python -m replay ARGS`` with stderr on a pseudo-terminal ``columns`` wide, as a
    user at a shell sees it; stdout is piped, as in ``replay ... > report.txt``."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = child_env({"TERM": "xterm-256color"}, columns=None)
    for name in ("COLUMNS", "LINES", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    received = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child side is closed
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "replay", *map(str, args)],
            cwd=cwd or CHECKOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
        )
        os.close(terminal)
        terminal = -1
        reader.start()
        stdout, _ = proc.communicate(timeout=timeout)
        reader.join(timeout)
    finally:
        if terminal != -1:
            os.close(terminal)
        if reader.is_alive():
            reader.join(timeout)
        os.close(controller)
    return TerminalResult(
        tuple(map(str, args)), proc.returncode, stdout, received.decode("utf-8", "replace")
    )
