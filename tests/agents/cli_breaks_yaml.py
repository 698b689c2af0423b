"""An agent that breaks agent-replay from inside its own process, as a bug would.

It answers normally, but first replaces PyYAML's representer (which every YAML dumper,
C or pure Python, goes through) by one raising ``KeyError``: saving the cassette then
fails with an exception that is no ``ReplayError``, the CLI's "internal error" path.
"""

from __future__ import annotations

from typing import Any

import yaml.representer


def _broken_represent(self: Any, data: Any) -> None:
    raise KeyError("broken")


def run(question: str) -> dict[str, Any]:
    yaml.representer.BaseRepresenter.represent = _broken_represent  # type: ignore[method-assign]
    return {"stop_reason": "completed", "output": f"answer to {question}"}
