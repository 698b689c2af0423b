"""Re-record every bundled cassette from the real agent (``make cassettes``).

Starts the fake model endpoint on 127.0.0.1, stages each run (model script, backend
state), runs ``examples.support_agent.agent:run`` live and records it with
``replay.record_run``. Only timestamps and latencies change between two recordings.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import replay
from examples.support_agent.agent import LLM_URL_ENV
from examples.support_agent.scenarios import GOLDEN, INCIDENTS, Run
from examples.support_agent.tools import BACKEND
from replay.testing.fake_llm import FakeLLM

ENTRYPOINT = "examples.support_agent.agent:run"


def record_runs(runs: Iterable[Run], folder: Path) -> list[Path]:
    """Record each run into ``folder/<run_id>.yaml``; returns the paths written."""
    written = []
    previous = os.environ.get(LLM_URL_ENV)
    try:
        for run in runs:
            BACKEND.reset()
            BACKEND.search_latency_s = run.search_latency_s
            BACKEND.search_timeout_s = run.search_timeout_s
            path = folder / f"{run.run_id}.yaml"
            with FakeLLM(run.script) as llm:
                os.environ[LLM_URL_ENV] = llm.openai_url
                cassette = replay.record_run(
                    ENTRYPOINT,
                    path,
                    input=run.input,
                    run_id=run.run_id,
                    release=run.release,
                    workflow=run.workflow,
                )
            if cassette.outcome.stop_reason != run.expected_stop_reason:
                raise SystemExit(
                    f"{path}: expected stop_reason {run.expected_stop_reason}, recorded "
                    f"{cassette.outcome.stop_reason} ({cassette.outcome.error})"
                )
            written.append(path)
    finally:
        BACKEND.reset()
        if previous is None:
            os.environ.pop(LLM_URL_ENV, None)
        else:
            os.environ[LLM_URL_ENV] = previous
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="cassettes", help="folder holding incidents/ and golden/")
    args = parser.parse_args(argv)
    out = Path(args.out)
    paths = record_runs(INCIDENTS, out / "incidents") + record_runs(GOLDEN, out / "golden")
    for path in paths:
        print(f"recorded {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
