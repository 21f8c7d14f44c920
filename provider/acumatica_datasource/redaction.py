"""Scrub known secret values out of text that may reach a user."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "********"
MIN_LENGTH = 4
"""Shorter values are not masked: masking "a" would mangle every message."""


class Redactor:
    """Replaces every known secret value in a text with ``********``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Remember more secret values."""
        self._secrets.update(s for s in secrets if len(s) >= MIN_LENGTH)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} values)"
