"""Child process of ``test_trace_import.py``: a bundled incident served with OpenTelemetry
(openinference's openai instrumentation, an agent span around the run) and captured with
``replay.capture`` inside that span; writes the OTLP/JSON trace and the cassette.

``python -m tests.capture.traced_capture OUT_DIR`` (a child process: the instrumentation
patches the SDK process-wide)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import replay
from examples.support_agent.agent import LLM_URL_ENV, run
from examples.support_agent.scenarios import INCIDENTS
from examples.support_agent.tools import BACKEND
from examples.support_agent.traced import instrument, otlp_json_lines, traced_run
from replay.testing.fake_llm import FakeLLM

INCIDENT = "run_d77c"


def main(out: Path) -> int:
    incident = next(r for r in INCIDENTS if r.run_id == INCIDENT)
    provider, exporter = instrument(["openinference"], incident.release)

    def captured(**kwargs: object) -> object:
        with replay.capture(
            out / "incidents",
            run_id=incident.run_id,
            entrypoint="examples.support_agent.agent:run",
            input=incident.input,
            release=incident.release,
        ) as captured_run:
            return captured_run.set_result(run(**kwargs))

    BACKEND.reset()
    with FakeLLM(incident.script) as llm:
        os.environ[LLM_URL_ENV] = llm.openai_url
        traced_run(provider, ["openinference"], captured, incident.input)
    assert replay.flush_captures(60)
    provider.force_flush()
    (out / "trace.otlp.jsonl").write_text(otlp_json_lines(exporter.get_finished_spans()))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
