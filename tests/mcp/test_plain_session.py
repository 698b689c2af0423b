"""The plain mcp ``ClientSession`` over stdio and streamable HTTP: recorded live,
replayed with the server unavailable."""

from __future__ import annotations

import contextlib
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from replay.engine import record_run
from replay.storage import load_cassette
from replay.verdict import verdict_for
from tests.mcp.server import MISSING

AGENT = "tests.mcp.agents:plain"
FIXED = "tests.mcp.agents:plain_fixed"
TRANSPORTS = ["stdio", "http"]


def record(env, path: Path, order_id: str, transport: str, agent: str = AGENT):
    env.live()
    cassette = record_run(agent, path, input={"order_id": order_id, "transport": transport})
    env.offline()
    return cassette


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_healthy_run_replays_as_match_without_the_server(env, tmp_path, transport):
    cassette = record(env, tmp_path / "ok.yaml", "A1", transport)
    assert cassette.outcome.stop_reason == "completed"
    starts = env.starts()

    verdict = verdict_for(cassette, repeats=2)

    assert verdict.verdict == "match", verdict.reason
    assert verdict.mode == "evidence"
    assert env.starts() == starts  # no server process was started


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_failing_tool_run_reproduces_and_a_fix_verifies_fixed(env, tmp_path, transport):
    cassette = record(env, tmp_path / "fail.yaml", MISSING, transport)
    assert cassette.outcome.error_class == "tests.mcp.agents.OrderLookupFailed"

    assert verdict_for(cassette, repeats=1).verdict == "reproduced"
    fixed = verdict_for(cassette, agent=FIXED, repeats=1)
    assert fixed.verdict == "fixed", fixed.reason


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cassette_reads_like_local_tools(env, tmp_path, transport):
    cassette = load_cassette(record(env, tmp_path / "c.yaml", MISSING, transport).path)

    kinds = [(step.kind, step.name) for step in cassette.steps]
    assert kinds == [
        ("mcp", "orders.initialize"),
        ("mcp", "orders.tools/list"),  # listed twice, recorded once
        ("tool", "orders.lookup_order"),
    ]
    init, _, call = cassette.steps
    assert init.args == {"server": "mcp-orders" if transport == "stdio" else "http://127.0.0.1/mcp"}
    assert call.args == {"order_id": MISSING}
    assert call.error.error_class == "replay.mcp.MCPToolError"
    assert call.error.message == f"Error executing tool lookup_order: order {MISSING} not found"
    assert call.http["mcp"]["result"]["isError"] is True
    logged = [m["message"]["params"]["data"] for m in call.http["mcp"]["messages"]]
    assert logged == [f"looking up {MISSING}"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_resources_prompts_and_a_json_rpc_error_are_served(env, tmp_path, transport):
    agent = "tests.mcp.agents:plain_resources"
    healthy = record(env, tmp_path / "ok.yaml", "A1", transport, agent=agent)
    failing = record(env, tmp_path / "fail.yaml", MISSING, transport, agent=agent)

    assert healthy.outcome.output["notes"] == "notes on A1: handle with care"
    assert [s.name for s in healthy.steps] == [
        "orders.initialize",
        "orders.prompts/get",
        "orders.resources/read",
    ]
    read = failing.steps[-1]
    assert (read.kind, read.name, read.args) == (
        "mcp",
        "orders.resources/read",
        {"uri": "orders://B2"},
    )
    assert read.error.error_class == "replay.mcp.MCPRequestError"
    assert verdict_for(healthy, repeats=1).verdict == "match"
    replayed = verdict_for(failing, repeats=1)
    assert replayed.verdict == "reproduced", replayed.reason
    assert replayed.replay.outcome.error.message == failing.outcome.error.message


def test_a_call_in_flight_when_the_recording_ends_is_recorded_unanswered(env, tmp_path):
    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    import replay
    from tests.mcp.server import SLOW

    path = tmp_path / "cut.yaml"

    async def scenario() -> None:
        async def lookup(session: ClientSession) -> None:
            with contextlib.suppress(Exception):  # the connection closes under it
                await session.call_tool("lookup_order", {"order_id": SLOW})

        async with anyio.create_task_group() as tasks, AsyncExitStack() as stack:
            with replay.record(path):  # the connection outlives the recording
                read, write = await stack.enter_async_context(
                    stdio_client(StdioServerParameters(command="mcp-orders"))
                )
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                tasks.start_soon(lookup, session)
                await anyio.sleep(0.5)

    anyio.run(scenario)

    steps = load_cassette(path).steps
    assert [(s.index, s.name) for s in steps] == [
        (0, "orders.initialize"),
        (1, "orders.lookup_order"),
    ]
    assert steps[1].error.message.startswith("no answer before the recording ended")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_high_level_client_and_its_discover_handshake(env, tmp_path, transport):
    agent = "tests.mcp.agents:plain_client"
    healthy = record(env, tmp_path / "ok.yaml", "A1", transport, agent=agent)
    failing = record(env, tmp_path / "fail.yaml", MISSING, transport, agent=agent)

    assert healthy.outcome.stop_reason == "completed", healthy.outcome
    assert healthy.steps[0].kind == "mcp" and healthy.steps[0].name.endswith(".initialize")
    assert ("tool", "orders.lookup_order") in [(s.kind, s.name) for s in healthy.steps]
    assert verdict_for(healthy, repeats=1).verdict == "match"
    assert verdict_for(failing, repeats=1).verdict == "reproduced"
