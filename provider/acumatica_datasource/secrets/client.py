"""Building the ``hvac.Client`` from resolved settings, with nothing taken implicitly."""

from __future__ import annotations

from typing import Any

import hvac
import hvac.adapters
import requests

from acumatica_datasource.secrets.config import VaultConnection


def make_client(
    connection: VaultConnection, session: requests.Session | None = None
) -> hvac.Client:
    """An ``hvac.Client`` for ``connection``, without a token yet.

    Everything is passed explicitly and the adapter's ``cert``/``verify`` are forced: hvac would
    otherwise fall back to the ``VAULT_CLIENT_CERT`` it read at import time and to
    ``~/.vault-token``, and its adapter prefers ``session.verify`` over ``verify``. (Replacing
    ``client.adapter`` afterwards does not reach hvac's API classes, so it is not done.) ``session``
    lets a caller supply its own transport (e.g. proxies or instrumentation).
    """
    session = session if session is not None else requests.Session()
    session.verify = connection.verify
    session.cert = connection.cert

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
