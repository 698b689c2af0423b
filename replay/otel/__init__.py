"""OpenTelemetry traces in: reading OTLP/JSON (``read``), triage and import as cassettes.

Only what tells a trace file from a cassette lives here, so that ``replay inspect`` of a
cassette does not import the reader.
"""

from __future__ import annotations

from pathlib import Path

TRACE_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


def is_trace_name(path: str | Path) -> bool:
    """Whether a file name looks like OTLP/JSON lines (``.jsonl``, ``.jsonl.gz``, ``.json``)."""
    return str(path).endswith(TRACE_SUFFIXES)
