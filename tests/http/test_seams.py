"""How the seams fit the session: import cost, steps inside tools, concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import openai
import pytest

import replay
from replay.testing.fake_llm import FakeLLM, reply
from tests.http import agents
from tests.process import run_python


def test_importing_replay_loads_no_http_stack() -> None:
    code = (
        "import sys, replay, replay.http, replay.testing.fake_llm\n"
        "heavy = ('vcr', 'httpx', 'httpx2', 'openai', 'anthropic')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = run_python("-c", code, check=True)
    assert out.stdout.strip() == "[]"


@replay.tool
def summarize(base_url: str, text: str) -> str:
    """A tool that itself calls a model: its HTTP belongs to this step."""
    completion = openai.OpenAI(base_url=base_url).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )
    return completion.choices[0].message.content or ""


def test_http_inside_a_tool_is_part_of_the_tool_step(cassette: Path) -> None:
    with FakeLLM([reply("Short.")]) as llm, replay.record(cassette):
        assert summarize(llm.openai_url, "long text") == "Short."

    (step,) = replay.load_cassette(cassette).steps
    assert (step.kind, step.name, step.result) == ("tool", "summarize", "Short.")
    with replay.replaying(cassette) as replaying:
        assert summarize(llm.openai_url, "long text") == "Short."
    assert replaying.result is not None and replaying.result.divergence is None


async def _ask_both(base_url: str) -> list[str | None]:
    client = openai.AsyncOpenAI(base_url=base_url)

    async def ask(question: str) -> str | None:
        completion = await client.chat.completions.create(
            model=agents.MODEL, messages=[{"role": "user", "content": question}]
        )
        return completion.choices[0].message.content

    return list(await asyncio.gather(ask("first?"), ask("second?")))


def test_concurrent_async_calls_are_steps_and_replay(cassette: Path) -> None:
    def answer(request):  # the responder sees which question it answers
        return reply(f"answer to {request.messages[0]['content']}")

    with FakeLLM(answer) as llm:
        inputs = {"base_url": llm.openai_url}
        with replay.record(cassette, input=inputs) as recording:
            recording.set_result(asyncio.run(_ask_both(**inputs)))

    result = replay.replay(cassette, agent=lambda base_url: asyncio.run(_ask_both(base_url)))

    steps = replay.load_cassette(cassette).steps
    assert len(steps) == 2 and {s.kind for s in steps} == {"llm"}
    assert result.outcome.output == ["answer to first?", "answer to second?"]
    assert result.divergence is None and result.diff.identical


def test_plain_httpx2_clients_are_captured_too(cassette: Path) -> None:
    with FakeLLM([reply("Hi.")]) as llm, replay.record(cassette), httpx2.Client() as client:
        response = client.post(
            f"{llm.openai_url}/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.json()["choices"][0]["message"]["content"] == "Hi."

    with replay.replaying(cassette) as replaying, httpx2.Client() as client:
        response = client.post(
            f"{llm.openai_url}/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.json()["choices"][0]["message"]["content"] == "Hi."
    assert response.headers["x-request-id"] == "req_fake_0001"
    assert replaying.result is not None and replaying.result.divergence is None


def _ask_in_threads(base_url: str, *, with_context: bool = True) -> list[str | None]:
    client = openai.OpenAI(base_url=base_url, max_retries=0)

    def ask(question: str) -> str | None:
        completion = client.chat.completions.create(
            model=agents.MODEL, messages=[{"role": "user", "content": question}]
        )
        return completion.choices[0].message.content

    # One worker: the calls run in a worker thread, one after the other, so the step order
    # is not a race (concurrent calls are the diff's business, not attribution's).
    with ThreadPoolExecutor(max_workers=1) as pool:
        if not with_context:
            return list(pool.map(ask, ["first?", "second?"]))
        futures = [
            pool.submit(contextvars.copy_context().run, ask, question)
            for question in ["first?", "second?"]
        ]
        return [future.result() for future in futures]


def _answer(request):
    return reply(f"answer to {request.messages[0]['content']}")


def test_calls_from_worker_threads_given_the_run_s_context_belong_to_it(
    cassette: Path,
) -> None:
    with FakeLLM(_answer) as llm:
        inputs = {"base_url": llm.openai_url}
        with replay.record(cassette, input=inputs) as recording:
            recording.set_result(_ask_in_threads(**inputs))

    result = replay.replay(cassette, agent=_ask_in_threads)

    assert len(replay.load_cassette(cassette).steps) == 2
    assert result.outcome.output == ["answer to first?", "answer to second?"]
    assert result.divergence is None and result.diff.identical


def test_calls_from_threads_without_the_run_s_context_are_not_its_steps(
    cassette: Path,
) -> None:
    with FakeLLM(_answer) as llm:
        inputs = {"base_url": llm.openai_url}
        with (
            pytest.warns(RuntimeWarning, match="copy_context") as warned,
            replay.record(cassette, input=inputs) as recording,
        ):
            recording.set_result(_ask_in_threads(**inputs, with_context=False))

        assert len(llm.requests) == 2, "sent live"
        assert replay.load_cassette(cassette).steps == ()
        assert "/chat/completions) was sent from a thread" in str(warned[0].message)
        with replay.replaying(cassette) as replaying, pytest.raises(openai.APIConnectionError):
            _ask_in_threads(**inputs, with_context=False)

    assert len(llm.requests) == 2, "refused in replay: nothing reached the server"
    assert replaying.result is not None and replaying.result.divergences == ()


def test_the_vcrpy_names_the_transport_seam_relies_on_exist() -> None:
    import importlib.util

    import vcr.patch

    from replay.http.transport import VCR_SAVED_ORIGINALS

    missing = [
        name
        for (module, _), name in VCR_SAVED_ORIGINALS.items()
        if importlib.util.find_spec(module) is not None and not hasattr(vcr.patch, name)
    ]
    assert missing == [], "vcrpy renamed the originals its force_reset() puts back"


def test_a_background_request_in_flight_does_not_hide_the_run_s_model_call(
    cassette: Path,
) -> None:
    # vcrpy sends a live request under force_reset(), which puts the real transports back
    # process-wide until the request is sent. The server holds that window open by not
    # reading the large body until the run's model call is done.
    import socket
    import threading

    import requests

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = threading.Event()
    release = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        accepted.set()
        release.wait(30)
        conn.close()  # the sender fails at once (and swallows it, as exporters do)

    def background() -> None:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces"
        with contextlib.suppress(requests.RequestException):
            requests.post(url, data=b"x" * (8 << 20), timeout=30)

    server = threading.Thread(target=serve)
    sender = threading.Thread(target=background)
    with FakeLLM([reply("Five days.")]) as llm, replay.record(cassette):
        server.start()
        sender.start()
        assert accepted.wait(30)
        answer = openai.OpenAI(base_url=llm.openai_url).chat.completions.create(
            model=agents.MODEL, messages=[{"role": "user", "content": "refunds?"}]
        )
        release.set()
        sender.join(60)
        server.join(60)
    listener.close()

    assert answer.choices[0].message.content == "Five days."
    assert [s.name for s in replay.load_cassette(cassette).steps] == [agents.MODEL]
