r"""The forms in which a server may echo a secret back, written independently of the package.

Import as ``from tests.support.echoes import ECHOES, echo_forms, found_forms``.

A client puts a secret on the wire as JSON (``ensure_ascii=False``, as httpx writes request
bodies), as a form or URL-encoded value, or base64-encoded beside a user name; a server may
echo it in any of those, or after re-encoding it in its own JSON dialect (Python's ASCII
escapes, System.Text.Json's ``\\u0022`` style, escaped slashes), in lower- or upper-case hex.
:data:`ECHOES` names each such encoding. Leak checks search for every form, so a secret that
slips past the masking in any of them is found. The package's own list of masked forms is not
used here: a check built on it could not find what it forgot.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

USER = "admin"
"""The user name the base64 ``user:password`` echo is built with."""


def _json(value: str, *, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)[1:-1]


_DOTNET_SAFE = re.compile(r"[A-Za-z0-9 !#$%()*,\-./:;=?@\[\]^_{|}~]")


def _dotnet(value: str) -> str:
    r"""System.Text.Json's default encoder: ``\\``, the short escapes of ``\b \f \n \r \t``,
    and every other character outside its safe ASCII set as ``\uXXXX`` (upper-case hex)."""
    out = []
    for char in value:
        if char in _SHORT:
            out.append(_SHORT[char])
        elif _DOTNET_SAFE.fullmatch(char):
            out.append(char)
        else:
            units = char.encode("utf-16-be").hex().upper()
            out.extend(f"\\u{units[i : i + 4]}" for i in range(0, len(units), 4))
    return "".join(out)


_SHORT = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


ECHOES: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json-ascii": lambda s: _json(s, ascii_only=True),
    "json-unicode": lambda s: _json(s, ascii_only=False),
    "json-dotnet": _dotnet,
    "json-escaped-slashes": lambda s: _json(s, ascii_only=True).replace("/", "\\/"),
    "json-in-json": lambda s: _json(_json(s, ascii_only=False), ascii_only=True),
    "url": lambda s: quote(s, safe=""),
    "url-lower-hex": lambda s: re.sub(
        r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(s, safe="")
    ),
    "url-path": quote,
    "form": lambda s: quote_plus(s, safe=""),
    "base64": _b64,
    "base64-credentials": lambda s: _b64(f"{USER}:{s}"),
    "base64url-credentials": lambda s: base64.urlsafe_b64encode(f"{USER}:{s}".encode()).decode(),
}
"""Encoding name -> how a server echoing the secret that way writes it."""


def echo_forms(secret: str) -> dict[str, str]:
    """Every echo form of ``secret``: encoding name -> text."""
    return {name: encode(secret) for name, encode in ECHOES.items()}


def found_forms(secrets: Iterable[str], texts: Iterable[str], *, minimum: int = 6) -> list[str]:
    """``"<encoding> of secret #i"`` for every form of every secret found in ``texts`` (forms
    shorter than ``minimum`` are skipped: they would match by accident)."""
    haystacks = list(texts)
    hits = []
    for index, secret in enumerate(secrets):
        for name, form in echo_forms(secret).items():
            if len(form) >= minimum and any(form in text for text in haystacks):
                hits.append(f"{name} of secret #{index}")
    return hits
