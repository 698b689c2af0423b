"""The support agent's tools, and the small in-memory backend they talk to.

The backend can be degraded (``BACKEND.search_latency_s`` / ``search_timeout_s``) so the
recording script can reproduce an outage; replay never reaches it: answers come from the
cassette.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import replay

DOCS = {
    "refund": "Refunds are issued to the original payment method within 5 business days.",
    "shipping": "Standard shipping takes 3-5 business days; express takes 1-2.",
    "returns": "Items can be returned within 30 days in their original packaging.",
    "warranty": "Electronics carry a 12-month limited warranty against defects.",
    "password": "Reset your password from Settings > Security > Reset password.",
    "invoice": "Invoices are available under Orders > Invoices as PDF downloads.",
}

ORDERS = {
    "A-1001": {"status": "shipped", "carrier": "DHL", "eta": "2026-11-27"},
    "A-1002": {"status": "processing", "carrier": None, "eta": "2026-11-30"},
    "A-1003": {"status": "delivered", "carrier": "UPS", "eta": "2026-11-20"},
    "A-1004": {"status": "cancelled", "carrier": None, "eta": None},
}


class SearchTimeout(TimeoutError):
    """The docs search backend did not answer within its deadline."""


class OrderNotFound(LookupError):
    """No order has that id."""


@dataclass
class Backend:
    """What the tools talk to; the recording script degrades it to stage an outage."""

    search_latency_s: float = 0.01
    search_timeout_s: float = 1.0
    tickets: list[dict] = field(default_factory=list)

    def reset(self) -> None:
        self.search_latency_s = 0.01
        self.search_timeout_s = 1.0
        self.tickets.clear()


BACKEND = Backend()


@replay.tool
def search_docs(query: str, limit: int = 2) -> list[dict]:
    """Full-text search over the help centre."""
    latency = min(BACKEND.search_latency_s, BACKEND.search_timeout_s)
    time.sleep(latency)
    if BACKEND.search_latency_s > BACKEND.search_timeout_s:
        raise SearchTimeout(f"search_docs timed out after {BACKEND.search_timeout_s * 1000:.0f} ms")
    words = query.lower().split()
    hits = [
        {"topic": topic, "text": text}
        for topic, text in DOCS.items()
        if any(word.startswith(topic) or topic.startswith(word) for word in words)
    ]
    return hits[:limit]


@replay.tool
def get_order(order_id: str) -> dict:
    """The status of one order."""
    time.sleep(0.005)
    order = ORDERS.get(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id!r}")
    return {"order_id": order_id, **order}


@replay.tool
def create_ticket(summary: str, priority: str = "normal") -> dict:
    """Hand the conversation to a human; returns the ticket."""
    time.sleep(0.005)
    ticket = {
        "ticket_id": f"T-{len(BACKEND.tickets) + 1:04d}",
        "summary": summary,
        "priority": priority,
    }
    BACKEND.tickets.append(ticket)
    return ticket


TOOLS = {"search_docs": search_docs, "get_order": get_order, "create_ticket": create_ticket}

TOOL_SCHEMAS = [
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the help centre articles.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "description": "Look up an order's status by its id (e.g. A-1001).",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "create_ticket",
            "description": "Escalate to a human agent.",
            "parameters": {
                "type": "object",
                "properties": {
                    "summary": {"type": "string"},
                    "priority": {"type": "string", "enum": ["low", "normal", "high"]},
                },
                "required": ["summary"],
            },
        },
    },
]
