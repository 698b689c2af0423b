"""An agent whose tool calls carry a volatile argument that matching is told to ignore."""

from __future__ import annotations

import uuid

import replay

ORDERS = {"A-1": "shipped", "A-2": "delayed"}


@replay.tool(ignore=("request_id",))
def get_order(order_id: str, request_id: str) -> dict:
    return {"order_id": order_id, "status": ORDERS.get(order_id, "unknown")}


def run(order_id: str) -> dict:
    """A fresh request id (stdlib uuid, deliberately not replay.uuid4) on every call."""
    order = get_order(order_id, request_id=str(uuid.uuid4()))
    return {"stop_reason": "completed", "output": order["status"]}


def run_other_order(order_id: str) -> dict:
    """A real change: another order is looked up, with a fresh request id as before."""
    return run("A-2" if order_id == "A-1" else "A-1")
