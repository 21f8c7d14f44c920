"""Fixtures of the resource tests: OpenBao, the sandbox, the provider server, the engine.

* ``bao``: a real OpenBao dev server (session) holding the test secrets at
  ``secret/acumatica/test``; stopped by pid.
* ``sandbox`` / ``control``: the Acumatica sandbox (session) whose user and applications use
  the distinctive secrets below, so a leak is unmistakable.
* ``provider``: the real ``python -m pulumi.dynamic`` server (session), configured with no
  stack config, Vault reachable through ``VAULT_ADDR``/``VAULT_TOKEN``; stopped by pid.
* ``world``: per test, resets the sandbox first; afterwards checks that the sandbox has no
  open session and that no secret reached a gRPC response, an error or the provider's stderr
  (a Pulumi secret may come back only in Check's inputs, where the engine keeps it secret).
* ``engine``: an isolated offline Pulumi engine setup (as in tests/engine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.resource.support import ProviderServer, provider_env, running_provider
from tests.support.openbao import OpenBaoServer, running_openbao
from tests.support.pulumi_engine import (
    collect_abandoned_programs,
)
from tests.support.sandbox import (
    CODE_CLIENT_ID,
    PASSWORD_CLIENT_ID,
    REDIRECT_URI,
    Control,
    running_sandbox,
)

from acumatica_datasource.sandbox import Sandbox

PASSWORD = "Pw-9f2c4e71-admin"
"""The sandbox user's password: in Vault (``password``) and in ``ACUMATICA_TEST_PASSWORD``."""
CODE_SECRET = "Cs-5b8e2d90-code"
"""The authorization-code application's secret: in Vault (``client_secret``)."""
WRONG_PASSWORD = "Wrong-1d4f6a-pass"
"""Not the user's password: in Vault (``wrong_password``), for failing verifications."""
PROBE_SECRET = "Ps-3c7a1f55-probe"
"""The password-flow application's secret: only ever given as a Pulumi secret."""
INLINE_SECRET = "Inline-6e2b90-notreal"
"""A Pulumi secret that is no real credential (mode off)."""

STORED_SECRETS = (PASSWORD, CODE_SECRET, WRONG_PASSWORD)
"""Values from Vault or the environment: must never appear in anything the provider returns."""
PULUMI_SECRETS = (PROBE_SECRET, INLINE_SECRET)
"""Values given as Pulumi secrets: only in Check's inputs (the engine keeps them secret)."""
ALL_SECRETS = STORED_SECRETS + PULUMI_SECRETS

VAULT_PATH = "acumatica/test"
PASSWORD_ENV = "ACUMATICA_TEST_PASSWORD"
PROBE_SECRET_ENV = "ACUMATICA_TEST_PROBE_SECRET"
CALLBACK_BASE = "https://bi.example.com"
OAUTH_ID = REDIRECT_URI.rsplit("/", 1)[-1]
"""The data-source id whose callback URL the sandbox's application has registered."""


def vault_ref(key: str, **extra: Any) -> dict[str, Any]:
    return {"vault": {"path": VAULT_PATH, "key": key, **extra}}


def sandbox_overrides() -> dict[str, Any]:
    return {
        "tenant": {
            "users": [{"name": "admin", "password": PASSWORD}],
            "connected_apps": [
                {
                    "client_id": CODE_CLIENT_ID,
                    "name": "Nectari",
                    "flow": "authorization_code",
                    "secrets": [CODE_SECRET],
                    "redirect_uris": [REDIRECT_URI],
                },
                {
                    "client_id": PASSWORD_CLIENT_ID,
                    "name": "Verifier",
                    "flow": "password",
                    "secrets": [PROBE_SECRET],
                },
            ],
        }
    }


def basic_props(url: str, **overrides: Any) -> dict[str, Any]:
    """A Basic data source whose password is in Vault."""
    props: dict[str, Any] = {
        "description": "ERP Basic",
        "type": "Acumatica",
        "url": url,
        "company": "ACME",
        "authentication": {
            "strategy": "basic",
            "username": "admin",
            "password": vault_ref("password"),
        },
    }
    props.update(overrides)
    return props


def oauth_props(url: str, *, pulumi_secret: bool = True, **overrides: Any) -> dict[str, Any]:
    """An OAuth data source: client secret in Vault, probe user's password in the
    environment, probe application's secret as a Pulumi secret (else in the environment)."""
    props: dict[str, Any] = {
        "description": "ERP OAuth",
        "data_source_id": OAUTH_ID,
        "type": "Acumatica",
        "url": url,
        "company": "ACME",
        "callback_base_url": CALLBACK_BASE,
        "authentication": {
            "strategy": "oauth2",
            "client_id": CODE_CLIENT_ID,
            "client_secret": vault_ref("client_secret"),
        },
        "verification_settings": {
            "login": {
                "username": "admin",
                "password": {"env": PASSWORD_ENV},
                "client_id": PASSWORD_CLIENT_ID,
                "client_secret": PROBE_SECRET if pulumi_secret else {"env": PROBE_SECRET_ENV},
            }
        },
    }
    props.update(overrides)
    return props


def put_test_secrets(server: OpenBaoServer) -> None:
    server.put(
        VAULT_PATH,
        {"password": PASSWORD, "client_secret": CODE_SECRET, "wrong_password": WRONG_PASSWORD},
    )


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    with running_openbao(tmp_path_factory.mktemp("bao"), audit=True) as server:
        put_test_secrets(server)
        yield server


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(**sandbox_overrides()) as site:
        yield site


@pytest.fixture(scope="session")
def control(sandbox: Sandbox) -> Iterator[Control]:
    with Control(sandbox.url) as ctl:
        yield ctl


def make_provider_env(home: Path, bao: OpenBaoServer, **extra: str) -> dict[str, str]:
    return provider_env(
        os.environ,
        home,
        VAULT_ADDR=bao.address,
        VAULT_TOKEN="root",
        **{PASSWORD_ENV: PASSWORD, PROBE_SECRET_ENV: PROBE_SECRET},
        **extra,
    )


@pytest.fixture(scope="session")
def provider(
    tmp_path_factory: pytest.TempPathFactory, bao: OpenBaoServer
) -> Iterator[ProviderServer]:
    """The shared provider server: no stack config (strict mode, one session per site)."""
    workdir = tmp_path_factory.mktemp("provider")
    home = workdir / "home"
    home.mkdir()
    with running_provider(make_provider_env(home, bao), workdir) as server:
        server.configure({})
        yield server


def leaked(text: str, *, allow_pulumi_secrets: bool = False) -> list[str]:
    """The test secrets found in ``text``."""
    secrets = STORED_SECRETS if allow_pulumi_secrets else ALL_SECRETS
    return [secret for secret in secrets if secret in text]


def assert_no_leaks(server: ProviderServer, since: int = 0, stderr_since: int = 0) -> None:
    for operation, text in server.transcript[since:]:
        found = leaked(text, allow_pulumi_secrets=operation == "check")
        assert not found, f"{operation} response carries {found}"
    found = leaked(server.stderr()[stderr_since:])
    assert not found, f"the provider's stderr carries {found}"


@pytest.fixture
def world(control: Control, provider: ProviderServer) -> Iterator[Control]:
    """A reset sandbox; afterwards: no open session, no secret in any response."""
    control.reset()
    since, stderr_since = len(provider.transcript), len(provider.stderr())
    yield control
    assert control.open_sessions() == 0, control.state()["sessions"]
    assert_no_leaks(provider, since, stderr_since)


# -- engine ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _collect_abandoned_programs() -> Iterator[None]:
    """Finalize inline programs abandoned by failed runs before the next test."""
    yield
    collect_abandoned_programs()
