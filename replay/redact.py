"""Redaction: one pass that removes secrets from everything agent-replay writes.

Every string of a cassette (each step's args, result, error and raw ``http``, SSE
events, ``run.input``, ``outcome``) goes through the same rules before it is written:

- field names: the value of a field named like a credential (``api_key``, ``password``,
  ``token``, ``authorization``, ``cookie``, ...; case, ``-`` and ``_`` do not matter) is
  replaced whole, whatever it looks like; also inside JSON text and URL query strings;
- known values: every value seen in an auth header during the run, and the values of the
  configured environment variables, are removed wherever they appear, whole or as a
  fragment of at least ``MIN_FRAGMENT`` characters;
- shapes: key-shaped strings (``sk-...``, ``AIza...``, JWTs, PEM private keys, ...), a
  credential after ``Bearer``/``Basic``/``Token``, a URL's ``user:password@``, and the
  project's ``redact_patterns``;
- then the project's ``redact_hook`` sees the whole cassette.

Every secret becomes ``MARKER``: the placeholder does not depend on the secret's value,
so a replay that runs with another key redacts its live calls to the same args and
matching stays deterministic. Text that is not a secret is left byte for byte.

Configuration, ``[tool.replay]`` in pyproject.toml (all optional)::

    redact_fields = ["customer_ssn"]          # more field names whose values are secret
    redact_env = ["MY_SERVICE_TOKEN"]         # more environment variables whose values are
    redact_patterns = ['acct-[0-9]{6}']       # regexes replaced in every string
    redact_hook = "myproject.redaction:scrub" # def scrub(cassette: dict) -> dict | None
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import functools
import importlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from replay.errors import ReplayError

MARKER = "<redacted>"
MIN_SECRET = 8
"""Shorter known values (``test``, ``sk-test``) are dummies, not secrets: not scrubbed."""
MIN_FRAGMENT = 10
"""Any run of this many characters of a known secret is removed, not only the whole."""

DEFAULT_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")

# Header and query-parameter names whose values are credentials (a bare ``key`` too:
# Google's ``?key=``). Field names in data use the narrower ``is_secret_field``.
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
_SENSITIVE_PARAM = re.compile(
    r"(?i)(?:^|[-_.])(?:api[-_]?key|apikey|key|token|secret|password|passwd|signature|sig"
    r"|auth|credentials?)$"
)

# Field names, normalised (lower case, without ``-``, ``_``, ``.`` and spaces).
_FIELD_EXACT = frozenset({"auth", "pwd", "secrets", "credential", "credentials", "sessionkey"})
_FIELD_SUFFIXES = (
    "apikey",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "privatekey",
    "secretkey",
    "secretaccesskey",
    "subscriptionkey",
    "cookie",
    "authorization",
    "credentials",
)
# Names ending in "token" that hold no secret: pagination cursors and tokenizer symbols.
_NOT_SECRET_FIELDS = frozenset(
    {
        "nexttoken",
        "pagetoken",
        "nextpagetoken",
        "continuationtoken",
        "paginationtoken",
        "synctoken",
        "bostoken",
        "eostoken",
        "padtoken",
        "unktoken",
        "septoken",
        "clstoken",
        "masktoken",
        "stoptoken",
    }
)
_NORMALISE = str.maketrans("", "", "-_. ")

KEY_PATTERNS = (
    r"(?<![A-Za-z0-9])sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}",
    r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}",
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])",
    r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,}",
    r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}",
    r"(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9\-]{10,}",
    r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}",
    r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----",
)
# A credential after an auth scheme: at least 12 characters with a run of 12 letters and
# digits that mixes digits or cases (so "token priority" or "Bearer tokens" stay prose).
_SCHEME = r"(?P<scheme>\b(?i:bearer|basic|token)\s+)(?P<cred>[A-Za-z0-9._~+/=\-]{12,})"
_CREDENTIAL_RUN = re.compile(r"[A-Za-z0-9]{12,}")
# The value of a JSON string field (also escaped JSON inside a JSON string) whose name
# ends like a credential; the full name is checked in code.
_JSON_FIELD = (
    r"(?i:key|token|secrets?|passw(?:or)?d|passphrase|cookie|authorization|credentials?|auth"
    r"|pwd{user})(?P<q>\\*)\"\s*:\s*(?P=q)\"(?P<jv>(?:[^\"\\]|\\.)*?)(?P=q)\""
)
_QUERY = (
    r"(?P<qn>[?&;][A-Za-z0-9_.\-]*?(?i:key|token|secret|passw(?:or)?d|sig(?:nature)?|auth"
    r"|credentials?))=(?P<qv>[^&\s#\"'<>]+)"
)
_USERINFO = r"://(?P<ui>[^\s/?#@\"'<>]+)@"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_PLACEHOLDER_RE = re.compile(re.escape(MARKER))
_USERINFO_RE = re.compile(_USERINFO)
_QUERY_RE = re.compile(_QUERY)
_SCHEME_RE = re.compile(_SCHEME)
_KEY_RE = re.compile("|".join(f"(?:{p})" for p in KEY_PATTERNS))
# Literal pieces one of which each rule's match must contain: the cheap pre-check.
_KEY_ANCHORS = (
    "sk-",
    "AIza",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "hf_",
    "eyJ",
    "-----BEGIN",
)
# The anchors split by a character they hold: prose without ``-`` or ``_`` is checked
# against the other five only (the same test as ``any(a in text for a in _KEY_ANCHORS)``).
_DASH_ANCHORS = tuple(a for a in _KEY_ANCHORS if "-" in a)
_UNDERSCORE_ANCHORS = tuple(a for a in _KEY_ANCHORS if "_" in a and "-" not in a)
_PLAIN_ANCHORS = tuple(a for a in _KEY_ANCHORS if "_" not in a and "-" not in a)
_FIELD_WORDS = (
    "key",
    "token",
    "secret",
    "pass",
    "cookie",
    "credential",
    "auth",
    "pwd",
    "sig",
)


_SCHEMES = ("bearer", "basic", "token")
_SEGMENT_ENDS = (",", "\n")

_SAME = "\x00same"
"""Cached for a text that holds no secret: ``text`` then returns the caller's object."""
_CACHED_TEXTS = 4096
_CACHED_TEXT_MAX = 1 << 16
_CACHED_CHARS = 1 << 23
"""Texts a set of rules remembers, in characters: the caches outlive their sessions."""


class RedactionError(ReplayError):
    """The project's ``redact_hook`` failed; nothing was written."""


def normalise_field(name: str) -> str:
    return name.lower().translate(_NORMALISE)


def is_sensitive_header(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a header or query parameter named ``name`` carries a credential."""
    lowered = name.lower()
    return (
        lowered in SENSITIVE_HEADERS or lowered in extra or bool(_SENSITIVE_PARAM.search(lowered))
    )


def _builtin_secret_field(normalised: str) -> bool:
    if normalised in _FIELD_EXACT:
        return True
    return normalised.endswith(_FIELD_SUFFIXES) and normalised not in _NOT_SECRET_FIELDS


@dataclass(frozen=True, slots=True)
class RedactionPolicy:
    """What is redacted: extra field names, environment variables, patterns, the hook."""

    fields: frozenset[str] = frozenset()
    env: tuple[str, ...] = DEFAULT_ENV
    patterns: tuple[re.Pattern[str], ...] = ()
    headers: frozenset[str] = frozenset()
    hook: str | None = None
    where: str = "[tool.replay]"
    field_words: tuple[str, ...] = ()
    """For each of ``fields``, the word its spelling in text starts with (the pre-check)."""
    _field_cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def is_secret_field(self, name: str) -> bool:
        """Whether a data field called ``name`` holds a secret (case, ``-``/``_`` ignored)."""
        known = self._field_cache.get(name)
        if known is None:
            normalised = normalise_field(name)
            known = normalised in self.fields or _builtin_secret_field(normalised)
            if len(self._field_cache) < 4096:
                self._field_cache[name] = known
        return known

    @classmethod
    def of(
        cls,
        *,
        fields: Iterable[str] = (),
        env: Iterable[str] | None = None,
        patterns: Iterable[str | re.Pattern[str]] = (),
        headers: Iterable[str] = (),
        hook: str | None = None,
        where: str = "[tool.replay]",
    ) -> RedactionPolicy:
        """A policy from plain values; a bad regex or hook spec is one ``ConfigError`` line."""
        from replay.config import ConfigError

        compiled = []
        for pattern in patterns:
            if isinstance(pattern, re.Pattern):
                compiled.append(pattern)
                continue
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigError(
                    f"{where}: redact_patterns entry {pattern!r} is not a valid regex ({exc}); "
                    "fix it in pyproject.toml"
                ) from None
        if hook is not None and (not isinstance(hook, str) or hook.count(":") != 1):
            raise ConfigError(
                f"{where}: redact_hook = {hook!r} is not 'module:function'; "
                "fix it in pyproject.toml"
            )
        fields = list(fields)
        return cls(
            field_words=tuple(
                (re.findall(r"[a-z0-9]+", f.lower()) or [f.lower()])[0] for f in fields
            ),
            fields=frozenset(normalise_field(f) for f in fields),
            env=DEFAULT_ENV if env is None else tuple(dict.fromkeys((*DEFAULT_ENV, *env))),
            patterns=tuple(compiled),
            headers=frozenset(h.lower() for h in headers),
            hook=hook,
            where=where,
        )


_POLICY_KEYS = ("redact_fields", "redact_env", "redact_patterns", "redact_hook")
_policy_cache: dict[tuple[str, int, int], RedactionPolicy] = {}


def load_policy(start: str | os.PathLike[str] | None = None) -> RedactionPolicy:
    """The project's policy: ``[tool.replay]`` redaction keys plus ``[tool.replay.http]``'s
    ``redact_patterns`` and ``redact_headers``; the defaults without a pyproject.toml."""
    from replay.config import find_pyproject, per_version

    path = find_pyproject(start)
    if path is None:
        return RedactionPolicy()
    return per_version(_policy_cache, path, lambda: _policy_of(path))


def _policy_of(path: Path) -> RedactionPolicy:
    from replay.config import ConfigError, load_config

    table = load_config(path.parent)
    http = table.get("http", {})
    http = http if isinstance(http, dict) else {}
    where = f"{path}: [tool.replay]"

    def strings(source: Mapping[str, Any], name: str, at: str) -> list[str]:
        value = source.get(name, [])
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(f"{at}: {name} must be a list of strings, found {value!r}")
        bad = [item for item in value if not isinstance(item, str)]
        if bad:
            raise ConfigError(f"{at}: {name} must be a list of strings, found {bad[0]!r}")
        return list(value)

    http_where = f"{path}: [tool.replay.http]"
    return RedactionPolicy.of(
        fields=strings(table, "redact_fields", where),
        env=strings(table, "redact_env", where),
        patterns=[
            *RedactionPolicy.of(
                patterns=strings(table, "redact_patterns", where), where=where
            ).patterns,
            *RedactionPolicy.of(
                patterns=strings(http, "redact_patterns", http_where), where=http_where
            ).patterns,
        ],
        headers=strings(http, "redact_headers", http_where),
        hook=table.get("redact_hook"),
        where=where,
    )


class _Trie:
    """A regex that finds any of many literals in one pass (a trie, not an alternation)."""

    @staticmethod
    def pattern(words: Iterable[str]) -> str:
        root: dict[str, Any] = {}
        for word in words:
            node = root
            for char in word:
                node = node.setdefault(char, {})
            node[""] = {}
        return _Trie._render(root)

    @staticmethod
    def _render(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(char) + _Trie._render(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body


def _remember(rules: _Rules, value: str, clean: str) -> None:
    """Note ``clean`` as ``value`` redacted under ``rules`` (bounded: see ``_CACHED_CHARS``)."""
    if len(value) <= _CACHED_TEXT_MAX:
        cache = rules.texts
        if len(cache) >= _CACHED_TEXTS or rules.chars > _CACHED_CHARS:
            cache.clear()
            rules.chars = 0
        cache[value] = _SAME if clean is value else clean
        rules.chars += len(value)


def _fragments(secret: str) -> list[str]:
    """The runs of ``MIN_FRAGMENT`` characters of a secret that could identify it."""
    if len(secret) <= MIN_FRAGMENT:
        return [secret]
    windows = {secret[i : i + MIN_FRAGMENT] for i in range(len(secret) - MIN_FRAGMENT + 1)}
    return sorted(w for w in windows if _identifying(w))


def _identifying(window: str) -> bool:
    """A fragment of a secret worth removing: not one character class only (``0123456789``)."""
    classes = (
        any(c.isdigit() for c in window)
        + any(c.islower() for c in window)
        + any(c.isupper() for c in window)
    )
    return classes >= 2


class _Rules:
    """The compiled rules of one policy and set of known secrets, with the texts already
    redacted under them: a pure function of the two, so redactors with the same rules
    (every session of a project that replays with the same keys) share one."""

    __slots__ = (
        "anchors",
        "chars",
        "field_words",
        "json",
        "known",
        "literals",
        "lowered",
        "memo",
        "memo_size",
        "policy",
        "texts",
        "unsplit",
        "width",
        "windows",
    )

    def __init__(self, policy: RedactionPolicy, secrets: frozenset[str]) -> None:
        self.policy = policy
        self.field_words = _FIELD_WORDS + policy.field_words
        self.json = _json_rule(policy.fields)
        self.known, self.anchors, self.windows = _known_rule(secrets)
        self.texts: dict[str, str] = {}
        self.chars = 0
        """Characters of the texts remembered: the cache is emptied past ``_CACHED_CHARS``."""
        self.memo: dict[Any, Any] = {}
        self.memo_size = 0
        """What other passes computed under these rules, and the bytes it holds (HTTP
        replay's described requests, ``replay.http.exchange``): it goes with the rules."""
        # The literal checks that gate every rule of ``_spans``, for many texts at once:
        # one of ``literals`` in the text, or of ``lowered`` in it lowered, or ``://``
        # and ``@``. None when they cannot decide (a pattern, a non-ASCII field word).
        self.literals = (*_KEY_ANCHORS, *self.anchors)
        self.lowered: tuple[str, ...] | None = tuple(dict.fromkeys((*self.field_words, *_SCHEMES)))
        if policy.patterns or not all(w.isascii() for w in self.lowered):
            self.lowered = None
        needles = (*self.literals, *self.field_words, *_SCHEMES, "://", "@")
        self.width = max(map(len, needles))
        """The longest literal check: a text without one has none of them in it either."""
        self.unsplit = not any(sep in n for n in needles for sep in _SEGMENT_ENDS)
        """No literal check spans a ``,`` or a line end: each lies within one segment."""


_shared_rules: OrderedDict[tuple[RedactionPolicy, frozenset[str]], _Rules] = OrderedDict()
_shared_rules_lock = threading.Lock()
_SHARED_RULES = 8


def _rules_for(policy: RedactionPolicy, secrets: frozenset[str]) -> _Rules:
    key = (policy, secrets)
    with _shared_rules_lock:
        rules = _shared_rules.get(key)
        if rules is None:
            rules = _shared_rules[key] = _Rules(policy, secrets)
            while len(_shared_rules) > _SHARED_RULES:
                _shared_rules.popitem(last=False)
        else:
            _shared_rules.move_to_end(key)
    return rules


class Redactor:
    """Applies a ``RedactionPolicy``; remembers the secret values seen during one run.

    Thread-safe: learning swaps in a new compiled regex; redacting only reads it.
    """

    def __init__(self, policy: RedactionPolicy | None = None) -> None:
        self.policy = policy if policy is not None else RedactionPolicy()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._secrets = frozenset(
            value
            for name in self.policy.env
            if _worth_learning(value := os.environ.get(name) or "")
        )
        self._compile()
        if self.policy.hook is not None:
            _import_hook(self.policy.hook, self.policy.where)  # a bad hook fails up front

    # --- learning ---------------------------------------------------------------------

    def learn(self, headers: Iterable[tuple[str, str]]) -> None:
        """Remember the credential values in these HTTP headers, to scrub them everywhere."""
        if type(headers) is tuple and headers == self._learned_headers:
            return  # a client sends the same headers with every request: learned already
        rules = self._rules  # replaced when the rules change (see _compile)
        found: list[str] = []
        for name, value in headers:
            if not value or not self._sensitive_header(name):
                continue
            lowered = name.lower()
            if lowered == "cookie":
                found.extend(part.partition("=")[2].strip() for part in value.split(";"))
            elif lowered == "set-cookie":
                found.append(value.split(";")[0].partition("=")[2].strip())
            else:
                found.extend(_credentials(value))
        self.learn_values(found)
        if type(headers) is tuple and self._rules is rules:
            self._learned_headers = headers  # learned under the rules still in force

    def _sensitive_header(self, name: str) -> bool:
        known = self._header_names.get(name)
        if known is None:
            known = is_sensitive_header(name, self.policy.headers)
            if len(self._header_names) < _CACHED_TEXTS:
                self._header_names[name] = known
        return known

    def _secret_header(self, key: str) -> bool:
        """Whether a (lower-case) header's value is stored as ``MARKER`` whole."""
        return self._sensitive_header(key) or self.policy.is_secret_field(key)

    def learn_url(self, url: str) -> None:
        """Remember the password (or token user) of a URL's ``user:password@``."""
        if "@" not in url:
            return  # no userinfo (urlsplit puts it before an ``@``)
        parts = urlsplit(url)
        with contextlib.suppress(ValueError):
            self.learn_values(v for v in (parts.password, parts.username) if v)

    def learn_values(self, values: Iterable[str]) -> None:
        """Remember secret values (shorter than ``MIN_SECRET``: ignored as dummies)."""
        new = {v for v in values if _worth_learning(v)} - self._secrets
        if not new:
            return
        with self._lock:
            self._secrets = self._secrets | new
            self._compile()

    def learn_fields(self, value: Any) -> None:
        """Remember the text values of secret-named fields in plain data, so the same
        value is also scrubbed where it appears unnamed (a password quoted in a prompt)."""
        found: list[str] = []
        stack = [value]
        is_secret = self.policy.is_secret_field
        fields = self.policy._field_cache  # looked up inline: the end pass walks every step
        while stack:
            item = stack.pop()
            if type(item) is dict:
                model_tokens = "logprob" in item
                for key, child in item.items():
                    kind = type(child)
                    if kind is str:
                        if (
                            not model_tokens
                            and child != MARKER  # redacted already: nothing to learn
                            and type(key) is str
                            and (
                                secret
                                if (secret := fields.get(key)) is not None
                                else is_secret(key)
                            )
                        ):
                            found.extend(_credentials(child))
                    elif kind is dict or kind is list:
                        stack.append(child)
            elif type(item) is list:
                for child in item:
                    kind = type(child)
                    if kind is dict or kind is list:
                        stack.append(child)
        if found:
            self.learn_values(found)

    def widen(self, policy: RedactionPolicy) -> None:
        """Use ``policy`` from now on (e.g. the session's plus HTTP options), keeping the
        values learned so far."""
        if policy != self.policy:
            with self._lock:
                self.policy = policy
                self._compile()

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    @property
    def rules(self) -> _Rules:
        """The rules in force (policy and secrets, compiled) as one object, replaced when
        either changes: redacting is a pure function of it, so results remembered in its
        ``memo`` hold while it is the one in force."""
        return self._rules

    def _compile(self) -> None:
        # One assignment: a ``text`` running meanwhile redacts and caches under the
        # rules it took, all of them old or all new.
        self._rules = _rules_for(self.policy, self._secrets)
        self._header_names: dict[str, bool] = {}
        self._streams: dict[int, list[str]] = {}
        self._learned_headers: tuple[tuple[str, str], ...] = ()

    # --- redacting --------------------------------------------------------------------

    def text(self, value: str) -> str:
        """``value`` with every secret in it replaced by ``MARKER``; else ``value`` itself.

        Results are remembered with the rules (a secret learned or a wider policy gives
        new rules): an agent sends the same system prompt, headers and earlier turns with
        every request, a replay redacts each request again to match it, and every replay
        of a cassette sends the same texts again.
        """
        rules = self._rules
        cache = rules.texts
        known = cache.get(value)
        if known is not None:
            return value if known is _SAME else known
        clean = self._redacted(value, rules)
        _remember(rules, value, clean)
        return clean

    def json_text(self, text: str, values: Iterable[str]) -> str:
        """``self.text(text)`` for a JSON body; when it holds no secret, the ``values``
        parsed from it that it holds whole are noted as holding none either, so that
        redacting the parsed answer does not search them a second time.
        """
        # A value is vouched for only when it stands in ``text`` as a JSON string
        # (``"value"``), is ASCII and holds no quote or backslash, ``text`` holds no
        # MARKER (a match dropped for overlapping one could hide the value's) and the
        # policy no custom pattern (``^`` and lookarounds). Then any match of a rule in the value
        # is one in ``text`` at the same place: the rules look at most one character
        # beyond a match and only ask that it be no letter or digit, which a quote is
        # not; the field rule needs a quote in the value; the literal checks that gate
        # the rules are substring checks; an ASCII value lowers to the same characters
        # in both. tests/test_redact.py compares this with ``text`` on each value.
        rules = self._rules
        cache = rules.texts
        known = cache.get(text)
        if known is not None:
            clean = text if known is _SAME else known
        else:
            clean = self._redacted(text, rules)
            _remember(rules, text, clean)
        if clean is not text or rules.policy.patterns or MARKER in text:
            return clean
        for value in values:
            if (
                value in cache
                or len(value) > _CACHED_TEXT_MAX
                or not value.isascii()
                or '"' in value
                or "\\" in value
                or f'"{value}"' not in text
            ):
                continue
            if len(cache) >= _CACHED_TEXTS or rules.chars > _CACHED_CHARS:
                break  # full: ``text`` empties it when it must
            cache[value] = _SAME
            rules.chars += len(value)
        return clean

    def _redacted(self, value: str, rules: _Rules) -> str:
        spans = self._spans(value, rules)
        if not spans:
            return value
        out: list[str] = []
        done = 0
        for start, end in spans:
            out.append(value[done:start])
            out.append(MARKER)
            done = end
        out.append(value[done:])
        return "".join(out)

    def spans(self, value: str) -> list[tuple[int, int]]:
        """The sorted, disjoint ``(start, end)`` ranges of ``value`` that are secret.

        Each rule runs only when cheap literal checks (``in`` on the text) say it could
        match, so ordinary text costs a few substring searches and no regex.
        """
        return self._spans(value, self._rules)

    def _spans(self, value: str, rules: _Rules) -> list[tuple[int, int]]:
        policy = rules.policy
        found: list[tuple[int, int]] = []
        low: str | None = None
        if "://" in value and "@" in value:
            found.extend(m.span("ui") for m in _USERINFO_RE.finditer(value))
        if (
            any(anchor in value for anchor in _PLAIN_ANCHORS)
            or ("-" in value and any(anchor in value for anchor in _DASH_ANCHORS))
            or ("_" in value and any(anchor in value for anchor in _UNDERSCORE_ANCHORS))
        ):
            found.extend(m.span() for m in _KEY_RE.finditer(value))
        if ":" in value or "=" in value or " " in value:
            low = value.lower()
            if len(low) != len(value):  # a few non-ASCII letters lower to two characters
                low = value.translate(_ASCII_LOWER)
            words = [w for w in rules.field_words if w in low]
            if words and ":" in value and '"' in value:
                # The field rule's regex starts with a word of the name: try it only
                # where such a word is, not at every position.
                for start in sorted({i for w in words for i in _occurrences(low, w)}):
                    m = rules.json.match(value, start)
                    if m is None:
                        continue
                    begin, end = m.span("jv")
                    if value[begin:end] != MARKER and _json_field_is_secret(policy, value, m):
                        found.append((begin, end))
            if words and "=" in value:
                for m in _QUERY_RE.finditer(value):
                    start, end = m.span("qv")
                    if value[start:end] != MARKER and is_sensitive_header(
                        m.group("qn")[1:], policy.headers
                    ):
                        found.append((start, end))
            for scheme in ("bearer", "basic", "token"):
                if scheme not in low:
                    continue
                for start in _occurrences(low, scheme):
                    if start and low[start - 1].isalnum():
                        continue
                    m = _SCHEME_RE.match(value, start)
                    if m is not None and _looks_like_credential(m.group("cred")):
                        found.append(m.span("cred"))
        if rules.known is not None and any(a in value for a in rules.anchors):
            found.extend(_extend(rules.windows, value, m) for m in rules.known.finditer(value))
        for pattern in policy.patterns:
            found.extend(m.span() for m in pattern.finditer(value) if m.end() > m.start())
        if not found:
            return found
        if MARKER in value:
            kept = [m.span() for m in _PLACEHOLDER_RE.finditer(value)]
            found = [s for s in found if not any(s[0] < e and b < s[1] for b, e in kept)]
        return _disjoint(found)

    def data(self, value: Any) -> Any:
        """Plain data with secret fields and secrets in strings replaced.

        Returns ``value`` itself (not a copy) when nothing in it changed, so callers can
        tell by identity and skip rehashing.
        """
        cls = type(value)
        if cls is str:
            return self.text(value)
        if cls is dict:
            # Every replayed request and every recorded step walks here: remembered
            # texts and field names are looked up inline (a miss takes the method that
            # fills the cache), numbers are not passed down, and a copy is made only
            # once something changed (most data holds no secret).
            changes: list[tuple[Any, Any]] | None = None
            policy = self.policy
            fields = policy._field_cache
            texts = self._rules.texts
            model_tokens = "logprob" in value  # {"token": "Hello", "logprob": -0.1}: text
            for key, item in value.items():
                kind = type(item)
                if (
                    type(key) is str
                    and item is not None
                    and kind is not bool
                    and not model_tokens
                    and (secret := fields.get(key)) is not False
                    and (secret or policy.is_secret_field(key))
                ):
                    if kind is not str or item != MARKER:
                        if changes is None:
                            changes = []
                        changes.append((key, MARKER))
                    continue
                if kind is str:
                    known = texts.get(item)
                    if known is None:
                        clean = self.text(item)
                    elif known is _SAME:
                        continue
                    else:
                        clean = known
                elif kind is dict or kind is list:
                    clean = self.data(item)
                elif kind is int or kind is float or kind is bool or item is None:
                    continue
                else:
                    clean = self.data(item)
                if clean is not item:
                    if changes is None:
                        changes = []
                    changes.append((key, clean))
            if changes is None:
                return value
            out = value.copy()  # same keys, same order: only the changed values differ
            out.update(changes)
            return out
        if cls is list:
            if self._streams.get(id(value)) is value:
                return value  # a stream ``events`` redacted under the rules in force
            items: list[Any] | None = None
            for at, item in enumerate(value):
                clean = self.data(item)
                if items is not None:
                    items.append(clean)
                elif clean is not item:
                    items = value[:at]
                    items.append(clean)
            return value if items is None else items
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Headers as a mapping (lower-case names; repeated names give a list), redacted."""
        out: dict[str, Any] = {}
        for name, value in headers:
            key = name.lower()
            clean = MARKER if self._secret_header(key) else self.text(value)
            if key in out:
                previous = out[key]
                out[key] = [*previous, clean] if isinstance(previous, list) else [previous, clean]
            else:
                out[key] = clean
        return out

    def url(self, url: str) -> str:
        """``url`` with userinfo, credential-named query values and secrets replaced."""
        return self.text(url)

    def texts(self, values: list[str]) -> list[str]:
        """``[self.text(value) for value in values]``, for many texts at once (a stream's
        events): the literal checks that gate every rule (see ``spans``) run once over
        the texts joined, and only a text one of them hits goes through the rules. A
        check that hits inside one text hits at the same place in the joined text.

        Each check is tried first on the joined text's distinct segments (between
        commas and line ends): a stream's JSON events repeat most of theirs, and a
        check that lies within one segment and misses there misses everywhere.
        """
        if len(values) < 4 or self.policy.patterns:
            return [self.text(value) for value in values]
        joined = "\n\n".join(values)
        rules = self._rules
        sample = joined
        if rules.unsplit:
            sample = ",".join(set(joined.replace("\n", ",").split(",")))
        plain = [needle for needle in rules.literals if needle in sample]
        if "://" in sample and "@" in sample:
            plain.append("@")  # the userinfo rule needs both in one text
        words: Iterable[str] = (*rules.field_words, *_SCHEMES)
        if rules.lowered is not None:
            low_sample = sample.lower()
            words = [word for word in rules.lowered if word in low_sample]
            if not plain and not words:
                return list(values)
        low = joined.lower()
        if len(low) != len(joined):  # see spans: then some texts are lowered otherwise
            return [self.text(value) for value in values]
        hits: list[int] = []
        for needle in plain:
            if needle in joined:
                hits.extend(_occurrences(joined, needle))
        for needle in words:
            if needle in low:
                hits.extend(_occurrences(low, needle))
        starts = []
        at = 0
        for value in values:
            starts.append(at)
            at += len(value) + 2
        checked = {bisect.bisect_right(starts, hit) - 1 for hit in hits}
        return [self.text(v) if i in checked else v for i, v in enumerate(values)]

    def may_hold_secret(self, text: str) -> bool:
        """False only when no rule can find a secret in ``text`` nor in any part of it:
        none of the literal checks that gate the rules (see ``spans``) hits. Many texts
        can be checked at once, joined: a check that hits in one hits in the whole."""
        rules = self._rules
        if rules.lowered is None or ("://" in text and "@" in text):
            return True
        if any(needle in text for needle in rules.literals):
            return True
        low = text.lower()
        return any(word in low for word in rules.lowered)

    @property
    def literal_width(self) -> int:
        """The length of the longest literal check ``may_hold_secret`` makes."""
        return self._rules.width

    def events(
        self, events: Iterable[str], *, parsed: Mapping[str, Any] | None = None
    ) -> list[str]:
        """SSE events redacted one by one, and secrets split across events' text deltas
        (``parsed``: the events' JSON data already decoded, by event text).

        A list this returned is returned as it is while the rules are unchanged: the
        whole-cassette pass at the end of a recording sees each stream a second time.
        """
        from replay.http.sse import redact_stream

        streams = self._streams
        if isinstance(events, list) and streams.get(id(events)) is events:
            return events
        clean = redact_stream(self.texts(list(events)), self, parsed=parsed)
        if len(streams) >= _CACHED_TEXTS:
            streams.clear()
        streams[id(clean)] = clean  # kept alive here, so its id is not reused meanwhile
        return clean

    # --- whole cassettes ---------------------------------------------------------------

    def cassette(self, cassette: Any) -> Any:
        """``cassette`` with every step, ``run.input`` and ``outcome`` redacted, then the
        policy's hook applied; args hashes follow the redacted args."""
        from replay.canonical import stable_hash
        from replay.cassette import ErrorInfo, cassette_from_dict

        self.learn_fields(cassette.context.input)
        self.learn_fields(cassette.outcome.output)
        for step in cassette.steps:
            self.learn_fields([step.args, step.result, step.http])
        steps = []
        for step in cassette.steps:
            args = self.data(step.args)
            error = step.error
            if error is not None:
                message = self.text(error.message)
                if message is not error.message:
                    error = ErrorInfo(error.error_class, message)
            http = self.data(step.http)
            if (
                isinstance(http, dict)
                and isinstance((response := http.get("response")), dict)
                and isinstance(response.get("events"), list)
            ):
                events = self.events(response["events"])
                if events != response["events"]:
                    http = {**http, "response": {**response, "events": events}}
            name = self.text(step.name)
            result = self.data(step.result)
            if (
                name is step.name
                and args is step.args
                and result is step.result
                and error is step.error
                and http is step.http
            ):
                steps.append(step)  # nothing in it was secret: the step as it is
                continue
            # replace(): fields this pass does not know about are kept as they are.
            steps.append(
                replace(
                    step,
                    name=name,
                    args=args,
                    args_hash=step.args_hash if args is step.args else stable_hash(args),
                    result=result,
                    error=error,
                    http=http,
                )
            )
        redacted = replace(
            cassette,
            context=replace(cassette.context, input=self.data(cassette.context.input)),
            steps=tuple(steps),
            outcome=self.outcome(cassette.outcome),
        )
        if self.policy.hook is None:
            return redacted
        data = self.run_hook(redacted.to_dict(), steps=len(redacted.steps))
        for raw in data.get("steps") or ():
            if isinstance(raw, dict) and "args" in raw:
                raw["args_hash"] = stable_hash(raw["args"])
        try:
            return cassette_from_dict(data, path=cassette.path)
        except ReplayError as exc:
            raise RedactionError(
                f"{self.policy.where}: redact_hook {self.policy.hook!r} returned a cassette "
                f"that is not valid ({exc}); keep the cassette's shape, change only values"
            ) from None

    def outcome(self, outcome: Any) -> Any:
        """A run's ``Outcome`` with its output and error message redacted."""
        from replay.cassette import ErrorInfo

        output = self.data(outcome.output)
        error = outcome.error
        if error is not None:
            message = self.text(error.message)
            if message is not error.message:
                error = ErrorInfo(error.error_class, message)
        if output is outcome.output and error is outcome.error:
            return outcome
        return replace(outcome, output=output, error=error)

    def call_args(self, kind: str, name: str, args: Any) -> Any:
        """A live call's plain args as the recording holds them: the rules, then the hook."""
        return self.hooked(kind, name, self.data(args))

    def hooked(self, kind: str, name: str, args: Any) -> Any:
        """Redacted args passed through the hook as a one-step cassette (so a replayed
        call matches what the hook wrote); ``args`` itself without a hook."""
        if self.policy.hook is None:
            return args
        document = {
            "version": 1,
            "run": {"run_id": "live", "trace_id": "live"},
            "outcome": {"stop_reason": "completed", "output": None, "error": None},
            "steps": [{"index": 0, "kind": kind, "name": name, "args": args}],
        }
        data = self.run_hook(document, steps=1)
        return data["steps"][0].get("args")

    def run_hook(self, document: dict[str, Any], *, steps: int) -> dict[str, Any]:
        """Call the policy's hook on cassette data; any failure is one ``RedactionError``."""
        hook = _import_hook(self.policy.hook or "", self.policy.where)
        spec = self.policy.hook
        document = _copy(document)  # the hook may edit in place: never the caller's data
        try:
            result = hook(document)
        except Exception as exc:
            raise RedactionError(
                f"{self.policy.where}: redact_hook {spec!r} raised {type(exc).__name__}: {exc}; "
                "fix the hook (nothing was written)"
            ) from None
        data = document if result is None else result
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise RedactionError(
                f"{self.policy.where}: redact_hook {spec!r} returned {type(result).__name__}, "
                "not the cassette dict; return it (or None after editing it in place)"
            )
        if len(data["steps"]) != steps:
            raise RedactionError(
                f"{self.policy.where}: redact_hook {spec!r} changed the number of steps "
                f"({steps} -> {len(data['steps'])}); a hook may change values, not steps"
            )
        return data


def _json_field_is_secret(policy: RedactionPolicy, value: str, match: re.Match[str]) -> bool:
    quote = match.group("q") + '"'
    opening = value.rfind(quote, 0, match.start())
    name = value[opening + len(quote) : match.start("q")] if opening >= 0 else ""
    if not name or len(name) > 64 or '"' in name or "\\" in name:
        return False
    if not policy.is_secret_field(name):
        return False
    # A logprobs entry ({"token": "Hello", "logprob": -0.1}) holds model text.
    return "logprob" not in value[match.end() : match.end() + 24]


def _extend(
    windows: Mapping[str, tuple[tuple[str, int], ...]], value: str, match: re.Match[str]
) -> tuple[int, int]:
    """The longest run of one known secret around a matched window of it."""
    start, end = match.span()
    best = (start, end)
    for secret, offset in windows.get(match.group(0), ()):
        left = 0
        while (
            start - left - 1 >= 0
            and offset - left - 1 >= 0
            and value[start - left - 1] == secret[offset - left - 1]
        ):
            left += 1
        right = 0
        tail = offset + (end - start)
        while (
            end + right < len(value)
            and tail + right < len(secret)
            and value[end + right] == secret[tail + right]
        ):
            right += 1
        if (end + right) - (start - left) > best[1] - best[0]:
            best = (start - left, end + right)
    return best


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "apikey", "key"})


def _credentials(value: str) -> list[str]:
    """The secret values in a credential: ``Bearer abc`` gives ``abc``, a ``Basic`` one
    also its decoded password; a value without a scheme is secret whole."""
    scheme, _, credential = value.strip().partition(" ")
    credential = credential.strip()
    if not credential or scheme.lower() not in _AUTH_SCHEMES:
        return [value.strip()]
    if scheme.lower() == "basic":
        return [credential, *_basic_parts(credential)]
    return [credential]


def _basic_parts(credential: str) -> list[str]:
    """The password of a ``Basic`` credential (base64 of ``user:password``)."""
    try:
        user, _, password = base64.b64decode(credential, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return []
    return [password] if password else [user]


@functools.lru_cache(maxsize=16)
def _json_rule(fields: frozenset[str]) -> re.Pattern[str]:
    """The field rule's regex, with the configured fields (any of ``-_. `` between letters)."""
    user_fields = "".join(
        "|" + "[-_. ]?".join(re.escape(char) for char in name) for name in sorted(fields) if name
    )
    return re.compile(_JSON_FIELD.replace("{user}", user_fields))


@functools.lru_cache(maxsize=16)
def _known_rule(
    secrets: frozenset[str],
) -> tuple[re.Pattern[str] | None, tuple[str, ...], dict[str, tuple[tuple[str, int], ...]]]:
    """For known secrets: a regex finding any identifying window of one, the literal
    pieces one of which each such window contains (the pre-check), and each window's
    owners (secret, offset) to extend a match to the longest run."""
    windows: dict[str, list[tuple[str, int]]] = {}
    anchors: set[str] = set()
    step = max(1, MIN_FRAGMENT // 2)
    for secret in secrets:
        # Any run of MIN_FRAGMENT characters holds one of these aligned pieces whole.
        anchors.update(secret[i : i + step] for i in range(0, max(1, len(secret) - step + 1), step))
        if len(secret) <= MIN_FRAGMENT:
            windows.setdefault(secret, []).append((secret, 0))
            continue
        for offset in range(len(secret) - MIN_FRAGMENT + 1):
            window = secret[offset : offset + MIN_FRAGMENT]
            if _identifying(window):
                windows.setdefault(window, []).append((secret, offset))
    if not windows:
        return None, (), {}
    # Longest first: a whole short secret wins over a window of a longer one.
    regex = re.compile(_Trie.pattern(sorted(windows, key=len, reverse=True)))
    return regex, tuple(sorted(anchors)), {w: tuple(o) for w, o in windows.items()}


def _worth_learning(value: str) -> bool:
    return len(value) >= MIN_SECRET and MARKER not in value and not value.isspace()


def _occurrences(text: str, word: str) -> Iterator[int]:
    index = text.find(word)
    while index >= 0:
        yield index
        index = text.find(word, index + 1)


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _looks_like_credential(text: str) -> bool:
    for run in _CREDENTIAL_RUN.findall(text):
        has_digit = any(c.isdigit() for c in run)
        mixed_case = any(c.islower() for c in run) and any(c.isupper() for c in run)
        if has_digit or mixed_case:
            return True
    return False


_hooks: dict[str, Callable[[dict[str, Any]], Any]] = {}


def _import_hook(spec: str, where: str) -> Callable[[dict[str, Any]], Any]:
    from replay.config import ConfigError

    hook = _hooks.get(spec)
    if hook is not None:
        return hook
    module_name, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as exc:
        raise ConfigError(
            f"{where}: redact_hook {spec!r} cannot be loaded ({type(exc).__name__}: {exc}); "
            "check the module is importable from the project and the function's name"
        ) from None
    if not callable(target):
        raise ConfigError(f"{where}: redact_hook {spec!r} is not a function")
    _hooks[spec] = target
    return target


def redact_cassette(
    cassette: Any, policy: RedactionPolicy | None = None, *, secrets: Iterable[str] = ()
) -> Any:
    """``cassette`` with every secret removed (the policy defaults to the project's).

    For producers of cassettes other than the recorder (e.g. trace import): ``secrets``
    adds values known to be secret to those of the policy's environment variables.
    """
    redactor = Redactor(policy if policy is not None else load_policy())
    redactor.learn_values(secrets)
    return redactor.cassette(cassette)
