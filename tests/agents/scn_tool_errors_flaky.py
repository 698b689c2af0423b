"""A fix that depends on state the cassette does not capture: it recovers on the first
call in a process and crashes on later ones, so replays of the incident disagree."""

from __future__ import annotations

import itertools
from typing import Any

_calls = itertools.count()


def on_tool_error(tool: str, error: Exception) -> dict[str, Any]:
    """What the agent does when a tool raises."""
    if next(_calls) == 0:
        return {"stop_reason": "completed", "output": "Sorry, please try again later."}
    raise error
