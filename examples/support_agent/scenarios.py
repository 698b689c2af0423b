"""The runs the bundled cassettes are recorded from: what the model says, and the world.

Each ``Run`` scripts the fake model endpoint (``replay.testing.fake_llm``) and sets up the
tool backend, then the real agent is run live against them and recorded. Nothing in a
cassette is written by hand: ``python -m examples.support_agent.record`` rebuilds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from replay.testing.fake_llm import (
    ScriptItem,
    malformed_tool_call,
    reply,
    slow,
    tool_call,
    tool_calls,
)

INCIDENT_RELEASE = "2026.11.3"
GOLDEN_RELEASE = "2026.11.2"


@dataclass(frozen=True)
class Run:
    """One recorded run: its ids, input, the model's script and the backend's state."""

    run_id: str
    workflow: str
    question: str
    script: tuple[ScriptItem, ...]
    release: str = GOLDEN_RELEASE
    search_latency_s: float = 0.01
    search_timeout_s: float = 1.0
    max_steps: int = 5
    expected_stop_reason: str = "completed"
    notes: str = ""

    @property
    def input(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "workflow": self.workflow,
            "run_id": self.run_id,
            "max_steps": self.max_steps,
        }


INCIDENTS = (
    Run(
        run_id="run_9fd2",
        workflow="support",
        question="How long does a refund take to reach my card?",
        script=(tool_call("search_docs", {"query": "refund timing"}),),
        release=INCIDENT_RELEASE,
        search_latency_s=5.0,
        search_timeout_s=0.25,
        expected_stop_reason="tool_error",
        notes="search_docs degrades (timeouts); the agent retries, then fails the run",
    ),
    Run(
        run_id="run_a113",
        workflow="orders",
        question="Where is my order A-1002?",
        script=(slow(0.08, malformed_tool_call("get_order", '{"order_id": "A-1002"')),),
        release=INCIDENT_RELEASE,
        expected_stop_reason="step_error",
        notes="after the release the model sends a tool call with truncated JSON arguments",
    ),
    Run(
        run_id="run_d77c",
        workflow="support",
        question="Can I return an opened item?",
        script=tuple(
            slow(0.03, tool_call("search_docs", {"query": "returns opened item"})) for _ in range(5)
        ),
        release=INCIDENT_RELEASE,
        expected_stop_reason="max_steps",
        notes="the model keeps asking for the same search; the agent loops to max_steps",
    ),
)


def _support(run_id: str, question: str, query: str, answer: str) -> Run:
    return Run(
        run_id, "support", question, (tool_call("search_docs", {"query": query}), reply(answer))
    )


def _order(run_id: str, question: str, order_id: str, answer: str) -> Run:
    return Run(
        run_id, "orders", question, (tool_call("get_order", {"order_id": order_id}), reply(answer))
    )


def _ticket(run_id: str, question: str, summary: str, priority: str, answer: str) -> Run:
    call = tool_call("create_ticket", {"summary": summary, "priority": priority})
    return Run(run_id, "escalation", question, (call, reply(answer)))


GOLDEN = (
    _support(
        "gold_s01", "How long do refunds take?", "refund", "Refunds take up to 5 business days."
    ),
    _support("gold_s02", "How long is shipping?", "shipping", "Standard shipping takes 3-5 days."),
    _support("gold_s03", "What is your returns policy?", "returns", "You have 30 days to return."),
    _support("gold_s04", "Is my laptop under warranty?", "warranty", "Yes, for 12 months."),
    _support("gold_s05", "I forgot my password", "password reset", "Go to Settings > Security."),
    _support("gold_s06", "Where do I find invoices?", "invoice", "Under Orders > Invoices."),
    Run("gold_s07", "support", "Hi there!", (reply("Hello! How can I help you today?"),)),
    Run("gold_s08", "support", "Thanks, that's all.", (reply("You're welcome, have a nice day!"),)),
    Run(
        "gold_s09",
        "support",
        "Can I return something I got refunded?",
        (
            tool_call("search_docs", {"query": "returns"}),
            tool_call("search_docs", {"query": "refund"}),
            reply("Yes: return it within 30 days; the refund follows in 5 days."),
        ),
    ),
    _order("gold_o01", "Where is order A-1001?", "A-1001", "A-1001 shipped with DHL, due Nov 27."),
    _order("gold_o02", "Status of A-1002?", "A-1002", "A-1002 is being processed."),
    _order("gold_o03", "Did A-1003 arrive?", "A-1003", "A-1003 was delivered on Nov 20."),
    _order("gold_o04", "What happened to A-1004?", "A-1004", "A-1004 was cancelled."),
    Run(
        "gold_o05",
        "orders",
        "Compare A-1001 and A-1003",
        (
            tool_calls(
                ("get_order", {"order_id": "A-1001"}), ("get_order", {"order_id": "A-1003"})
            ),
            reply("A-1001 is on its way; A-1003 was delivered."),
        ),
    ),
    Run(
        "gold_o06",
        "orders",
        "Where is order A-9999?",
        (tool_call("get_order", {"order_id": "A-9999"}), reply("I can't find order A-9999.")),
    ),
    Run("gold_o07", "orders", "Can you check my order?", (reply("Sure, what is the order id?"),)),
    _ticket(
        "gold_e01",
        "I want to speak to a human",
        "customer asks for a human",
        "normal",
        "I've opened ticket T-0001; someone will reply soon.",
    ),
    _ticket(
        "gold_e02",
        "My package arrived broken!",
        "damaged delivery",
        "high",
        "Sorry! Ticket T-0001 is open with high priority.",
    ),
    _ticket(
        "gold_e03",
        "Please close my account",
        "account closure request",
        "low",
        "Ticket T-0001 is open for the account closure.",
    ),
    Run(
        "gold_e04",
        "escalation",
        "The refund never arrived, help",
        (
            tool_call("search_docs", {"query": "refund"}),
            tool_call("create_ticket", {"summary": "refund missing", "priority": "high"}),
            reply("Refunds take 5 days; I've opened ticket T-0001 to chase it."),
        ),
    ),
    Run("gold_e05", "escalation", "Just checking in", (reply("No ticket needed. Anything else?"),)),
    Run(
        "gold_e06",
        "escalation",
        "Warranty claim for a broken phone",
        (
            tool_call("search_docs", {"query": "warranty"}),
            tool_call("create_ticket", {"summary": "warranty claim: phone", "priority": "normal"}),
            reply("You're covered for 12 months; ticket T-0001 is open."),
        ),
    ),
)
