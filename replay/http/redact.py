"""Redaction: secrets are replaced by a marker before a captured interaction is stored.

Three nets, applied to headers, URLs, request args, results and raw bodies alike:
credential headers (``Authorization``, ``api-key``, ``x-api-key``, cookies, ...) and
credential-named query parameters are replaced whole; the values seen in those headers
are remembered for the session and scrubbed wherever else they appear; key-shaped
strings (``sk-...``, ``sk-ant-...``, ``AIza...``, bearer tokens, ...) and the project's
``redact_patterns`` are replaced anywhere. Redaction is deterministic, so a replayed
request redacts to the same args (and hash) as the recorded one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from replay.http.options import HttpOptions

MARKER = "<redacted>"

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    }
)
_SENSITIVE_NAME = re.compile(
    r"(?i)(?:^|[-_.])(?:api[-_]?key|apikey|key|token|secret|password|passwd|signature|sig"
    r"|auth|credentials?)$"
)
KEY_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"(?<![A-Za-z0-9])sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}",
        r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}",
        r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])",
        r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,}",
        r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}",
        r"(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9\-]{10,}",
        r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}",
    )
)
_BEARER = re.compile(r"(?i)\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]{8,}")
_MIN_SECRET = 6


def is_sensitive_header(name: str, extra: Iterable[str] = ()) -> bool:
    lowered = name.lower()
    return lowered in SENSITIVE_HEADERS or lowered in extra or bool(_SENSITIVE_NAME.search(lowered))


class Redactor:
    """Replaces secrets with ``MARKER``; remembers credential values seen in headers."""

    def __init__(self, options: HttpOptions | None = None) -> None:
        options = options or HttpOptions()
        self._extra_headers = options.redact_headers
        self._patterns = KEY_PATTERNS + options.redact_patterns
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def learn(self, headers: Iterable[tuple[str, str]]) -> None:
        """Remember the credential values in ``headers`` so they are scrubbed everywhere."""
        found: set[str] = set()
        for name, value in headers:
            if not is_sensitive_header(name, self._extra_headers) or not value:
                continue
            found.add(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.add(token.strip())
            if name.lower() in ("cookie", "set-cookie"):
                for part in value.split(";"):
                    found.add(part.partition("=")[2].strip())
        found = {s for s in found if len(s) >= _MIN_SECRET and s != MARKER}
        if not found.issubset(self._secrets):
            with self._lock:
                merged = set(self._secrets) | found
                self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def text(self, value: str) -> str:
        """``value`` with remembered secrets, key-shaped strings and patterns replaced."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MARKER)
        value = _BEARER.sub(lambda m: f"{m.group(1)} {MARKER}", value)
        for pattern in self._patterns:
            value = pattern.sub(MARKER, value)
        return value

    def data(self, value: Any) -> Any:
        """Plain data with every string (not the keys) passed through ``text``."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Headers as a mapping (lower-case names; repeated names give a list), redacted."""
        out: dict[str, Any] = {}
        for name, value in headers:
            key = name.lower()
            clean = MARKER if is_sensitive_header(key, self._extra_headers) else self.text(value)
            if key in out:
                previous = out[key]
                out[key] = [*previous, clean] if isinstance(previous, list) else [previous, clean]
            else:
                out[key] = clean
        return out

    def url(self, url: str) -> str:
        """``url`` with credential-named query values and key-shaped strings replaced."""
        base, sep, query = url.partition("?")
        if not sep:
            return self.text(url)
        fragment = ""
        if "#" in query:
            query, _, rest = query.partition("#")
            fragment = "#" + rest
        parts = []
        for part in query.split("&"):
            name, eq, _value = part.partition("=")
            if eq and _SENSITIVE_NAME.search(name):
                parts.append(f"{name}={MARKER}")
            else:
                parts.append(self.text(part))
        return f"{self.text(base)}?{'&'.join(parts)}{fragment}"
