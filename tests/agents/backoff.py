"""Agents that back off between retries: with ``time.sleep``, ``asyncio.sleep`` and
``anyio.sleep``, and through the openai SDK's own retry waits."""

from __future__ import annotations

import asyncio
import time

import anyio
import openai

import replay

BACKEND = {"failures_left": 0}


class RateLimited(Exception):
    """The quotes service asked us to slow down."""


@replay.tool
def fetch_quote(symbol: str) -> dict:
    if BACKEND["failures_left"] > 0:
        BACKEND["failures_left"] -= 1
        raise RateLimited(f"quotes for {symbol}: slow down")
    return {"symbol": symbol, "price": 101.5}


def _elapsed(started, ended) -> float:
    return (ended - started).total_seconds()


def run(symbol: str, backoff_s: float = 0.5, attempts: int = 3) -> dict:
    """Fetch a quote, sleeping ``backoff_s`` between attempts."""
    started = replay.now()
    for attempt in range(attempts):
        try:
            quote = fetch_quote(symbol)
            break
        except RateLimited as exc:
            if attempt == attempts - 1:
                return {"stop_reason": "tool_error", "output": None, "error": exc}
            time.sleep(backoff_s)
    ended = replay.now()
    return {"stop_reason": "completed", "output": {**quote, "took_s": _elapsed(started, ended)}}


def run_patient(symbol: str, backoff_s: float = 0.5, attempts: int = 3) -> dict:
    """The same calls with a 15 s back-off: 30 s of waiting for two retries."""
    return run(symbol, backoff_s=15.0, attempts=attempts)


async def run_async(symbol: str, backoff_s: float = 0.5, attempts: int = 3) -> dict:
    """The async agent: asyncio.sleep, then anyio.sleep, between attempts."""
    started = replay.now()
    waits = [asyncio.sleep, anyio.sleep]
    for attempt in range(attempts):
        try:
            quote = fetch_quote(symbol)
            break
        except RateLimited as exc:
            if attempt == attempts - 1:
                return {"stop_reason": "tool_error", "output": None, "error": exc}
            await waits[attempt % 2](backoff_s)
    ended = replay.now()
    return {"stop_reason": "completed", "output": {**quote, "took_s": _elapsed(started, ended)}}


async def run_async_patient(symbol: str, backoff_s: float = 0.5, attempts: int = 3) -> dict:
    return await run_async(symbol, backoff_s=15.0, attempts=attempts)


def ask(base_url: str, question: str) -> dict:
    """One chat completion; the SDK retries 429/5xx by itself, waiting as told."""
    client = openai.OpenAI(base_url=base_url, max_retries=3)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
    )
    return {"stop_reason": "completed", "output": completion.choices[0].message.content}


async def ask_async(base_url: str, question: str) -> dict:
    """The async client: its retry waits go through anyio.sleep."""
    async with openai.AsyncOpenAI(base_url=base_url, max_retries=3) as client:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
    return {"stop_reason": "completed", "output": completion.choices[0].message.content}


def ask_claude(base_url: str, question: str) -> dict:
    """One anthropic message; its SDK retries 429/529 by itself, waiting as told."""
    import anthropic

    client = anthropic.Anthropic(base_url=base_url, max_retries=3)
    message = client.messages.create(
        model="claude-fake-1",
        max_tokens=64,
        messages=[{"role": "user", "content": question}],
    )
    return {"stop_reason": "completed", "output": message.content[0].text}


async def ask_claude_async(base_url: str, question: str) -> dict:
    import anthropic

    async with anthropic.AsyncAnthropic(base_url=base_url, max_retries=3) as client:
        message = await client.messages.create(
            model="claude-fake-1",
            max_tokens=64,
            messages=[{"role": "user", "content": question}],
        )
    return {"stop_reason": "completed", "output": message.content[0].text}
