"""Trace tests read real OTLP/JSON exports (``fixtures/``, copied from the instrumentation
runs described in ``fixtures/README.md``) and traces generated here with the real
instrumentation packages, each in a child process of its own (``tests/process.py``): the
instrumentations patch the SDKs process-wide."""

from __future__ import annotations

from pathlib import Path

from tests.process import CHECKOUT, run_python, run_replay

FIXTURES = Path(__file__).parent / "fixtures"
REPO = CHECKOUT
cli = run_replay


def fixture(name: str) -> Path:
    """``fixtures/<name>.otlp.jsonl``."""
    return FIXTURES / f"{name}.otlp.jsonl"


def generate(*args: str | Path) -> None:
    """Run a trace generator (``python ARGS``) and fail the test with its stderr if it fails."""
    proc = run_python(*args, timeout=300)
    assert proc.returncode == 0, proc.stderr
