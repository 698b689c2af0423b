"""An agent whose recorded values are hostile markup, for the HTML report's escaping tests.

Its tool result, a tool error message and its final output each hold a ``<script>`` and
an ``onerror=`` payload that would set ``window.__pwned`` if a report ran them.
"""

from __future__ import annotations

import contextlib

import replay

PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@replay.tool
def lookup(query: str) -> dict:
    return {"answer": PAYLOAD, "query": query}


@replay.tool
def escalate(reason: str) -> str:
    raise ValueError(f"refused: {PAYLOAD}")


def run(question: str) -> str:
    found = lookup(question)
    with contextlib.suppress(ValueError):
        escalate(found["answer"])
    return PAYLOAD
