"""How a traced run ended: no instrumentation records a stop_reason, so it is inferred.

The rules, in order (each result says which one decided, for the provenance block):
the agent's own return value when the agent span's output is ``{"stop_reason": ...}``
(recorded, not inferred); a loop limit on the agent (or root) span -> max_steps; any
other error there -> exception; otherwise completed, unless the last model call asked for
tools and nothing answered them (-> unknown: the trace stops mid-run).

A loop limit is an error class of ``replay.limits`` (the frameworks' own and the project's
``[tool.replay] max_steps_errors``, the list ``replay run`` uses for live exceptions),
matched by name since a trace holds no class, or a status text that says so ("Max turns
exceeded", "stopped after 4 steps", ...) when the trace has no class.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from replay.cassette import ErrorInfo, Outcome
from replay.limits import is_max_steps_name
from replay.otel.read import OtelSpan
from replay.otel.shapes import AgentRun, LlmCall, exception_of

LOOP_LIMIT_TEXT = re.compile(
    r"max(imum)?[ _]?(turns|steps|iterations|requests)[ _]?(exceeded|reached)"
    r"|(request|step|turn)_?limit"
    r"|stopped after \d+ (steps|turns)"
    r"|\bmax_steps\b",
    re.IGNORECASE,
)
TOOL_FINISH_REASONS = frozenset({"tool_calls", "tool_call", "tool_use", "function_call"})


@dataclass(frozen=True, slots=True)
class InferredOutcome:
    outcome: Outcome
    how: str
    inferred: bool = True


def infer_outcome(
    agent: AgentRun | None, root: OtelSpan | None, llm_calls: Sequence[LlmCall]
) -> InferredOutcome:
    """The run's outcome from its agent span (or root span) and its last model call."""
    output = agent.output if agent is not None else None
    if isinstance(output, Mapping) and isinstance(output.get("stop_reason"), str):
        error = output.get("error")
        info = None
        if isinstance(error, Mapping) and error.get("class"):
            info = ErrorInfo(str(error["class"]), str(error.get("message") or ""))
        elif output.get("error_class"):
            info = ErrorInfo(str(output["error_class"]), str(error or ""))
        return InferredOutcome(
            Outcome(str(output["stop_reason"]), output=output.get("output"), error=info),
            "the agent span's output holds the agent's own stop_reason",
            inferred=False,
        )
    failing = None
    if agent is not None and agent.span.failed:
        failing = agent.span
        error_class, message = agent.error_class, agent.error_message
    elif root is not None and root.failed:
        failing = root
        error_class, message = exception_of(root)
    if failing is not None:
        text = message or failing.status_message or ""
        short = (error_class or "").rpartition(".")[2]
        if (error_class and is_max_steps_name(error_class)) or LOOP_LIMIT_TEXT.search(text):
            why = f"exception {error_class}" if error_class else f"status '{_clip(text)}'"
            # A loop limit raised as an exception keeps its class; a status alone (or an
            # error.type that is a word, not a class) is no exception of the agent's.
            raised = error_class is not None and (short[:1].isupper() or "." in error_class)
            return InferredOutcome(
                Outcome(
                    "max_steps", output=output, error=_error(error_class, text) if raised else None
                ),
                f"max_steps: the {_which(failing, agent)} span ended with {why}, a loop limit",
            )
        return InferredOutcome(
            Outcome("exception", output=output, error=_error(error_class, text)),
            f"exception: the {_which(failing, agent)} span ended with "
            f"{error_class or 'an error'}" + ("" if error_class else " (class not in the trace)"),
        )
    last = llm_calls[-1] if llm_calls else None
    if agent is None and last is not None and last.finish_reason in TOOL_FINISH_REASONS:
        return InferredOutcome(
            Outcome(
                "unknown",
                output=output,
                note="the trace has no agent span and stops after a model call asked for tools",
            ),
            "unknown: no agent span, and the last model call asked for tools that no later "
            "call answered (the trace may be cut short)",
        )
    where = f"the {_which(agent.span, agent)} span" if agent is not None else "no span"
    return InferredOutcome(
        Outcome("completed", output=output),
        f"completed: {where} recorded no error",
    )


def _which(span: OtelSpan, agent: AgentRun | None) -> str:
    kind = "agent" if agent is not None and agent.span is span else "root"
    return f"{kind} '{span.name}'"


def _error(error_class: str | None, message: str) -> ErrorInfo:
    return ErrorInfo(error_class or "untraced.UnknownError", message or "")


def _clip(text: Any, width: int = 60) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."
