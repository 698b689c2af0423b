"""Plain data as block YAML, written directly: the text libyaml gives, faster.

Writing a cassette through PyYAML builds a node per value in Python, calls back into
Python twice per scalar to resolve its tag, and libyaml then writes ~30 MB/s: at the end of
a recording that was most of what recording added to a model call (benchmarks/http_sdk.py).
``dump`` writes the same bytes as ``yaml.dump(data, Dumper=CSafeDumper, sort_keys=False,
allow_unicode=True, width=100, default_flow_style=False)`` with multi-line text as literal
blocks (``storage._CassetteDumper``), for the values whose output it knows exactly: dicts
with simple text keys, lists, text of printable characters that libyaml writes plain,
single-quoted or as a literal block, numbers, booleans and None. For anything else (a
string libyaml would double-quote, a tab, an emoji, a non-text key, a subclass, ...) it
returns None and the caller writes the document with PyYAML: the result is the same, only
slower. tests/test_yaml_writer.py compares both writers on many values.
"""

from __future__ import annotations

import re
from typing import Any

WIDTH = 100
"""``width`` of the dump this reproduces: plain and quoted text fold past this column."""
_INDENT = 2
_MAX_KEY_BYTES = 128  # libyaml writes a longer key as a complex key ("? ")

# libyaml's printable characters (IS_PRINTABLE) less its line breaks other than "\n"
# (\x85, \u2028, \u2029); anything else (tab, \r, controls, astral planes, BOM) sends
# libyaml to double quotes, which this writer leaves to PyYAML.
_UNSAFE = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
# How text that libyaml does not write plain in block context may start: a space, an
# indicator, "- ", "? " or ": " (or that character alone), a document marker.
_NOT_PLAIN_START = re.compile(r"[ #,\[\]{}&*!|>'\"%@`]|[-?:](?: |$)|---|\.\.\.")
_CACHED_TEXTS = 4096
_CACHED_TEXT_MAX = 2048

_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

# PyYAML's own resolvers for text that starts like a number (unchanged since PyYAML 3):
# with exactly these, the text of any int is read back as an int and the text of any
# float as a float, so numbers need no check each (``_Writer.stock_numbers``).
_STOCK_FLOAT = r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$"""
_STOCK_INT = r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"""
_STOCK_TIMESTAMP = r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"""
_STOCK_FLAGS = re.compile("", re.X).flags
_STOCK_NUMBER_RESOLVERS = {
    **dict.fromkeys("-+", ((_FLOAT_TAG, _STOCK_FLOAT), (_INT_TAG, _STOCK_INT))),
    ".": ((_FLOAT_TAG, _STOCK_FLOAT),),
    **dict.fromkeys(
        "0123456789",
        ((_FLOAT_TAG, _STOCK_FLOAT), (_INT_TAG, _STOCK_INT), (_TIMESTAMP_TAG, _STOCK_TIMESTAMP)),
    ),
}


class _Unsupported(Exception):
    """A value whose output this writer does not reproduce: PyYAML writes the document."""


class _Writer:
    def __init__(self, resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]]) -> None:
        self.resolvers = resolvers
        self.wildcard = list(resolvers.get(None, ()))
        self.out: list[str] = []
        self.keys: dict[Any, str] = {}
        # (text, indent, column) -> its output: headers, prompts and names repeat in
        # every step. Filled by the first values met, then left as it is.
        self.texts: dict[tuple[str, int, int], str] = {}
        self.plain_tags: dict[str, str] = {}
        self.stock_numbers = not self.wildcard and all(
            [(tag, regexp.pattern, regexp.flags) for tag, regexp in resolvers.get(char, ())]
            == [(tag, pattern, _STOCK_FLAGS) for tag, pattern in stock]
            for char, stock in _STOCK_NUMBER_RESOLVERS.items()
        )
        """Whether the resolvers of number-like text are PyYAML's own (see above)."""

    # --- structure --------------------------------------------------------------------

    def mapping(self, value: dict[Any, Any], indent: int, column: int) -> None:
        """A non-empty block mapping at ``indent``; its first key is written at
        ``column`` (after a "- " on the same line), the others on lines of their own."""
        out = self.out
        pad = "\n" + " " * indent
        keys = self.keys
        first = True
        for key, item in value.items():
            text = keys.get(key)
            if text is None:
                text = keys[key] = self.key(key) + ":"
            if first:
                first = False
                if column < 0:
                    out.append(pad)
                    column = indent
            else:
                out.append(pad)
                column = indent
            out.append(text)
            cls = type(item)
            if cls is str:
                out.append(self.text(item, indent + _INDENT, column + len(text)))
            elif cls is dict:
                if item:
                    self.mapping(item, indent + _INDENT, -1)
                else:
                    out.append(" {}")
            elif cls is list:
                if item:
                    self.sequence(item, indent, -1)  # indentless, as PyYAML writes it
                else:
                    out.append(" []")
            else:
                out.append(self.other(item))

    def sequence(self, items: list[Any], indent: int, column: int) -> None:
        """A non-empty block sequence whose "-" stand at ``indent``; the first "-" at
        ``column`` after another "-" on the same line, each other on a line of its own."""
        out = self.out
        dash = "\n" + " " * indent + "-"
        inner = indent + _INDENT
        for item in items:
            if column < 0:
                out.append(dash)
            else:
                out.append(" -")  # "- - item": the inner "-" one column further
                column = -1
            cls = type(item)
            if cls is str:
                out.append(self.text(item, inner, indent + 1))
            elif cls is dict:
                if item:
                    out.append(" ")
                    self.mapping(item, inner, inner)
                else:
                    out.append(" {}")
            elif cls is list:
                if item:
                    self.sequence(item, inner, indent + 1)
                else:
                    out.append(" []")
            else:
                out.append(self.other(item))

    # --- scalars ----------------------------------------------------------------------

    def key(self, key: Any) -> str:
        """A mapping key as libyaml writes a simple key (never folded)."""
        if type(key) is not str or not _safe_line(key):
            raise _Unsupported
        if len(key) > _MAX_KEY_BYTES or (
            not key.isascii() and len(key.encode("utf-8")) > _MAX_KEY_BYTES
        ):
            raise _Unsupported
        if key and _plain(key) and self._plain_tag(key) == _STR_TAG:
            return key
        return "'" + key.replace("'", "''") + "'"

    def text(self, value: str, indent: int, column: int) -> str:
        """Text after "key:" or "-" (the cursor at ``column``), as libyaml writes it."""
        cache_key = (value, indent, column)
        known = self.texts.get(cache_key)
        if known is not None:
            return known
        if "\n" in value:
            written = self.literal(value, indent)
        elif not _safe_line(value):
            raise _Unsupported
        elif value and _plain(value) and self._plain_tag(value) == _STR_TAG:
            written = _folded(value, indent, column + 1, " ", "")
        else:
            written = _folded(value.replace("'", "''"), indent, column + 2, " '", "'")
        if len(self.texts) < _CACHED_TEXTS and len(value) <= _CACHED_TEXT_MAX:
            self.texts[cache_key] = written
        return written

    def other(self, value: Any) -> str:
        """A scalar other than text after "key:" or "-"."""
        cls = type(value)
        if value is None:
            return " null"
        if cls is bool:
            return " true" if value else " false"
        if cls is int:
            text, tag = repr(value), _INT_TAG
        elif cls is float:
            text, tag = _float_text(value), _FLOAT_TAG
        else:
            raise _Unsupported
        if self.stock_numbers:
            # An int's text ("-12") and a float's ("1.5", "1.0e-05", "-.inf", ".nan") are
            # plain and match only their own stock resolver.
            return " " + text
        if not _plain(text) or self._plain_tag(text) != tag:
            raise _Unsupported
        return " " + text

    def literal(self, text: str, indent: int) -> str:
        """Multi-line text as a literal block (``|``), when libyaml writes it as one."""
        if (
            (
                not (text.isascii() and text.replace("\n", "").isprintable())
                and _UNSAFE.search(text) is not None
            )
            or text.endswith(" ")
            or " \n" in text
        ):
            raise _Unsupported  # libyaml double-quotes it
        if text.endswith("\n") and (len(text) == 1 or text[-2] == "\n"):
            raise _Unsupported  # "|+" keeps trailing breaks and ends the document "open"
        hint = "2" if text[0] in " \n" else ""
        pad = " " * indent
        body = "\n".join([pad + line if line else "" for line in text.split("\n")])
        if text.endswith("\n"):
            return " |" + hint + "\n" + body[:-1]  # the block's last break ends the line
        return " |" + hint + "-\n" + body

    def _plain_tag(self, text: str) -> str:
        """The tag a plain ``text`` would be read as (PyYAML's ``resolve``)."""
        resolvers = self.resolvers.get(text[0])
        if resolvers is None and not self.wildcard:
            return _STR_TAG
        if (
            self.stock_numbers
            and "0" <= text[0] <= "9"
            and not text.isdigit()
            and "." not in text
            and ":" not in text
            and "-" not in text
            and "_" not in text
            and text[1:2] not in ("x", "b")
        ):
            # Ids and hashes ("1de4f5..."): a stock float needs a ".", a timestamp a "-",
            # an int only digits, a ":" or a "0x"/"0b" prefix.
            return _STR_TAG
        known = self.plain_tags.get(text)
        if known is None:
            known = _STR_TAG
            for tag, regexp in [*(resolvers or ()), *self.wildcard]:
                if regexp.match(text):
                    known = tag
                    break
            if len(self.plain_tags) < _CACHED_TEXTS:
                self.plain_tags[text] = known
        return known


def _safe_line(text: str) -> bool:
    """Whether one line of text holds only characters this writer writes as they are."""
    if text.isascii():
        return text.isprintable()  # no controls (nor a break)
    return "\n" not in text and _UNSAFE.search(text) is None


def _plain(text: str) -> bool:
    """Whether libyaml's analysis lets single-line ``text`` be plain in block context: no
    leading or trailing space, none of its block indicators."""
    return (
        _NOT_PLAIN_START.match(text) is None
        and ": " not in text
        and " #" not in text
        and text[-1] not in ": "
    )


def _folded(text: str, indent: int, column: int, opening: str, closing: str) -> str:
    """Plain or single-quoted text (already escaped) starting at ``column``, folded as
    libyaml folds it: at a single space between two non-spaces past column ``WIDTH``."""
    last = len(text) - 2  # a fold point has a non-space on each side
    first = WIDTH + 1 - column  # the space at i is written at column + i
    if first > last:
        return opening + text + closing
    pieces = []
    start = 0
    find = text.find
    while first <= last:
        at = find(" ", max(first, 1), last + 1)
        while at >= 0 and (text[at - 1] == " " or text[at + 1] == " "):
            at = find(" ", at + 1, last + 1)
        if at < 0:
            break
        pieces.append(text[start:at])
        start = at + 1
        first = start + max(WIDTH + 1 - indent, 0)  # past WIDTH already: the next one
    if not pieces:
        return opening + text + closing
    pieces.append(text[start:])
    return opening + ("\n" + " " * indent).join(pieces) + closing


def _float_text(value: float) -> str:
    """``SafeRepresenter.represent_float``'s text."""
    if value != value:
        return ".nan"
    if value == float("inf"):
        return ".inf"
    if value == float("-inf"):
        return "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def dump(data: dict[str, Any], dumper: type) -> str | None:
    """``data`` (a non-empty mapping) as ``dumper`` with the cassette options writes it,
    or None when this writer does not reproduce that output exactly.

    ``dumper`` must be a subclass of ``yaml.CSafeDumper`` with the literal-block
    representer for text and no path resolvers (its implicit resolvers are used as they
    are); the caller checks that.
    """
    if type(data) is not dict or not data:
        return None
    writer = _Writer(dumper.yaml_implicit_resolvers)
    try:
        writer.mapping(data, 0, 0)
    except (_Unsupported, RecursionError):
        return None
    writer.out.append("\n")
    return "".join(writer.out)
