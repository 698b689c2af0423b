"""Tool errors as released: the exception ends the run (the order-timeout incident)."""

from __future__ import annotations

from typing import Any


def on_tool_error(tool: str, error: Exception) -> dict[str, Any]:
    """What the agent does when a tool raises."""
    raise error
