"""``replay run --json`` reports the waits each replay skipped."""

from __future__ import annotations

import replay
from tests.agents import backoff
from tests.cli.conftest import cli


def test_run_reports_the_skipped_waits(tmp_path):
    path = tmp_path / "backoff.yaml"
    backoff.BACKEND["failures_left"] = 2
    try:
        replay.record_run("tests.agents.backoff:run", path, input={"symbol": "ACME"})
    finally:
        backoff.BACKEND["failures_left"] = 0
    shown = cli("run", path, "--agent", "tests.agents.backoff:run_patient", "-n", "2", "--json")
    assert shown.code == 0, shown
    data = shown.json()
    assert (data["verdict"], data["mode"]) == ("match", "evidence")
    assert [r["virtual_wait_s"] for r in data["replays"]] == [30.0, 30.0]
