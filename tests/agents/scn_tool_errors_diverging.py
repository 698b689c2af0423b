"""A fix that asks the help centre after a tool fails: a call the incident never made, so
replaying the incident against it diverges."""

from __future__ import annotations

from typing import Any

import scn_support


def on_tool_error(tool: str, error: Exception) -> dict[str, Any]:
    """What the agent does when a tool raises."""
    articles = scn_support.search_help(f"{tool} unavailable")
    return {"stop_reason": "completed", "output": articles[0] if articles else "Sorry."}
