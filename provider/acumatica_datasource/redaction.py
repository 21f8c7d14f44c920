"""Scrub known secret values out of text that may reach a user."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "********"
MIN_LENGTH = 4
"""Shorter values are not masked: masking "a" would mangle every message."""


def _forms(secret: str) -> set[str]:
    """The value and the encodings a server may echo it in (JSON, URL and form encoding)."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}


class Redactor:
    """Replaces every known secret value in a text with ``********``.

    Also masks the value's JSON-escaped and URL-encoded forms, as a server may echo a form
    field or a JSON string back in an error message. Thread-safe.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Remember more secret values."""
        forms = {form for s in secrets if len(s) >= MIN_LENGTH for form in _forms(s)}
        with self._lock:
            known = set(self._secrets) | forms
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._secrets = ()

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} values)"
