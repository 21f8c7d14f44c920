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

KEY_PATTERN = r"^[^=;\"'\x00-\x1f]+$"
"""A key: no ``=``, ``;``, quotes or control characters (in both forms of the properties)."""
_KEY = re.compile(KEY_PATTERN)

CREDENTIAL_WORDS = ("password", "secret", "token", "api-key", "private-key")
CREDENTIAL_KEY_PATTERN = "|".join(
    "".join("[_-]?" if c == "-" else f"[{c.upper()}{c}]" for c in word) for word in CREDENTIAL_WORDS
)
"""Keys containing one of these words (any case; ``_`` or ``-`` inside the two-word ones) carry
credentials: they take only secret references (a search, as JSON Schema's patterns are)."""

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
INSECURE_TLS: dict[str, frozenset[str]] = {
    "sslservercert": frozenset({"*"}),
    "trustservercertificate": frozenset(_TRUE),
    "ignorecertificateerrors": frozenset(_TRUE),
    "ignoresslerrors": frozenset(_TRUE),
    "allowinvalidcertificates": frozenset(_TRUE),
    "acceptanycertificate": frozenset(_TRUE),
    "disablecertificatevalidation": frozenset(_TRUE),
    "insecureskipverify": frozenset(_TRUE),
    "verifyservercertificate": frozenset(_FALSE),
    "validateservercertificate": frozenset(_FALSE),
    "sslverify": frozenset(_FALSE),
    "verifyssl": frozenset(_FALSE),
    "sslmode": frozenset({"none", "disable", "disabled", "allow", "prefer"}),
}
"""Driver properties (lower-cased key -> values) that switch off the checks of the site's TLS
certificate (``SSLServerCert=*`` accepts any certificate)."""


def is_credential_key(key: str) -> bool:
    """Whether a property carries a credential (``ProxyPassword``, ``ApiKey``...)."""
    return re.search(CREDENTIAL_KEY_PATTERN, key) is not None


def disables_certificate_checks(key: str, value: str) -> bool:
    """Whether ``key=value`` switches off the checks of the site's certificate."""
    return value.strip().lower() in INSECURE_TLS.get(key.strip().lower(), frozenset())


_NEEDS_QUOTES = re.compile(r"[;=\"']|^\s|\s$")


def valid_key(key: str) -> bool:
    """Whether ``key`` is a well-formed property key (see :data:`KEY_PATTERN`)."""
    return _KEY.match(key) is not None


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
