"""A prompt change: the model is asked for something the cassette never recorded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.agents.cli_support import RELEASED, SYSTEM_PROMPT, run_with

REWORDED = replace(RELEASED, system_prompt=SYSTEM_PROMPT + " Always be polite.")


def run(question: str, order_id: str | None = None) -> dict[str, Any]:
    return run_with(REWORDED, question, order_id)
