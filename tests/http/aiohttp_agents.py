"""Agents that speak HTTP with aiohttp: raw model calls and a tool's service call, with
``json=`` bodies and ``data=`` bodies, streamed or not (captured through vcrpy's stubs).

Each ``*_changed`` variant sends one argument differently, as a code change would.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

MODEL = "gpt-4o-mini"


def _chat(prompt: str, stream: bool) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "stream": stream,
    }


async def _read(response: aiohttp.ClientResponse, stream: bool) -> str:
    if not stream:
        data = await response.json()
        return data["choices"][0]["message"]["content"]
    text = []
    async for raw in response.content:
        line = raw.decode().strip()
        if line.startswith("data: ") and line != "data: [DONE]":
            delta = json.loads(line[6:])["choices"][0]["delta"]
            text.append(delta.get("content") or "")
    return "".join(text)


async def ask_model(
    base_url: str, prompt: str, stream: bool = False, body: str = "json"
) -> dict[str, Any]:
    """One chat completion over aiohttp, the body given as ``json=`` or ``data=`` text."""
    payload = _chat(prompt, stream)
    headers = {"authorization": "Bearer sk-test-aiohttp"}
    async with aiohttp.ClientSession() as session:
        if body == "json":
            request = session.post(f"{base_url}/v1/chat/completions", json=payload, headers=headers)
        else:
            headers["content-type"] = "application/json"
            request = session.post(
                f"{base_url}/v1/chat/completions", data=json.dumps(payload), headers=headers
            )
        async with request as response:
            return {"status": response.status, "answer": await _read(response, stream)}


async def ask_model_changed(
    base_url: str, prompt: str, stream: bool = False, body: str = "json"
) -> dict[str, Any]:
    return await ask_model(base_url, prompt + " Answer in French.", stream, body)


async def book_table(base_url: str, city: str, body: str = "json") -> dict[str, Any]:
    """A tool's call to a booking service (any JSON service: here the fake server's
    catch-all), with the arguments as ``json=`` or as ``data=`` form fields."""
    url = f"{base_url}/bookings"
    arguments = {"city": city, "guests": 2}
    async with aiohttp.ClientSession() as session:
        if body == "json":
            request = session.post(url, json=arguments)
        else:
            request = session.post(url, data={k: str(v) for k, v in arguments.items()})
        async with request as response:
            return {"status": response.status, "reply": await response.json()}


async def book_table_changed(base_url: str, city: str, body: str = "json") -> dict[str, Any]:
    return await book_table(base_url, city.upper(), body)
