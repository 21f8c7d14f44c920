"""Characters and sequences that must not reach a terminal, a log line or the state.

Text from a server can carry terminal escape sequences (``ESC ] 0 ; title BEL`` sets the
window title, ``ESC [ 2 J`` clears the screen), C1 controls (U+009B is a one-character CSI)
and Unicode format characters that reorder or hide text (bidi overrides, zero-width spaces).
:func:`strip` removes the sequences and turns the characters into spaces; names a user writes
(a data source's description, company, user name) refuse the same characters
(:data:`UNSAFE`, :data:`UNSAFE_BMP_CLASS`).
"""

from __future__ import annotations

import re

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


def strip(text: str) -> str:
    """``text`` without escape sequences; every other unsafe character becomes a space."""
    return UNSAFE.sub(" ", _SEQUENCES.sub("", text))


def first_unsafe(text: str) -> str | None:
    """``U+XXXX`` of the first unsafe character in ``text``, if any (for messages)."""
    found = UNSAFE.search(text)
    return f"U+{ord(found.group(0)):04X}" if found else None
