"""``[tool.replay.http]``: how captured HTTP is matched and redacted.

[tool.replay.http]
match = "args"              # "args" (default): method, path and canonical body
                            # "position": the n-th model call gets the n-th answer
                            # "name": the n-th call to a model gets its n-th answer
ignore = ["seed"]           # more request-body fields left out of matching
redact_patterns = ['acct-[0-9]{6}']   # more regexes replaced before writing
redact_headers = ["x-tenant-token"]   # more headers whose values are replaced
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from replay.config import ConfigError, find_pyproject, per_version, section
from replay.matching import DEFAULT_POLICY, MatchOn, MatchPolicy

VOLATILE_FIELDS = frozenset({"user", "metadata", "stream_options"})
"""Request-body fields that change between runs without changing the question asked."""

_KEYS = ("match", "ignore", "redact_patterns", "redact_headers")


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Matching and redaction settings for captured HTTP (see the module docstring)."""

    match: MatchOn = MatchOn.ARGS
    ignore: frozenset[str] = VOLATILE_FIELDS
    redact_patterns: tuple[re.Pattern[str], ...] = ()
    redact_headers: frozenset[str] = frozenset()

    @property
    def policy(self) -> MatchPolicy:
        return DEFAULT_POLICY if self.match is MatchOn.ARGS else MatchPolicy(on=self.match)

    @classmethod
    def of(
        cls,
        *,
        match: str | MatchOn = MatchOn.ARGS,
        ignore: Iterable[str] = (),
        redact_patterns: Iterable[str] = (),
        redact_headers: Iterable[str] = (),
        where: str = "[tool.replay.http]",
    ) -> HttpOptions:
        """Build options from plain values, with a one-line error naming ``where``."""
        try:
            on = MatchOn(match)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in MatchOn)
            raise ConfigError(
                f"{where}: match = {match!r} is not one of {choices}; fix it in pyproject.toml"
            ) from None
        patterns = []
        for pattern in _strings(redact_patterns, "redact_patterns", where):
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigError(
                    f"{where}: redact_patterns entry {pattern!r} is not a valid regex ({exc}); "
                    "fix it in pyproject.toml"
                ) from None
        return cls(
            match=on,
            ignore=VOLATILE_FIELDS | frozenset(_strings(ignore, "ignore", where)),
            redact_patterns=tuple(patterns),
            redact_headers=frozenset(
                h.lower() for h in _strings(redact_headers, "redact_headers", where)
            ),
        )

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], *, where: str = "[tool.replay.http]"
    ) -> HttpOptions:
        """Options from a ``[tool.replay.http]`` table; unknown keys are an error."""
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_KEYS)}); "
                "fix the spelling in pyproject.toml"
            )
        return cls.of(
            match=table.get("match", MatchOn.ARGS.value),
            ignore=table.get("ignore", ()),
            redact_patterns=table.get("redact_patterns", ()),
            redact_headers=table.get("redact_headers", ()),
            where=where,
        )


_cache: dict[tuple[str, int, int], HttpOptions] = {}


def load_options() -> HttpOptions:
    """The options of the project in the working folder (defaults without a table).

    Read once per version of the file: every recording and replay asks.
    """
    path = find_pyproject()
    if path is None:
        return HttpOptions()

    def build() -> HttpOptions:
        table = section("http", path.parent)
        if not table:
            return HttpOptions()
        return HttpOptions.from_table(table, where=f"{path}: [tool.replay.http]")

    return per_version(_cache, path, build)


def _strings(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"{where}: {key} must be a list of strings, found {value!r}")
    items = list(value)
    bad = [item for item in items if not isinstance(item, str)]
    if bad:
        raise ConfigError(f"{where}: {key} must be a list of strings, found {bad[0]!r}")
    return items
