"""The HTTP side of redaction: a ``replay.redact.Redactor`` that also honours
``[tool.replay.http]``'s ``redact_patterns`` and ``redact_headers``.

The rules themselves live in ``replay.redact`` (one pass for everything written); the
capture applies them to headers, URLs, bodies and SSE events before a step is stored,
on both sides, so a replayed request redacts to the same args as the recorded one.
"""

from __future__ import annotations

from dataclasses import replace

from replay.http.options import HttpOptions
from replay.redact import (
    KEY_PATTERNS,
    MARKER,
    SENSITIVE_HEADERS,
    RedactionPolicy,
    is_sensitive_header,
)
from replay.redact import Redactor as _Redactor

__all__ = [
    "KEY_PATTERNS",
    "MARKER",
    "SENSITIVE_HEADERS",
    "Redactor",
    "is_sensitive_header",
    "with_http_options",
]


def with_http_options(policy: RedactionPolicy, options: HttpOptions) -> RedactionPolicy:
    """``policy`` plus the HTTP options' patterns and headers it does not hold yet."""
    patterns = tuple(p for p in options.redact_patterns if p not in policy.patterns)
    headers = options.redact_headers - policy.headers
    if not patterns and not headers:
        return policy
    return replace(policy, patterns=policy.patterns + patterns, headers=policy.headers | headers)


class Redactor(_Redactor):
    """A redactor for captured HTTP built from ``HttpOptions`` (and a base policy)."""

    def __init__(
        self, options: HttpOptions | None = None, policy: RedactionPolicy | None = None
    ) -> None:
        super().__init__(with_http_options(policy or RedactionPolicy(), options or HttpOptions()))
