"""Phrases shared by the terminal, markdown and JUnit views of a golden report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from replay.golden import RunRecord

WORKFLOW_COLUMNS = (
    ("error_rate", "Error rate"),
    ("p95_latency_ms", "p95 latency"),
    ("steps_per_run", "Steps/run"),
    ("repeated_tool_calls", "Repeated tool calls"),
    ("tokens", "Tokens"),
)


OVERALL_ROWS = (
    ("error_rate", "Error rate"),
    ("p50_latency_ms", "p50 latency"),
    ("p95_latency_ms", "p95 latency"),
    ("steps_per_run", "Steps per run"),
    ("llm_calls", "LLM calls"),
    ("tool_calls", "Tool calls"),
    ("repeated_tool_calls", "Repeated tool calls"),
    ("input_tokens", "Input tokens"),
    ("output_tokens", "Output tokens"),
)


def stop_reasons_text(reasons: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in reasons.items()) or "-"


def divergence_text(record: RunRecord) -> str:
    """Where a run first changed, in a phrase."""
    if record.divergence:
        info = record.divergence
        text = f"step {info['step']} {info['kind']} '{info['name']}': {info['reason']}"
        if info.get("nearest_step") is not None and not info.get("args_diff"):
            # Same call as a recorded step whose answer was already served: a repeat.
            text += f" (repeats recorded step {info['nearest_step']})"
        return text
    if record.verdict == "flaky" and record.flaky_step is not None:
        return f"replays disagree at step {record.flaky_step}"
    if record.changes:
        return record.changes[0]
    if record.outcome_change:
        return "outcome: " + ", ".join(record.outcome_change["fields"]) + " changed"
    return record.reason if record.verdict != "match" else ""


MODE_NOTES = {
    "evidence": "decided on recorded answers alone",
    "hypothesis": "not proven on recorded answers",
}
"""What a verdict's mode means, in the words ``replay run`` prints."""
