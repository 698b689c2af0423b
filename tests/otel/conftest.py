"""Trace tests read real OTLP/JSON exports (``fixtures/``, copied from the instrumentation
runs described in ``fixtures/README.md``) and traces generated here with the real
instrumentation packages."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Path:
    """``fixtures/<name>.otlp.jsonl``."""
    return FIXTURES / f"{name}.otlp.jsonl"
