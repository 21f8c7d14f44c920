"""Reusable helpers for tests that run against the Acumatica sandbox.

Import as ``from tests.support.sandbox import ...`` (pytest runs with ``pythonpath = ["."]``).

* :func:`sandbox_config` - the built-in config with deep-merged overrides.
* :func:`running_sandbox` - a context manager yielding a started :class:`Sandbox`.
* :class:`Control` - the ``/_sandbox`` control API through raw httpx.
* :func:`login` / :func:`logout` - cookie sessions with raw httpx.
* :func:`pkce_pair`, :func:`authorization_code` - the OAuth authorization-code round trip.
* :func:`reference_definitions` - the reference endpoint definitions directory beside the
  repository (``../shared/reference/acumatica-endpoints``), or a skip when it is absent.

Constants name the built-in tenant's users and applications.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from acumatica_datasource.sandbox import Sandbox, SandboxConfig, default_config_data

TENANT = "ACME"
USER = "admin"
PASSWORD = "secret1"
CODE_CLIENT_ID = "88358B02-A48D-A50E-F710-39C1636C30F6@ACME"
CODE_CLIENT_SECRET = "s3cr3t"
REDIRECT_URI = "https://bi.example.com/oauth/callback/abc"
PASSWORD_CLIENT_ID = "5D4C3B2A-1F0E-4D9C-8B7A-6E5F4D3C2B1A@ACME"
PASSWORD_CLIENT_SECRET = "v3rify"

#: ``make_sandbox(**overrides)`` fixtures return a started sandbox.
SandboxFactory = Callable[..., Sandbox]

#: Acumatica's Default endpoint definitions: reference data read at test time, never copied.
REFERENCE_DEFINITIONS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "acumatica-endpoints"
)


def reference_definitions() -> str:
    """The reference definitions directory; skips the calling test when it is absent."""
    if not REFERENCE_DEFINITIONS.is_dir():
        pytest.skip(f"the reference endpoint definitions are absent ({REFERENCE_DEFINITIONS})")
    return str(REFERENCE_DEFINITIONS)


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def sandbox_config_data(**overrides: Any) -> dict[str, Any]:
    """The built-in config mapping with ``overrides`` deep-merged (mappings merge, lists replace).

    ``tenant={...}`` merges into the first tenant, e.g. ``tenant={"setup_complete": False}``.
    """
    data: dict[str, Any] = default_config_data()
    tenant = overrides.pop("tenant", None)
    _merge(data, overrides)
    if tenant:
        _merge(data["tenants"][0], tenant)
    return data


def sandbox_config(**overrides: Any) -> SandboxConfig:
    """The built-in config with ``overrides`` (see :func:`sandbox_config_data`), validated."""
    return SandboxConfig.from_mapping(sandbox_config_data(**overrides))


@contextmanager
def running_sandbox(config: SandboxConfig | None = None, **overrides: Any) -> Iterator[Sandbox]:
    """Start a sandbox in a background thread for the duration of the ``with`` block."""
    if config is None:
        config = sandbox_config(**overrides)
    elif overrides:
        raise TypeError("pass either a config or overrides, not both")
    with Sandbox(config) as sandbox:
        yield sandbox


class Control:
    """The sandbox's ``/_sandbox`` control API, over raw httpx."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=f"{self.base_url}/_sandbox", timeout=10.0)

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

    def _json(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        """``GET /_sandbox/state``."""
        result: dict[str, Any] = self._json(self._client.get("/state"))
        return result

    def open_sessions(self) -> int:
        """The number of open sessions."""
        return int(self.state()["open_sessions"])

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first."""
        result: list[dict[str, Any]] = self.state()["requests"]
        return result

    def reset(self) -> None:
        """Forget sessions, tokens, faults and the log; restore users and apps."""
        self._json(self._client.post("/reset"))

    def fault(self, **spec: Any) -> dict[str, Any]:
        """Inject a fault (see ``acumatica_datasource.sandbox.faults``)."""
        result: dict[str, Any] = self._json(self._client.post("/faults", json=spec))
        return result

    def faults(self) -> list[dict[str, Any]]:
        """The faults in force, with their remaining counts."""
        result: list[dict[str, Any]] = self._json(self._client.get("/faults"))["faults"]
        return result

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._json(self._client.delete("/faults"))

    def expire_sessions(self) -> int:
        """End every open session now; return how many there were."""
        return int(self._json(self._client.post("/sessions/expire"))["expired"])

    def patch_user(self, name: str, tenant: str = TENANT, **changes: Any) -> dict[str, Any]:
        """Change a user under the running site."""
        result: dict[str, Any] = self._json(
            self._client.patch(f"/tenants/{tenant}/users/{name}", json=changes)
        )
        return result

    def patch_app(self, client_id: str, tenant: str = TENANT, **changes: Any) -> dict[str, Any]:
        """Change a connected application under the running site."""
        result: dict[str, Any] = self._json(
            self._client.patch(f"/tenants/{tenant}/apps/{client_id}", json=changes)
        )
        return result

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def login(
    client: httpx.Client,
    name: str = USER,
    password: str = PASSWORD,
    tenant: str | None = TENANT,
    **extra: str,
) -> httpx.Response:
    """``POST /entity/auth/login`` with a JSON body; the client keeps the cookies."""
    body: dict[str, str] = {"name": name, "password": password, **extra}
    if tenant is not None:
        body["tenant"] = tenant
    return client.post("/entity/auth/login", json=body)


def logout(client: httpx.Client, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """``POST /entity/auth/logout`` with an empty body (``Content-Length: 0``)."""
    return client.post("/entity/auth/logout", content=b"", headers=headers)


def pkce_pair() -> tuple[str, str]:
    """A PKCE (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def password_token(
    client: httpx.Client,
    scope: str = "api offline_access",
    client_id: str = PASSWORD_CLIENT_ID,
    client_secret: str = PASSWORD_CLIENT_SECRET,
    username: str = USER,
    password: str = PASSWORD,
) -> httpx.Response:
    """A password-grant token request (client_secret_post)."""
    return client.post(
        "/identity/connect/token",
        data={
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
            "scope": scope,
        },
    )


def authorization_code(
    client: httpx.Client,
    code_challenge: str | None = None,
    scope: str = "api offline_access",
    state: str = "xyz",
    client_id: str = CODE_CLIENT_ID,
    redirect_uri: str = REDIRECT_URI,
    username: str = USER,
    password: str = PASSWORD,
) -> str:
    """GET the authorize form, POST credentials to it, and return the code from the redirect."""
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    if code_challenge is not None:
        params.update({"code_challenge": code_challenge, "code_challenge_method": "S256"})
    page = client.get("/identity/connect/authorize", params=params)
    page.raise_for_status()
    action_match = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action_match, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    hidden = {key: html.unescape(value) for key, value in hidden.items()}
    form = {**hidden, "username": username, "password": password}
    base = client.base_url
    action = f"{base.scheme}://{base.netloc.decode('ascii')}{html.unescape(action_match.group(1))}"
    posted = client.post(action, data=form)
    assert posted.status_code == 302, (posted.status_code, posted.text)
    location = posted.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query.get("state") == [state], location
    return query["code"][0]
