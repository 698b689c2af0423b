"""An agent that breaks agent-replay from inside its own process, as a bug would.

It answers normally, but first replaces both cassette writers (``replay.yaml_writer.dump``
and PyYAML's representer, which every PyYAML dumper, C or pure Python, goes through) by
one raising ``KeyError``: saving the cassette then fails with an exception that is no
``ReplayError``, the CLI's "internal error" path.
"""

from __future__ import annotations

from typing import Any

import yaml.representer

import replay.yaml_writer


def _broken_represent(self: Any, data: Any) -> None:
    raise KeyError("broken")


def run(question: str) -> dict[str, Any]:
    yaml.representer.BaseRepresenter.represent = _broken_represent  # type: ignore[method-assign]
    replay.yaml_writer.dump = _broken_represent  # type: ignore[assignment]
    return {"stop_reason": "completed", "output": f"answer to {question}"}
