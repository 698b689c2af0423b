"""The done-when test of production capture: the example agent served from a threaded
HTTP server and from an asyncio server (real servers on 127.0.0.1, real openai SDK, the
fake model server), 50 overlapping runs of which some fail.

Checked: exactly the failing runs are written, plus the share of healthy runs a seeded
sampler picks; each cassette replays with its own verdict; no step of one run appears
in another's cassette.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import replay
from examples.support_agent import agent
from replay.capturing import CaptureWriter
from replay.testing.fake_llm import FakeLLM, error, malformed_tool_call, reply, slow, tool_call
from replay.verdict import verdict_for

ENTRYPOINT = "examples.support_agent.agent:run"
RUNS = 50
SAMPLE = 0.2
SEED = 13


def plan(k: int) -> str:
    """What run ``k`` asks, which decides how it ends (see ``model``)."""
    if k % 5 == 0:
        return "broken"  # the model sends malformed tool arguments: step_error
    if k % 7 == 3:
        return "crash"  # the model endpoint fails: the SDK raises, the run raises
    return "order" if k % 2 else "refund"


FAILING = {k for k in range(RUNS) if plan(k) in ("broken", "crash")}


def question(k: int) -> str:
    return {
        "broken": f"Please search the docs #{k}#",
        "crash": f"Anything new? #{k}#",
        "order": f"Where is order A-1001? #{k}#",
        "refund": f"What is the refund policy? #{k}#",
    }[plan(k)]


def model(request: Any) -> Any:
    """The fake model: answers each run from its own conversation, so overlapping runs
    get their own answers whatever the order of arrival."""
    text = request.messages[1]["content"]
    k = int(re.search(r"#(\d+)#", text).group(1))
    if request.tool_results:
        return slow(0.01, reply(f"Done for #{k}#: {request.tool_results[-1][:40]}"))
    kind = plan(k)
    if kind == "broken":
        return slow(0.01, malformed_tool_call("search_docs"))
    if kind == "crash":
        return error(500, f"model overloaded #{k}#", should_retry=False)
    if kind == "order":
        return slow(0.01, tool_call("get_order", {"order_id": "A-1001"}))
    return slow(0.01, tool_call("search_docs", {"query": "refund"}))


class Overlap:
    """Counts the capture blocks open at once (the test must see runs overlap)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.open += 1
            self.most = max(self.most, self.open)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.open -= 1


def capture_args(k_input: dict, writer: CaptureWriter, sampler: Callable) -> dict:
    return {
        "keep": "failed",
        "sample": SAMPLE,
        "sampler": sampler,
        "writer": writer,
        "run_id": k_input["run_id"],
        "release": agent.RELEASE,
        "workflow": "support",
        "entrypoint": ENTRYPOINT,
        "input": k_input,
    }


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def threaded_server(folder: Path, writer: CaptureWriter, sampler: Callable, overlap: Overlap):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            status = 200
            try:
                options = capture_args(body, writer, sampler)
                with overlap, replay.capture(folder, **options) as run:
                    run.set_result(agent.run(**body))
            except Exception:
                status = 500
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return server.server_address[1], stop


def asyncio_server(folder: Path, writer: CaptureWriter, sampler: Callable, overlap: Overlap):
    """An HTTP/1.1 server on asyncio streams: each request is a task, whose capture
    block runs the (sync) agent through ``asyncio.to_thread``, which carries the task's
    context to the worker thread."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def handle(reader: asyncio.StreamReader, writer_: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        body = json.loads(await reader.readexactly(length))
        status = "200 OK"
        try:
            options = capture_args(body, writer, sampler)
            with overlap:
                async with replay.capture(folder, **options) as run:
                    run.set_result(await asyncio.to_thread(agent.run, **body))
        except Exception:
            status = "500 Internal Server Error"
        answer = f"HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        writer_.write(answer.encode())
        await writer_.drain()
        writer_.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        state["port"] = server.sockets[0].getsockname()[1]
        state["stop"] = asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        ready.set()
        async with server:
            await state["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)

    return state["port"], stop


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with FakeLLM(model) as server:
        monkeypatch.setenv(agent.LLM_URL_ENV, server.openai_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-capture-test-0123456789abcdef")
        yield server


def post(port: int, k: int) -> int:
    body = json.dumps({"question": question(k), "run_id": f"run_{k:02d}"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/ask", data=body, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
@pytest.mark.parametrize("serve", [threaded_server, asyncio_server], ids=["threads", "asyncio"])
def test_fifty_overlapping_runs_write_exactly_the_failing_ones(serve, llm, tmp_path, writer):
    sampler = random.Random(SEED).random
    overlap = Overlap()
    port, stop = serve(tmp_path, writer, sampler, overlap)
    try:
        with ThreadPoolExecutor(max_workers=25) as pool:
            statuses = list(pool.map(lambda k: post(port, k), range(RUNS)))
    finally:
        stop()
    assert writer.flush(timeout=60)
    assert overlap.most > 1, "the runs never overlapped: the test proves nothing"

    crashed = {k for k in range(RUNS) if plan(k) == "crash"}
    assert {k for k, status in enumerate(statuses) if status == 500} == crashed

    healthy = RUNS - len(FAILING)
    draws = random.Random(SEED)
    expected_sampled = sum(draws.random() < SAMPLE for _ in range(healthy))
    day = next(tmp_path.iterdir())
    written = {p.stem: p for p in day.glob("*.yaml")}
    sampled = {p.stem: p for p in (day / "sampled").glob("*.yaml")}
    assert set(written) == {f"run_{k:02d}" for k in FAILING}
    assert len(sampled) == expected_sampled
    assert not set(sampled) & {f"run_{k:02d}" for k in FAILING}

    stats = writer.stats()
    assert (stats.runs, stats.failed, stats.sampled) == (RUNS, len(FAILING), expected_sampled)
    assert stats.discarded == healthy - expected_sampled
    assert (stats.dropped_queue_full, stats.recorder_errors, stats.write_errors) == (0, 0, 0)

    for name, path in {**written, **sampled}.items():
        k = int(name.removeprefix("run_"))
        cassette = replay.load_cassette(path)
        assert cassette.context.run_id == name
        assert cassette.context.input == {"question": question(k), "run_id": name}
        own_steps(cassette, k)
        expected = "reproduced" if k in FAILING else "match"
        result = verdict_for(path)
        assert result.verdict == expected, (name, result.reason)
        assert result.mode == "evidence"


def own_steps(cassette: Any, k: int) -> None:
    """Run ``k``'s cassette holds its own steps only, in the shape its plan gives."""
    kinds = [(s.kind, s.name) for s in cassette.steps]
    model_step = ("llm", agent.MODEL)
    shapes = {
        "broken": [("clock", "now"), model_step],
        "crash": [("clock", "now"), model_step],
        "order": [("clock", "now"), model_step, ("tool", "get_order"), model_step],
        "refund": [("clock", "now"), model_step, ("tool", "search_docs"), model_step],
    }
    assert kinds == shapes[plan(k)], (k, kinds)
    text = json.dumps([s.to_dict() for s in cassette.steps])
    assert set(re.findall(r"#(\d+)#", text)) == {str(k)}
    assert "sk-capture-test" not in text
    reason = {"broken": "step_error", "crash": "exception"}.get(plan(k), "completed")
    assert cassette.outcome.stop_reason == reason
