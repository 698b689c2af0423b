"""An agent whose tool raises an exception class defined inside a function: replay
cannot import it by name, so it comes back as ``replay.ReplayedError``."""

from __future__ import annotations

import replay


def _make_charge():
    class QuotaExceeded(Exception):
        """Defined locally on purpose: not importable as module.QualName."""

    @replay.tool
    def charge(amount: int) -> int:
        raise QuotaExceeded(f"quota exceeded for {amount}")

    return charge


charge = _make_charge()


def run(amount: int = 5) -> dict:
    charge(amount)  # the error propagates: stop_reason exception
    return {"stop_reason": "completed", "output": amount}
