"""Trace tests read real OTLP/JSON exports (``fixtures/``, copied from the instrumentation
runs described in ``fixtures/README.md``) and traces generated here with the real
instrumentation packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.process import CliResult

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Path:
    """``fixtures/<name>.otlp.jsonl``."""
    return FIXTURES / f"{name}.otlp.jsonl"


REPO = Path(__file__).resolve().parents[2]


def cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> CliResult:
    """Run ``python -m replay ARGS`` in a subprocess, 80 columns wide."""
    full_env = {k: v for k, v in os.environ.items() if k != "REPLAY_DEBUG"}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    full_env["COLUMNS"] = "80"
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "replay", *map(str, args)],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return CliResult(tuple(map(str, args)), proc.returncode, proc.stdout, proc.stderr)
