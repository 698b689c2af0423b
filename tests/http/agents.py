"""Tool-calling agents written with the plain openai / anthropic SDKs (no wrapping).

Their model calls are captured from HTTP; only the tools are marked ``@replay.tool``.
Keys come from ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` as in production.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai

import replay

SYSTEM = "You are a support agent. Use the tools."
MODEL = "gpt-4o-mini"
CLAUDE = "claude-fake-1"
MAX_TURNS = 4

OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the help center.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
]
ANTHROPIC_TOOLS = [
    {
        "name": "search_docs",
        "description": "Search the help center.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    }
]


@replay.tool
def search_docs(query: str) -> str:
    return f"Article about {query}: refunds take 5 business days."


def _run_tool(name: str, arguments: Any) -> str:
    if name != "search_docs" or not isinstance(arguments, dict):
        return f"error: cannot call {name} with {arguments!r}"
    return search_docs(**arguments)


def _openai_messages(question: str, system: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def openai_support(
    base_url: str, question: str, stream: bool = False, system: str = SYSTEM, user: str = "u1"
) -> dict[str, Any]:
    """A chat-completions tool loop (streamed or not)."""
    client = openai.OpenAI(base_url=base_url)
    messages = _openai_messages(question, system)
    for _ in range(MAX_TURNS):
        if stream:
            with client.chat.completions.stream(
                model=MODEL, messages=messages, tools=OPENAI_TOOLS, user=user
            ) as events:
                for _event in events:
                    pass
                message = events.get_final_completion().choices[0].message
        else:
            completion = client.chat.completions.create(
                model=MODEL, messages=messages, tools=OPENAI_TOOLS, user=user
            )
            message = completion.choices[0].message
        if not message.tool_calls:
            return {"stop_reason": "completed", "output": message.content}
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c in message.tool_calls
                ],
            }
        )
        for call in message.tool_calls:
            try:
                arguments = json.loads(call.function.arguments)
            except ValueError:
                arguments = call.function.arguments
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": _run_tool(call.function.name, arguments),
                }
            )
    return {"stop_reason": "max_steps", "output": None}


def openai_support_new_prompt(base_url: str, question: str, stream: bool = False) -> dict:
    """The same agent after someone edited its system prompt."""
    return openai_support(base_url, question, stream, system="You are a terse support agent.")


async def openai_support_async(base_url: str, question: str, stream: bool = False) -> dict:
    """The chat-completions tool loop on ``AsyncOpenAI`` (raw ``stream=True`` chunks)."""
    client = openai.AsyncOpenAI(base_url=base_url)
    messages = _openai_messages(question, SYSTEM)
    for _ in range(MAX_TURNS):
        if stream:
            chunks = await client.chat.completions.create(
                model=MODEL, messages=messages, tools=OPENAI_TOOLS, stream=True
            )
            text, calls = "", {}
            async for chunk in chunks:
                delta = chunk.choices[0].delta if chunk.choices else None
                if delta is None:
                    continue
                text += delta.content or ""
                for call in delta.tool_calls or []:
                    slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = call.id or slot["id"]
                    if call.function:
                        slot["name"] += call.function.name or ""
                        slot["arguments"] += call.function.arguments or ""
            tool_calls = list(calls.values())
        else:
            completion = await client.chat.completions.create(
                model=MODEL, messages=messages, tools=OPENAI_TOOLS
            )
            message = completion.choices[0].message
            text = message.content or ""
            tool_calls = [
                {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                for c in message.tool_calls or []
            ]
        if not tool_calls:
            return {"stop_reason": "completed", "output": text}
        messages.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in tool_calls
                ],
            }
        )
        for call in tool_calls:
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "content": _run_tool(call["name"], json.loads(call["arguments"])),
                }
            )
    return {"stop_reason": "max_steps", "output": None}


def _anthropic_turn(message: Any, messages: list[dict[str, Any]]) -> str | None:
    """Append the assistant turn and tool results; the final text when there is no tool."""
    uses = [block for block in message.content if block.type == "tool_use"]
    text = "".join(block.text for block in message.content if block.type == "text")
    if not uses:
        return text
    content: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "text":
            content.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            content.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
    messages.append({"role": "assistant", "content": content})
    messages.append(
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": use.id,
                    "content": _run_tool(use.name, use.input),
                }
                for use in uses
            ],
        }
    )
    return None


def anthropic_support(base_url: str, question: str, stream: bool = False) -> dict[str, Any]:
    """A messages tool loop on ``Anthropic`` (the stream helper when ``stream``)."""
    client = anthropic.Anthropic(base_url=base_url)
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    for _ in range(MAX_TURNS):
        request = {
            "model": CLAUDE,
            "max_tokens": 512,
            "system": SYSTEM,
            "tools": ANTHROPIC_TOOLS,
            "messages": messages,
        }
        if stream:
            with client.messages.stream(**request) as events:
                for _text in events.text_stream:
                    pass
                message = events.get_final_message()
        else:
            message = client.messages.create(**request)
        final = _anthropic_turn(message, messages)
        if final is not None:
            return {"stop_reason": "completed", "output": final}
    return {"stop_reason": "max_steps", "output": None}


async def anthropic_support_async(base_url: str, question: str, stream: bool = False) -> dict:
    """The messages tool loop on ``AsyncAnthropic`` (raw ``stream=True`` events)."""
    client = anthropic.AsyncAnthropic(base_url=base_url)
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    for _ in range(MAX_TURNS):
        request = {
            "model": CLAUDE,
            "max_tokens": 512,
            "system": SYSTEM,
            "tools": ANTHROPIC_TOOLS,
            "messages": messages,
        }
        if stream:
            async with client.messages.stream(**request) as events:
                async for _event in events:
                    pass
                message = await events.get_final_message()
        else:
            message = await client.messages.create(**request)
        final = _anthropic_turn(message, messages)
        if final is not None:
            return {"stop_reason": "completed", "output": final}
    return {"stop_reason": "max_steps", "output": None}


def responses_support(base_url: str, question: str, stream: bool = False) -> dict[str, Any]:
    """One call to the Responses API."""
    client = openai.OpenAI(base_url=base_url)
    if stream:
        with client.responses.stream(model=MODEL, input=question, instructions=SYSTEM) as events:
            for _event in events:
                pass
            response = events.get_final_response()
    else:
        response = client.responses.create(model=MODEL, input=question, instructions=SYSTEM)
    return {"stop_reason": "completed", "output": response.output_text}


def forgiving_support(base_url: str, question: str) -> dict[str, Any]:
    """An agent that swallows every model error and answers anyway."""
    try:
        return openai_support(base_url, question)
    except Exception as exc:
        return {"stop_reason": "completed", "output": f"sorry ({type(exc).__name__})"}
