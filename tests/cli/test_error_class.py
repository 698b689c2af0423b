"""The CLI names the cause of a run whose entrypoint reported its error as text."""

from __future__ import annotations

from tests.cli.conftest import cli

CARRIER = "tests.agents.text_errors.CarrierUnavailable"


def test_record_and_inspect_take_the_class_of_the_failing_step(tmp_path):
    path = tmp_path / "carrier.yaml"
    recorded = cli(
        "record", "tests.agents.text_errors:run", "-i", '{"order_id": "A-7"}', "-o", path, "--json"
    )
    assert recorded.code == 0, recorded
    assert recorded.json()["error_class"] == CARRIER
    inspected = cli("inspect", path, "--json").json()
    assert inspected["error_class"] == CARRIER
    assert inspected["hypotheses"][0]["name"] == "tool_failure"
    shown = cli("inspect", path)
    assert "CarrierUnavailable: carrier API down" in shown.stdout
    assert "CarrierUnavailable: CarrierUnavailable" not in shown.stdout
