"""A golden set recorded by a real agent (tests/agents/gld_agent.py), once per session.

Six runs over two workflows and two models: ``refund`` (gld-small, OpenAI-style usage)
and ``faq`` (gld-large, Anthropic-style usage), under ``refund/`` and ``faq/``. Tests
that change the set copy it first (``golden_copy``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import replay

AGENT = "tests.agents.gld_agent:run"
REGRESSED = "tests.agents.gld_agent_regressed:run"
FLAKY = "tests.agents.gld_agent_flaky:run"
GIVES_UP = "tests.agents.gld_agent_gives_up:run"  # refund runs fail, every call served
REWORDED = "tests.agents.gld_agent_prompt:run"  # refund prompt changed: refund runs diverge
REWORDED_ALL = "tests.agents.gld_agent_prompt:run_all"  # every run diverges at step 0
BASELINE = "v1.0"
RUNS = (
    ("refund", "refund-a100", "Please refund order A-100"),
    ("refund", "refund-b7", "I want a refund for order B-7"),
    ("refund", "refund-c55", "Refund the broken lamp, order C-55"),
    ("faq", "faq-password", "How do I reset my password?"),
    ("faq", "faq-invoice", "Where do I find the invoice page?"),
    ("faq", "faq-plan", "Can I change my plan mid-month?"),
)


def record_set(folder: Path) -> Path:
    """Record the golden runs live with the healthy agent into ``folder``."""
    for workflow, run_id, question in RUNS:
        replay.record_run(
            AGENT,
            folder / workflow / f"{run_id}.yaml",
            input={"workflow": workflow, "question": question},
            run_id=run_id,
            release=BASELINE,
            workflow=workflow,
        )
    return folder


@pytest.fixture(scope="session")
def golden_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recorded golden set (read-only: copy it with ``golden_copy`` to change it)."""
    return record_set(tmp_path_factory.mktemp("golden-set") / "golden")


@pytest.fixture
def golden_copy(golden_set: Path, tmp_path: Path) -> Path:
    """A private copy of the golden set at ``tmp_path/cassettes/golden``."""
    target = tmp_path / "cassettes" / "golden"
    shutil.copytree(golden_set, target)
    return target
