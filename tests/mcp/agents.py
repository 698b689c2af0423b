"""Agents that get their tools from the "orders" MCP server (``tests/mcp/server.py``).

One per client: the plain mcp ``ClientSession``, openai-agents and pydantic-ai. Each is
called as ``run(order_id=..., transport="stdio"|"http")``: over stdio the server is the
command ``mcp-orders`` found on PATH, over HTTP the URL in ``ORDERS_MCP_URL``; the models
are the fake LLM server at ``OPENAI_BASE_URL``. A lookup that fails (``isError``) makes
the agent raise ``OrderLookupFailed``; the ``*_fixed`` variants answer politely instead.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Any

STDIO_COMMAND = "mcp-orders"
MODEL = "gpt-4o-mini"
PROMPT = "Where is order {order_id}?"


class OrderLookupFailed(Exception):
    """The orders server could not look the order up."""


def orders_url() -> str:
    return os.environ["ORDERS_MCP_URL"]


def orders_command() -> str:
    return os.environ.get("ORDERS_MCP_COMMAND", STDIO_COMMAND)


def _transport(transport: str) -> Any:
    from mcp import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    if transport == "stdio":
        return stdio_client(StdioServerParameters(command=orders_command()))
    return streamable_http_client(orders_url())


# --- the plain ClientSession ----------------------------------------------------------


async def _plain_lookup(order_id: str, transport: str) -> Any:
    from mcp import ClientSession

    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(_transport(transport))
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        listed = await session.list_tools()
        assert "lookup_order" in [tool.name for tool in listed.tools]
        result = await session.call_tool("lookup_order", {"order_id": order_id})
        await session.list_tools()  # a repeated setup request: recorded once
    return result


async def plain(order_id: str, transport: str = "stdio") -> dict[str, Any]:
    result = await _plain_lookup(order_id, transport)
    if result.is_error:
        raise OrderLookupFailed(result.content[0].text)
    return {"order_id": order_id, "details": result.content[0].text}


async def plain_refund(order_id: str, transport: str = "stdio") -> str:
    """A change to ``plain``: it refunds instead of looking the order up."""
    from mcp import ClientSession

    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(_transport(transport))
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        await session.list_tools()
        result = await session.call_tool("refund_order", {"order_id": order_id, "amount": 5})
    return result.content[0].text


async def plain_fixed(order_id: str, transport: str = "stdio") -> dict[str, Any]:
    result = await _plain_lookup(order_id, transport)
    if result.is_error:
        return {"order_id": order_id, "details": None, "answer": "no such order"}
    return {"order_id": order_id, "details": result.content[0].text}


async def plain_summary(order_id: str, transport: str = "stdio") -> dict[str, Any]:
    """A tool that reports progress and asks the client's model mid-call (MCP sampling):
    the request must reach the client while the call is in flight, or the server waits
    forever."""
    import anyio
    from mcp import ClientSession, types

    asked: list[str] = []
    progress: list[Any] = []

    async def progressed(done: float, total: float | None, message: str | None) -> None:
        progress.append([done, total, message])

    async def sampling(context: Any, params: Any) -> Any:
        asked.append(params.messages[0].content.text)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="all good"), model=MODEL
        )

    with anyio.fail_after(30):
        async with AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(_transport(transport))
            session = await stack.enter_async_context(
                ClientSession(read, write, sampling_callback=sampling)
            )
            await session.initialize()
            result = await session.call_tool(
                "summarize_order", {"order_id": order_id}, progress_callback=progressed
            )
    return {"summary": result.content[0].text, "asked": asked, "progress": progress}


async def plain_resources(order_id: str, transport: str = "stdio") -> dict[str, Any]:
    """Resources and prompts: a JSON-RPC error answer (an unknown order's notes) raises
    ``MCPError`` in the client, live and replayed."""
    from mcp import ClientSession, MCPError

    failure = None
    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(_transport(transport))
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        prompt = await session.get_prompt("apology", {"order_id": order_id})
        try:
            notes = await session.read_resource(f"orders://{order_id}")
        except MCPError as exc:
            failure = str(exc)
    if failure is not None:
        raise OrderLookupFailed(failure)
    return {"prompt": prompt.messages[0].content.text, "notes": notes.contents[0].text}


async def plain_client(order_id: str, transport: str = "stdio") -> str:
    """The mcp SDK's high-level ``Client``: it probes the 2026 ``server/discover``
    handshake first."""
    from mcp import Client

    async with Client(_transport(transport)) as client:
        result = await client.call_tool("lookup_order", {"order_id": order_id})
    if result.is_error:
        raise OrderLookupFailed(result.content[0].text)
    return result.content[0].text


# --- openai-agents ---------------------------------------------------------------------


async def _openai_agents_run(order_id: str, transport: str) -> Any:
    from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
    from agents.mcp import MCPServerStdio, MCPServerStreamableHttp
    from openai import AsyncOpenAI

    set_tracing_disabled(True)
    if transport == "stdio":
        server: Any = MCPServerStdio(params={"command": orders_command()}, name="orders")
    else:
        server = MCPServerStreamableHttp(params={"url": orders_url()}, name="orders")
    model = OpenAIChatCompletionsModel(model=MODEL, openai_client=AsyncOpenAI(max_retries=0))
    async with server:
        agent = Agent(
            name="support",
            instructions="Answer order questions.",
            mcp_servers=[server],
            model=model,
        )
        result = await Runner.run(agent, PROMPT.format(order_id=order_id))
    failures = [
        str(item.output)
        for item in result.new_items
        if item.type == "tool_call_output_item" and "Error executing tool" in str(item.output)
    ]
    return result.final_output, failures


async def openai_agents(order_id: str, transport: str = "stdio") -> str:
    answer, failures = await _openai_agents_run(order_id, transport)
    if failures:
        raise OrderLookupFailed(failures[0])
    return answer


async def openai_agents_fixed(order_id: str, transport: str = "stdio") -> str:
    answer, _ = await _openai_agents_run(order_id, transport)
    return answer


# --- pydantic-ai -----------------------------------------------------------------------


def _pydantic_agent(transport: str) -> Any:
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    if transport == "stdio":
        client: Any = StdioTransport(command=orders_command(), args=[], keep_alive=False)
    else:
        client = orders_url()
    toolset = MCPToolset(client, tool_error_behavior="error")
    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(base_url=os.environ["OPENAI_BASE_URL"]))
    return Agent(model, instructions="Answer order questions.", toolsets=[toolset])


async def pydantic_ai(order_id: str, transport: str = "stdio") -> str:
    from fastmcp.exceptions import ToolError

    agent = _pydantic_agent(transport)
    try:
        result = await agent.run(PROMPT.format(order_id=order_id))
    except ToolError as exc:
        raise OrderLookupFailed(str(exc)) from None
    return result.output


async def pydantic_ai_fixed(order_id: str, transport: str = "stdio") -> str:
    from fastmcp.exceptions import ToolError

    agent = _pydantic_agent(transport)
    try:
        result = await agent.run(PROMPT.format(order_id=order_id))
    except ToolError:
        return "no such order"
    return result.output
