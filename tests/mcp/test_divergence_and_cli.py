"""An MCP server the cassette never reached is a divergence naming it; ``replay inspect``
and ``replay run`` treat an MCP tool like a local one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from replay.engine import record_run
from replay.engine import replay as replay_once
from replay.testing.fake_llm import reply, tool_call
from replay.verdict import verdict_for
from tests.mcp.server import MISSING
from tests.process import CliResult

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str | Path) -> CliResult:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    proc = subprocess.run(
        [sys.executable, "-m", "replay", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return CliResult(tuple(map(str, args)), proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    ("transport", "variable", "value", "named"),
    [
        ("stdio", "ORDERS_MCP_COMMAND", "mcp-inventory", "mcp-inventory"),
        ("http", "ORDERS_MCP_URL", "http://127.0.0.1:9/inventory", "http://127.0.0.1/inventory"),
    ],
)
def test_a_server_not_in_the_cassette_diverges_naming_it(
    env, tmp_path, monkeypatch, transport, variable, value, named
):
    cassette = record_run(
        "tests.mcp.agents:plain",
        tmp_path / "c.yaml",
        input={"order_id": "A1", "transport": transport},
    )
    env.offline()
    monkeypatch.setenv(variable, value)

    result = replay_once(cassette)

    assert result.divergence is not None
    assert result.divergence.kind == "mcp"
    assert f"MCP server '{named}' is not in the cassette" in result.divergence.message
    assert verdict_for(cassette, repeats=1).verdict == "diverged"


def test_inspect_names_the_failing_mcp_tool_and_run_reproduces(env, fake_llm, tmp_path):
    fake_llm.add(tool_call("lookup_order", {"order_id": MISSING}), reply("sorry"))
    path = tmp_path / "incident.yaml"
    record_run(
        "tests.mcp.agents:openai_agents", path, input={"order_id": MISSING, "transport": "stdio"}
    )
    env.offline()

    report = cli("inspect", path, "--json")
    assert report.code == 0, report
    signals = report.json()
    first = signals["first_error_span"]
    assert (first["kind"], first["name"]) == ("tool", "orders.lookup_order"), signals
    assert first["error_class"] == "replay.mcp.MCPToolError"
    assert signals["slowest_span"]["kind"] in ("llm", "tool")  # MCP setup is not ranked
    human = cli("inspect", path)
    assert "orders.lookup_order" in human.stdout, human

    run = cli("run", path, "--json")
    assert run.json()["verdict"] == "reproduced", run
    fixed = cli("run", path, "--agent", "tests.mcp.agents:openai_agents_fixed", "--json")
    assert fixed.json()["verdict"] == "fixed", fixed


def test_a_new_mcp_tool_call_diverges_like_a_local_one(env, tmp_path):
    cassette = record_run(
        "tests.mcp.agents:plain", tmp_path / "c.yaml", input={"order_id": "A1", "transport": "http"}
    )
    env.offline()

    result = replay_once(cassette, agent="tests.mcp.agents:plain_refund")

    info = result.divergence
    assert (info.kind, info.name) == ("tool", "orders.refund_order")
    assert info.nearest_step == 2  # orders.lookup_order
    assert result.outcome.stop_reason == "diverged"
