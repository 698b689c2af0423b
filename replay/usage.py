"""Token usage of one model answer: the one reading that triage (``signals``) and release
diffs (``golden``) share, so ``replay inspect`` and ``replay golden`` count the same tokens.

An LLM step's result is either the normalised answer of a captured HTTP call (its
``usage`` holds ``input_tokens``/``output_tokens``, streamed or not) or what an
``@replay.llm`` function returned, often a provider body: OpenAI chat's
``prompt_tokens``/``completion_tokens``, Anthropic's and the Responses API's
``input_tokens``/``output_tokens``, at the top or one level down (``body.usage``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

INPUT_KEYS = ("prompt_tokens", "input_tokens")
OUTPUT_KEYS = ("completion_tokens", "output_tokens")


def tokens_of(result: Any) -> tuple[int, int] | None:
    """``(input, output)`` tokens of one answer, or None when it carries no usage block.

    A count is an int or a whole JSON number (``12.0`` is 12); a missing, null or
    non-numeric count is 0.
    """
    usage = find_usage(result)
    if usage is None:
        return None
    return _count(usage, INPUT_KEYS), _count(usage, OUTPUT_KEYS)


def find_usage(result: Any) -> Mapping[str, Any] | None:
    """The ``usage`` block of an answer: at its top, else in one of its mappings."""
    if not isinstance(result, Mapping):
        return None
    usage = result.get("usage")
    if _is_usage(usage):
        return usage
    for value in result.values():
        if isinstance(value, Mapping) and _is_usage(value.get("usage")):
            return value["usage"]
    return None


def _is_usage(value: Any) -> bool:
    return isinstance(value, Mapping) and any(key in value for key in INPUT_KEYS + OUTPUT_KEYS)


def _count(usage: Mapping[str, Any], keys: tuple[str, ...]) -> int:
    for key in keys:
        value = usage.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value):
            return int(value)
    return 0
