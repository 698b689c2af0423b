"""``--on-miss live``: the fix of the bundled run_a113 asks a model (the fake model
server on loopback) for the answers the incident's cassette does not hold; they are kept
in ``run_a113.live.yaml``, which then replays on evidence."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from replay.testing.fake_llm import FakeLLM, reply, tool_call
from tests.cli.conftest import cli

REPO = Path(__file__).resolve().parents[2]
FIXED = "examples.support_agent.fixed:run"
ANSWER = "Your order A-1002 is being prepared; it should arrive by 2026-11-30."


def test_live_answers_are_kept_in_a_derived_cassette_that_replays_on_evidence(tmp_path):
    incident = tmp_path / "run_a113.yaml"
    shutil.copy(REPO / "cassettes" / "incidents" / "run_a113.yaml", incident)
    original = incident.read_text()
    # The model, asked to repair its malformed call, sends valid JSON, then answers.
    with FakeLLM([tool_call("get_order", {"order_id": "A-1002"}), reply(ANSWER)]) as model:
        env = {"SUPPORT_AGENT_LLM_URL": model.openai_url}
        args = ("run", incident, "--agent", FIXED, "--on-miss", "live", "--json")
        refused = cli(*args, cwd=tmp_path, env=env)
        assert refused.code == 3 and "--allow-network" in refused.stderr, refused
        assert model.requests == []
        result = cli(*args, "--allow-network", cwd=tmp_path, env=env)
        assert result.code == 0, result
        # Only the first of the three replays asked the model: the others were served
        # from the derived cassette (the run is deterministic given those answers).
        assert len(model.requests) == 2
        host = f"127.0.0.1:{model.port}"
    data = result.json()
    assert (data["verdict"], data["mode"], data["on_miss"]) == ("fixed", "hypothesis", "live")
    assert data["headline"].endswith("(3 calls answered live)")
    # Recorded: clock, the malformed model answer. Live: the repaired call, the order
    # lookup the model then asks for (the tool's own code), the final answer.
    assert [
        (c["step"], c["kind"], c["name"], c["answered_by"], c["host"])
        for c in data["assumed_calls"]
    ] == [
        (2, "llm", "gpt-4o-mini", None, host),
        (3, "tool", "get_order", None, None),
        (4, "llm", "gpt-4o-mini", None, host),
    ]
    derived = tmp_path / "run_a113.live.yaml"
    assert data["derived_cassette"] == str(derived)
    assert incident.read_text() == original  # the recording itself is never changed
    document = yaml.safe_load(derived.read_text())
    assert [s["index"] for s in document["steps"]] == [0, 1, 2, 3, 4]
    assert document["outcome"]["stop_reason"] == "step_error"  # still the incident
    provenance = document["provenance"]
    assert (provenance["source"], provenance["recorded_steps"]) == ("derived", 2)
    assert [(a["step"], a["host"], a["asked_by"]) for a in provenance["live_answers"]] == [
        (2, host, FIXED),
        (3, None, FIXED),
        (4, host, FIXED),
    ]
    assert "sk-demo" not in derived.read_text()

    # Offline again: the fix is now fixed on evidence, the released code still reproduces.
    fixed = cli("run", derived, "--agent", FIXED, "--json", cwd=tmp_path).json()
    assert (fixed["verdict"], fixed["mode"], fixed["assumed_calls"]) == ("fixed", "evidence", [])
    assert "served entirely from recorded answers" in fixed["reason"]
    released = cli("run", derived, "--json", cwd=tmp_path).json()
    assert (released["verdict"], released["mode"]) == ("reproduced", "evidence")
