"""Connection strings in the ``Key=value;`` dialect of Acumatica drivers and BI tools.

A value is written bare unless it contains ``;``, ``=``, a quote or surrounding spaces; then
it is wrapped in double quotes, with any double quote inside doubled. The parser also takes
single-quoted values (``'a;b'``). Keys compare case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MANAGED_KEYS: dict[str, str] = {
    "url": "url",
    "company": "company",
    "user": "authentication.username",
    "password": "authentication.password",
    "authscheme": "authentication.strategy",
    "oauthclientid": "authentication.client_id",
    "oauthclientsecret": "authentication.client_secret",
    "scope": "authentication.scope",
    "callbackurl": "callback_base_url",
    "pagesize": "page_size",
    "timeout": "operation_timeout",
}
"""Connection-string keys the data-source fields own (lower-cased) -> the field to use."""

_KEY = re.compile(r"^[^=;\"'\x00-\x1f]+$")
_NEEDS_QUOTES = re.compile(r"[;=\"']|^\s|\s$")


class PropertySyntaxError(ValueError):
    """A connection string cannot be parsed; the message says where."""


def parse(text: str) -> list[tuple[str, str]]:
    """Parse ``k=v;k2="v;2"`` into ``[(key, value), ...]`` in order, duplicates kept."""
    items: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] in "; \t\r\n":
            pos += 1
            continue
        eq = text.find("=", pos)
        semi = text.find(";", pos)
        if eq < 0 or (0 <= semi < eq):
            stop = semi if semi >= 0 else end
            raise PropertySyntaxError(
                f"'{text[pos:stop].strip()}' has no '=': write properties as key=value;"
            )
        key = text[pos:eq].strip()
        if not key or not _KEY.match(key):
            raise PropertySyntaxError(
                f"property {len(items) + 1} has an empty or invalid key: write key=value;"
            )
        value, pos = _value(text, eq + 1, key)
        items.append((key, value))
    return items


def _value(text: str, pos: int, key: str) -> tuple[str, int]:
    """Read a value starting at ``pos``; return it and the position after its ``;``."""
    end = len(text)
    while pos < end and text[pos] in " \t":
        pos += 1
    if pos < end and text[pos] in "\"'":
        quote = text[pos]
        pos += 1
        chunks: list[str] = []
        while True:
            close = text.find(quote, pos)
            if close < 0:
                raise PropertySyntaxError(f"the value of {key} has no closing {quote}")
            chunks.append(text[pos:close])
            if close + 1 < end and text[close + 1] == quote:
                chunks.append(quote)
                pos = close + 2
                continue
            pos = close + 1
            break
        while pos < end and text[pos] in " \t":
            pos += 1
        if pos < end and text[pos] != ";":
            raise PropertySyntaxError(f"the quoted value of {key} must be followed by ';'")
        return "".join(chunks), pos + 1
    semi = text.find(";", pos)
    stop = semi if semi >= 0 else end
    raw = text[pos:stop].strip()
    if '"' in raw or "'" in raw:
        raise PropertySyntaxError(
            f"the value of {key} contains a quote: quote the whole value, doubling inner quotes"
        )
    return raw, stop + 1


def quote(value: str) -> str:
    """Quote a value when the dialect needs it."""
    if value == "" or _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def render(items: Iterable[tuple[str, str]]) -> str:
    """Render ``[(key, value), ...]`` as ``key=value;key2=value2;``."""
    return "".join(f"{key}={quote(value)};" for key, value in items)
