"""URL rules: site URLs, the BI server's callback base, loopback detection, ids."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?)$"
)
_ENTITY_SUFFIX = re.compile(r"/entity/?$", re.IGNORECASE)
_ENTITY_INSIDE = re.compile(r"/entity/", re.IGNORECASE)

HTTPS_OR_LOOPBACK_PATTERN = (
    r"^([Hh][Tt][Tt][Pp][Ss]://\S+|[Hh][Tt][Tt][Pp]://(localhost|127\.[0-9.]+|\[::1\])"
    r"(:[0-9]+)?(/\S*)?)$"
)
"""An https URL, or plain http to a loopback host (what JSON Schema can say of the rule)."""

CALLBACK_PATH = "/oauth/callback/{id}"
"""Appended to ``callback_base_url`` to form a data source's OAuth callback URL."""


class UrlProblem(ValueError):
    """A URL breaks a rule; the message says which and how to fix it (never echoes it)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_off_loopback(url: str) -> bool:
    """Whether ``url`` is ``http://`` to a host that is not loopback."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() == "http" and not is_loopback(parts.hostname or "")


def _split(url: str, example: str) -> tuple[str, str, str]:
    """Check the parts every URL here shares; return (scheme, netloc, path)."""
    if url != url.strip() or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UrlProblem("must not contain spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise UrlProblem(f"must be an absolute URL such as {example}")
    if "@" in parts.netloc:
        raise UrlProblem(
            "must not contain credentials (user:password@): "
            "put them under authentication, as secret references"
        )
    if "?" in url or "#" in url:
        raise UrlProblem("must not have a query (?...) or fragment (#...)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UrlProblem("has an invalid port") from None
    host = parts.hostname or ""
    if not host or not _HOST.match(host if ":" not in host else f"[{host}]"):
        raise UrlProblem("has an invalid host name")
    return scheme, parts.netloc.lower(), parts.path


def normalize_site_url(url: str) -> str:
    """Normalise an Acumatica site URL: ``https://host[:port][/instance]``."""
    scheme, netloc, path = _split(url, "https://acme.acumatica.com")
    host = urlsplit(url).hostname or ""
    if scheme != "https" and not is_loopback(host):
        raise UrlProblem("must use https:// (plain http is allowed only for loopback hosts)")
    path = path.rstrip("/")
    path = _ENTITY_SUFFIX.sub("", path + "/").rstrip("/") if path else ""
    if _ENTITY_INSIDE.search(path + "/"):
        raise UrlProblem(
            "must be the site URL, not an endpoint URL: remove /entity/... and set "
            "EndpointVersion in extra_connection_properties to choose an endpoint version"
        )
    return f"{scheme}://{netloc}{path}"


def normalize_callback_base(url: str) -> str:
    """Normalise the BI server's public base URL (https only)."""
    scheme, netloc, path = _split(url, "https://bi.example.com")
    if scheme != "https":
        raise UrlProblem("must use https://: Acumatica redirects users to it")
    return f"{scheme}://{netloc}{path.rstrip('/')}"


def callback_url(base: str, data_source_id: str) -> str:
    """The OAuth redirect URI of a data source: ``{base}/oauth/callback/{id}``."""
    return normalize_callback_base(base) + CALLBACK_PATH.format(id=data_source_id)


def slugify(description: str) -> str:
    """A stable id derived from a description: lower-case ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:63].rstrip("-")
    if not slug:
        digest = hashlib.sha256(description.encode("utf-8")).hexdigest()[:10]
        slug = f"ds-{digest}"
    return slug
