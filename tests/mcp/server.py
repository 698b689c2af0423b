"""The MCP server the MCP tests talk to: "orders", built with the mcp SDK's MCPServer
(FastMCP in mcp 1.x), with two tools, one failing for a given argument.

    python -m tests.mcp.server                  stdio (the client starts it)
    python -m tests.mcp.server --http PORT      streamable HTTP on 127.0.0.1:PORT/mcp

Every start appends a line to the file named by ``MCP_ORDERS_LOG`` (if set), so a test
can prove a replay never started the server.
"""

from __future__ import annotations

import os
import sys
import warnings

import anyio
from mcp import MCPDeprecationWarning, types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

ORDERS = {
    "A1": {"order_id": "A1", "status": "shipped", "total": 42.5},
    "C3": {"order_id": "C3", "status": "delivered", "total": 10.0},
}
MISSING = "B2"
"""The order id for which ``lookup_order`` fails (an ``isError`` result)."""
SLOW = "Z9"
"""The order id for which ``lookup_order`` takes a minute to answer."""

server = MCPServer("orders", instructions="Look up and refund orders.", log_level="WARNING")


@server.tool()
async def lookup_order(order_id: str, ctx: Context) -> dict:
    """Look up an order by its id."""
    await ctx.info(f"looking up {order_id}")
    if order_id == SLOW:
        await anyio.sleep(60)
    if order_id not in ORDERS:
        raise ToolError(f"order {order_id} not found")
    return ORDERS[order_id]


@server.tool()
def refund_order(order_id: str, amount: float) -> str:
    """Refund part of an order."""
    return f"refunded {amount:.2f} on {order_id}"


@server.tool()
async def summarize_order(order_id: str, ctx: Context) -> str:
    """Summarize an order by asking the client's model (an MCP sampling request)."""
    await ctx.report_progress(1, 2, "asking the model")
    answer = await ctx.session.create_message(
        [
            types.SamplingMessage(
                role="user", content=types.TextContent(type="text", text=f"summarize {order_id}")
            )
        ],
        max_tokens=50,
    )
    return f"summary: {answer.content.text}"


@server.resource("orders://{order_id}")
def order_notes(order_id: str) -> str:
    """The notes kept on an order."""
    if order_id not in ORDERS:
        raise ValueError(f"no notes for order {order_id}")
    return f"notes on {order_id}: handle with care"


@server.prompt()
def apology(order_id: str) -> str:
    """A prompt apologising for an order."""
    return f"Apologise for the delay of order {order_id}."


def main(argv: list[str]) -> None:
    warnings.simplefilter("ignore", MCPDeprecationWarning)  # ctx.info and sampling, kept on purpose
    log = os.environ.get("MCP_ORDERS_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as file:
            file.write(f"started {' '.join(argv) or 'stdio'}\n")
    if argv[:1] == ["--http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(argv[1]))
    else:
        server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
