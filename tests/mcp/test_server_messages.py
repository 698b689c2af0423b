"""Server messages pass through live while recording and are kept with their step: a
tool that reports progress and asks the client's model mid-call (sampling) completes over
stdio and HTTP, and its replay reports and asks the client again, from the cassette."""

from __future__ import annotations

import pytest

from replay.engine import record_run
from replay.verdict import verdict_for

AGENT = "tests.mcp.agents:plain_summary"


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_sampling_request_reaches_the_client_live_and_again_on_replay(env, tmp_path, transport):
    cassette = record_run(
        AGENT, tmp_path / "s.yaml", input={"order_id": "A1", "transport": transport}
    )

    assert cassette.outcome.output == {
        "summary": "summary: all good",
        "asked": ["summarize A1"],
        "progress": [[1.0, 2.0, "asking the model"]],
    }
    step = next(s for s in cassette.steps if s.kind == "tool")
    assert step.name == "orders.summarize_order"
    kept = [(m["from"], m["message"].get("method")) for m in step.http["mcp"]["messages"]]
    # In arrival order: over HTTP, progress and the sampling request may come on different
    # streams, in either order; the client's answer always follows the request.
    assert sorted(kept, key=str) == [
        ("client", None),
        ("server", "notifications/progress"),
        ("server", "sampling/createMessage"),
    ]
    assert kept.index(("client", None)) > kept.index(("server", "sampling/createMessage"))

    env.offline()
    verdict = verdict_for(cassette, repeats=1)
    assert verdict.verdict == "match", verdict.reason
    # The sampling and progress callbacks ran again, from the cassette.
    assert verdict.replay.outcome.output == cassette.outcome.output
