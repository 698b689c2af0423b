"""The support agent with the fixes for the three incidents switched on.

- run_9fd2 (search degraded, retries): two attempts with exponential backoff, then a
  graceful answer instead of a failed run.
- run_a113 (malformed tool call after the release): validate the call and ask the model
  to repair it, instead of failing the step.
- run_d77c (loop until max_steps): a repeated call (same tool, same arguments) is not
  executed again; the agent answers with what it already has.
"""

from __future__ import annotations

from examples.support_agent.agent import Policy, run_with

FIXED = Policy(
    max_attempts=2,
    backoff_s=0.05,
    degrade_on_outage=True,
    repair_malformed_calls=True,
    dedupe_repeated_calls=True,
)


def run(question: str, workflow: str = "support", run_id: str = "", max_steps: int = 5) -> dict:
    """The fixed entrypoint: ``replay run CASSETTE --agent examples.support_agent.fixed:run``."""
    return run_with(FIXED, question, workflow=workflow, run_id=run_id, max_steps=max_steps)
