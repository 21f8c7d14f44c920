"""Text that may reach a user, a log or the state: secrets masked, terminal sequences removed.

A server can echo a secret back in an error message, in the encoding the client sent it in or
after re-encoding it. :class:`Redactor` masks every form :func:`echo_forms` lists: the value;
the forms httpx puts on the wire (a JSON body without ASCII escapes, a form body, a query
parameter); the JSON dialects of servers (ASCII ``\\u00e9`` escapes, System.Text.Json's
``\\u0022`` with upper-case hex, escaped slashes, a JSON string inside a JSON string); URL
encodings (hex in either case); UTF-8 read as Latin-1; and base64 of any text holding the
value (``user:password`` in a Basic header, whatever the user name).

:meth:`Redactor.clean` is the one function that turns server text into text safe to print or
record: secrets masked before anything else, then terminal sequences and control characters
removed (:func:`strip_controls`), whitespace collapsed, and the result shortened.

Server text can carry terminal escape sequences (``ESC ] 0 ; title BEL`` sets the window
title, ``ESC [ 2 J`` clears the screen), C1 controls (U+009B is a one-character CSI) and
Unicode format characters that reorder or hide text (bidi overrides, zero-width spaces).
Names a user writes (a data source's description, company, user name) refuse the same
characters (:data:`UNSAFE`, :data:`UNSAFE_BMP_CLASS`).

A shared root module: it imports nothing of the package (and httpx only when a secret is
added), so the spec layer may use its character rules.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "********"
MIN_LENGTH = 4
"""Shorter values are not masked: masking "a" would mangle every message."""

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Control and format characters, line and paragraph separators (Unicode categories)."""

UNSAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
"""The code points of :data:`UNSAFE_CATEGORIES` (Unicode 14.0, Python 3.11's; a test checks
the table against ``unicodedata``)."""


def _escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(
        _escape(low) if low == high else f"{_escape(low)}-{_escape(high)}" for low, high in ranges
    )


UNSAFE_BMP_CLASS = _class(tuple(r for r in UNSAFE_RANGES if r[1] <= 0xFFFF))
"""The basic-multilingual-plane part of :data:`UNSAFE_RANGES` as the inside of a character
class with ``\\uXXXX`` escapes, which Python, Rust (pydantic) and JSON Schema regexes share."""

UNSAFE = re.compile(f"[{_class(UNSAFE_RANGES)}]")
"""Any one unsafe character."""

_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]?                     # CSI: cursor, colours, erase
    | (?:\x1b\]|\x9d) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)?   # OSC: window title, hyperlinks
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]) [^\x1b\x9c]* (?:\x1b\\|\x9c)?  # DCS, SOS, PM, APC
    | \x1b [ -/]* [0-~]?                                       # any other escape
    """,
    re.VERBOSE,
)


def strip_controls(text: str) -> str:
    """``text`` without escape sequences; every other unsafe character becomes a space."""
    return UNSAFE.sub(" ", _SEQUENCES.sub("", text))


def first_unsafe(text: str) -> str | None:
    """``U+XXXX`` of the first unsafe character in ``text``, if any (for messages)."""
    found = UNSAFE.search(text)
    return f"U+{ord(found.group(0)):04X}" if found else None


_WIRE_HOST = "http://wire.invalid/"
_DOTNET_SAFE = re.compile(r"[A-Za-z0-9 !#$%()*,\-./:;=?@\[\]^_{|}~]")
_DOTNET_SHORT = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HEX_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4})")


def wire_forms(secret: str) -> set[str]:
    """How the client's HTTP library writes ``secret`` in a request: inside a JSON body, a
    form body and a query string (derived from httpx itself, not restated)."""
    import httpx  # here: the spec layer imports this module and must stay light

    prefix, suffix = '{"v":"', '"}'
    as_json = httpx.Request("POST", _WIRE_HOST, json={"v": secret}).content.decode()
    as_form = httpx.Request("POST", _WIRE_HOST, data={"v": secret}).content.decode()
    as_query = httpx.URL(_WIRE_HOST, params={"v": secret}).query.decode()
    assert as_json.startswith(prefix) and as_json.endswith(suffix)
    return {as_json[len(prefix) : -len(suffix)], as_form[2:], as_query[2:]}


def _dotnet(text: str) -> str:
    """System.Text.Json's default escaping (upper-case ``\\uXXXX`` beyond a safe ASCII set)."""
    out = []
    for char in text:
        if char in _DOTNET_SHORT:
            out.append(_DOTNET_SHORT[char])
        elif _DOTNET_SAFE.fullmatch(char):
            out.append(char)
        else:
            units = char.encode("utf-16-be").hex().upper()
            out.extend(f"\\u{units[i : i + 4]}" for i in range(0, len(units), 4))
    return "".join(out)


def _json_dialects(text: str) -> set[str]:
    """``text`` as the inside of a JSON string, in the dialects servers write."""
    ascii_form = json.dumps(text)[1:-1]
    unicode_form = json.dumps(text, ensure_ascii=False)[1:-1]
    return {
        ascii_form,
        unicode_form,
        _dotnet(text),
        ascii_form.replace("/", "\\/"),
        unicode_form.replace("/", "\\/"),
    }


def _base64_cores(data: bytes) -> set[str]:
    """The base64 characters that ``data`` alone determines, at each of the three offsets it
    can have inside a longer base64 text (standard and URL-safe alphabets)."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        if len(core) >= MIN_LENGTH:
            cores |= {core, core.translate(str.maketrans("+/", "-_"))}
    return cores


def echo_forms(secret: str) -> set[str]:
    """Every form of ``secret`` a server may echo (see the module's docstring)."""
    sent = {secret, *wire_forms(secret), quote(secret, safe=""), quote(secret)}
    sent.add(quote_plus(secret, safe=""))
    forms = set(sent)
    for text in sent:
        forms |= _json_dialects(text)
    for text in _json_dialects(secret):  # a JSON string inside a JSON string
        forms |= _json_dialects(text)
    if not secret.isascii():
        forms.add(secret.encode().decode("latin-1"))
    forms |= _base64_cores(secret.encode())
    return {form for form in forms if len(form) >= MIN_LENGTH}


def _any_case(hex_digits: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in hex_digits)


def _pattern(form: str) -> str:
    """A regex for ``form`` whose ``%XX`` and ``\\uXXXX`` escapes match either hex case."""
    parts = []
    for index, part in enumerate(_HEX_ESCAPE.split(form)):
        if index % 2 == 0:
            parts.append(re.escape(part))
        elif part.startswith("%"):
            parts.append("%" + _any_case(part[1:]))
        else:
            parts.append(r"\\u" + _any_case(part[2:]))
    return "".join(parts)


class Redactor:
    """Replaces every form of every known secret in a text with ``********``. Thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: frozenset[str] = frozenset()
        self._regex: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Remember more secret values."""
        forms = {form for s in secrets if len(s) >= MIN_LENGTH for form in echo_forms(s)}
        with self._lock:
            if forms <= self._forms:
                return
            self._forms = self._forms | forms
            ordered = sorted(self._forms, key=len, reverse=True)  # longest first
            self._regex = re.compile("|".join(_pattern(form) for form in ordered))

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._forms = frozenset()
            self._regex = None

    def __call__(self, text: str) -> str:
        """``text`` with every known secret masked."""
        regex = self._regex
        return text if regex is None else regex.sub(MASK, text)

    def clean(self, text: str, limit: int | None = None) -> str:
        """Untrusted (server) text made safe to print or record: secrets masked before
        anything else, escape sequences and control characters removed, whitespace runs
        collapsed, secrets masked again (removing characters may join a value), and the
        result shortened to ``limit`` characters."""
        safe = self(" ".join(strip_controls(self(text)).split()))
        if limit is not None and len(safe) > limit:
            safe = safe[: limit - 3] + "..."
        return safe

    def __len__(self) -> int:
        return len(self._forms)

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"
