"""Building the ``hvac.Client`` from resolved settings, with nothing taken implicitly."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import hvac
import hvac.adapters
import requests

from acumatica_datasource.secrets.config import VaultConnection


class RedirectRefused(requests.exceptions.RequestException):
    """Vault answered a redirect to another scheme, host or port: not followed."""

    def __init__(self, origin: str, target: str) -> None:
        super().__init__(f"redirect from {origin} to {target} refused")
        self.origin = origin
        self.target = target


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one when absent)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), parts.port or default


def refuse_redirects_elsewhere(response: requests.Response, **_: Any) -> requests.Response:
    """A ``requests`` response hook: a redirect to another origin raises
    :class:`RedirectRefused` before it is followed (requests would keep ``X-Vault-Token``,
    even from https to http)."""
    if response.is_redirect:
        target = urljoin(response.url, response.headers.get("Location", ""))
        if _origin(target) != _origin(response.url):
            response.close()
            raise RedirectRefused(response.url, target)
    return response


def make_client(
    connection: VaultConnection, session: requests.Session | None = None
) -> hvac.Client:
    """An ``hvac.Client`` for ``connection``, without a token yet; it follows no redirect to
    another scheme, host or port (see :func:`refuse_redirects_elsewhere`).

    Everything is passed explicitly and the adapter's ``cert``/``verify`` are forced: hvac would
    otherwise fall back to the ``VAULT_CLIENT_CERT`` it read at import time and to
    ``~/.vault-token``, and its adapter prefers ``session.verify`` over ``verify``. (Replacing
    ``client.adapter`` afterwards does not reach hvac's API classes, so it is not done.) ``session``
    lets a caller supply its own transport (e.g. proxies or instrumentation).
    """
    session = session if session is not None else requests.Session()
    session.verify = connection.verify
    session.cert = connection.cert
    if refuse_redirects_elsewhere not in session.hooks["response"]:
        session.hooks["response"].append(refuse_redirects_elsewhere)

    def adapter(**kwargs: Any) -> hvac.adapters.JSONAdapter:
        # Whatever hvac.Client derived from its import-time environment is replaced here.
        kwargs.update(cert=connection.cert, verify=connection.verify, token=None)
        return hvac.adapters.JSONAdapter(**kwargs)

    return hvac.Client(
        url=connection.address,
        token="",
        cert=connection.cert,
        verify=connection.verify,
        timeout=connection.timeout,
        namespace=connection.namespace,
        session=session,
        adapter=adapter,
    )
