"""Repeated calls as released: no guard, the loop runs to max_steps (the loop incident)."""

from __future__ import annotations

from typing import Any


def before_call(
    calls: list[tuple[str, dict[str, Any]]], call: tuple[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """A final result to stop with before ``call`` runs, or None to run it."""
    return None
