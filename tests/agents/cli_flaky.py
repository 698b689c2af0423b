"""A flaky agent: its search depends on a module-level counter that replay cannot see.

In one process the first replay asks for what was recorded and the second does not, so
the replays disagree (the nondeterminism is not captured by a boundary).
"""

from __future__ import annotations

import replay

_runs = 0


@replay.tool
def search_docs(query: str) -> list[str]:
    return [f"{query}: see the help centre"]


def run(question: str) -> dict:
    global _runs
    _runs += 1
    hits = search_docs(f"{question} (attempt {_runs})")
    return {"stop_reason": "completed", "output": hits[0]}
