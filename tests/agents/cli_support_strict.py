"""A regression: the new code expects tool results as {"text": ...} records."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.agents.cli_support import RELEASED, run_with

STRICT = replace(RELEASED, results_as_records=True)


def run(question: str, order_id: str | None = None) -> dict[str, Any]:
    return run_with(STRICT, question, order_id)
