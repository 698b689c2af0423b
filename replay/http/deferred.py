"""HTTP steps kept raw during a production capture, described and encoded only if written.

Describing a request (parsing its JSON body, redacting every string, hashing the args)
and encoding its response cost more than the rest of capture together: hundreds of
microseconds per model call, on the request path. ``replay.capture`` writes only the
runs it keeps (the failing ones, a sample), so its session asks for these stand-ins: the
step holds the request and response as they were sent and received, and the writer
thread turns them into the ordinary step (``resolve``) with the run's redactor before
the cassette's redaction pass. The result is the step an ordinary recording stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from replay.boundary import Call
from replay.cassette import Step
from replay.http.exchange import Described, WireRequest, WireResponse, describe_request
from replay.http.exchange import encode_response as encode_now

if TYPE_CHECKING:
    from replay.http.capture import HttpCapture

KIND = "llm"
_RAW = "__deferred__"


@dataclass(frozen=True, eq=False, slots=True)
class DeferredRequest:
    """A request not described yet: the args of its step until ``resolve``. Headers are
    packed in one string: a tuple of pairs costs several times its text in objects."""

    method: str
    url: str
    headers: str
    body: bytes
    capture: HttpCapture

    def unpacked(self) -> WireRequest:
        return WireRequest(self.method, self.url, unpack(self.headers), self.body)


@dataclass(frozen=True, eq=False, slots=True)
class DeferredResponse:
    """A response not encoded yet: the result of its step until ``resolve``."""

    status: int
    reason: str
    headers: str
    body: bytes
    events: tuple[str, ...] | None
    http_version: str

    @classmethod
    def of(cls, response: WireResponse) -> DeferredResponse:
        return cls(
            response.status,
            response.reason,
            pack(response.headers),
            response.body,
            response.events,
            response.http_version,
        )

    def unpacked(self) -> WireResponse:
        return WireResponse(
            self.status,
            self.reason,
            unpack(self.headers),
            self.body,
            self.events,
            self.http_version,
        )


def pack(headers: tuple[tuple[str, str], ...]) -> str:
    """Headers as one string (NUL and newline cannot occur in a header)."""
    return "\n".join(f"{name}\0{value}" for name, value in headers)


def unpack(packed: str) -> tuple[tuple[str, str], ...]:
    if not packed:
        return ()
    return tuple(tuple(line.split("\0", 1)) for line in packed.split("\n"))  # type: ignore[misc]


def describe(request: WireRequest, capture: HttpCapture) -> Described:
    """A stand-in ``Described``: the request kept as it is (no parsing, no redaction)."""
    pending = DeferredRequest(
        request.method, request.url, pack(request.headers), request.body, capture
    )
    return Described(Call(KIND, "", pending, ""), None, {})


def encoder(described: Described) -> Callable[[WireResponse], tuple[Any, dict[str, Any]]]:
    """Keep the response as it is; the ``http`` field has the shape seams extend (a
    ``response`` mapping they may mark ``incomplete``)."""

    def keep(response: WireResponse) -> tuple[Any, dict[str, Any]]:
        raw = DeferredResponse.of(response)
        return raw, {"request": described.record, "response": {_RAW: raw}}

    return keep


def is_deferred(step: Step) -> bool:
    return isinstance(step.args, DeferredRequest)


def resolve(steps: Sequence[Step]) -> tuple[Step, ...]:
    """The steps with every deferred HTTP exchange described and encoded, in order (each
    request teaches the run's redactor its credentials before the cassette is redacted)."""
    return tuple(_resolved(step) if is_deferred(step) else step for step in steps)


def _resolved(step: Step) -> Step:
    pending: DeferredRequest = step.args
    capture = pending.capture
    described = describe_request(pending.unpacked(), capture.options, capture.redactor)
    kept = step.http.get("response") if isinstance(step.http, dict) else None
    kept = kept if isinstance(kept, dict) else {}
    marks = {k: v for k, v in kept.items() if k != _RAW}
    raw = kept.get(_RAW)
    result: Any = None
    http: dict[str, Any] = {"request": described.record}
    if step.error is None and isinstance(step.result, DeferredResponse):
        result, http = encode_now(described, step.result.unpacked(), capture.redactor)
    elif isinstance(raw, DeferredResponse):
        http["response"] = encode_now(described, raw.unpacked(), capture.redactor)[1]["response"]
    if marks:
        http["response"] = {**http.get("response", {}), **marks}
    call = described.call
    return replace(
        step, name=call.name, args=call.args, args_hash=call.args_hash, result=result, http=http
    )
