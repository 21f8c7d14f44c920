"""State backends as messages may show them: a backend URL without its password, and the
engine's text with the backend's passwords masked."""

from __future__ import annotations

import functools
import os
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from acumatica_datasource.redaction import Redactor


def backend_name(url: str) -> str:
    """A backend URL as it may be shown: without a password (in the user part or a
    ``password=`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        pair for pair in parts.query.split("&") if pair.split("=", 1)[0].lower() != "password"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def backend_secrets(url: str) -> list[str]:
    """The passwords a backend URL holds (the user part's, ``password=`` parameters)."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        if key.lower() == "password" and value:
            found += [value, unquote_plus(value)]
    return found


def engine_text(text: str) -> str:
    """Text of the engine as it may be shown: the backend URL's passwords masked (the engine
    repeats the URL in its errors, and masks only the user part's password)."""
    url = os.environ.get("PULUMI_BACKEND_URL")
    return _redactor(url)(text) if url else text


@functools.lru_cache(maxsize=4)
def _redactor(url: str) -> Redactor:
    """One redactor per backend URL (each engine diagnostic passes through it)."""
    return Redactor(backend_secrets(url))
