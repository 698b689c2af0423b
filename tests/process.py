"""What a ``replay`` child process did, for the tests that run the CLI in subprocesses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
