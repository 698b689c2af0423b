"""An agent that carries a secret through every place a cassette can hold one.

Used by ``tests/http/test_secrets_everywhere.py``: the OpenAI SDK behind a base URL with
``user:password@``, a request body field ``api_key``, a model that echoes the API key
(returned as the run's output), tools whose args, results and exception carry secrets,
and an Anthropic stream whose tool call carries an opaque session token split across
SSE events. The URLs and the session token come from the environment, as in production.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic
import openai

import replay

OPENAI_URL = "SECRET_AGENT_OPENAI_URL"
ANTHROPIC_URL = "SECRET_AGENT_ANTHROPIC_URL"
SESSION_TOKEN = "SECRET_AGENT_SESSION_TOKEN"
BODY_KEY = "SECRET_AGENT_BODY_KEY"
OFFLINE_URL = "http://127.0.0.1:9"


@replay.tool
def lookup_account(api_key: str, query: str) -> dict[str, Any]:
    return {"access_token": "acc-opaque-result-value-1", "note": f"account for {query}"}


@replay.tool
def rotate_token(token: str) -> str:
    raise PermissionError(f"the session token {token} was revoked")


def run(question: str, password: str) -> dict[str, Any]:
    chat = openai.OpenAI(
        base_url=os.environ.get(OPENAI_URL, OFFLINE_URL) + "/v1",
        max_retries=0,
    )
    completion = chat.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"{question} (my password is {password})"}],
        extra_body={"api_key": os.environ.get(BODY_KEY, "none")},
    )
    answer = completion.choices[0].message.content or ""
    account = lookup_account(
        api_key=os.environ.get("OPENAI_API_KEY", ""),
        query=f"the owner of key {answer.rsplit(' ', 1)[-1]}",
    )
    claude = anthropic.Anthropic(
        base_url=os.environ.get(ANTHROPIC_URL, OFFLINE_URL),
        default_headers={"x-session-token": os.environ.get(SESSION_TOKEN, "none")},
        max_retries=0,
    )
    with claude.messages.stream(
        model="claude-fake-1",
        max_tokens=256,
        messages=[{"role": "user", "content": f"Rotate the token for {account['note']}"}],
    ) as stream:
        message = stream.get_final_message()
    failures = []
    for block in message.content:
        if block.type == "tool_use" and block.name == "rotate_token":
            try:
                rotate_token(**block.input)
            except PermissionError as exc:
                failures.append(str(exc))
    return {"stop_reason": "completed", "output": {"answer": answer, "failures": failures}}
