"""Repeated calls, fixed: the same tool call twice ends the run with a hand-off."""

from __future__ import annotations

from typing import Any


def before_call(
    calls: list[tuple[str, dict[str, Any]]], call: tuple[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """A final result to stop with before ``call`` runs, or None to run it."""
    if call in calls:
        return {
            "stop_reason": "completed",
            "output": "I could not find this in the help centre; a colleague will follow up.",
        }
    return None
