"""An agent that reports its failure as text, the way many entrypoints do."""

from __future__ import annotations

import replay


class CarrierUnavailable(Exception):
    """The shipping carrier's API did not answer."""


class AddressInvalid(Exception):
    """The address did not validate (recovered from by asking again)."""


@replay.tool
def validate_address(address: str) -> str:
    if not address.strip():
        raise AddressInvalid("empty address")
    return address.strip()


@replay.tool
def book_shipment(order_id: str) -> dict:
    raise CarrierUnavailable(f"carrier API down while booking {order_id}")


def run(order_id: str, style: str = "prefixed") -> dict:
    """``style``: how the error reaches the outcome: ``prefixed`` ("Class: message"),
    ``message`` (str(exc) only)."""
    try:
        validate_address("  ")
    except AddressInvalid:
        validate_address("1 Main St")
    try:
        booking = book_shipment(order_id)
    except CarrierUnavailable as exc:
        text = f"{type(exc).__name__}: {exc}" if style == "prefixed" else str(exc)
        return {"stop_reason": "tool_error", "output": None, "error": text}
    return {"stop_reason": "completed", "output": booking}
