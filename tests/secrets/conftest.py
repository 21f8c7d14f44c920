"""Fixtures of the secrets tests: real OpenBao dev servers, resolvers, and the leak guard.

Servers: ``bao`` (plain HTTP, with a file audit device, shared by the session), ``bao_tls``
(``-dev-tls``, shared) and ``disposable_bao`` (per test, for sealing and stopping). All are
stopped by process id at the end. Every test runs under the autouse ``leaks`` guard: all log
records (every logger at DEBUG) are searched for every secret value, token, secret id and JWT
the test or the servers created, and neither the test's HOME nor a server's HOME may end up
with a ``.vault-token``. The process environment is never changed: resolvers get ``environ=``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.secrets.support import LeakGuard
from tests.support.openbao import OpenBaoServer, running_openbao

from acumatica_datasource.secrets import SecretResolver
from acumatica_datasource.spec import VaultSecretRef, VaultSettings

SERVERS: list[OpenBaoServer] = []


def _sensitive() -> set[str]:
    values: set[str] = set()
    for server in SERVERS:
        values |= server.sensitive
    return values


def unique(prefix: str = "app") -> str:
    """A path segment no other test uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


def vault_ref(path: str, key: str, **extra: Any) -> VaultSecretRef:
    """A validated ``{vault: {...}}`` reference."""
    return VaultSecretRef.model_validate({"vault": {"path": path, "key": key, **extra}})


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    """The shared plain-HTTP dev server, with a file audit device for counting requests."""
    with running_openbao(tmp_path_factory.mktemp("bao"), audit=True) as server:
        SERVERS.append(server)
        yield server
        assert not server.vault_token_written()


@pytest.fixture(scope="session")
def bao_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    """The shared ``-dev-tls`` server; its CA is ``bao_tls.ca_cert``."""
    with running_openbao(tmp_path_factory.mktemp("bao-tls"), tls=True) as server:
        SERVERS.append(server)
        yield server
        assert not server.vault_token_written()


@pytest.fixture
def disposable_bao(tmp_path: Path) -> Iterator[OpenBaoServer]:
    """A server of this test alone (to seal or stop)."""
    with running_openbao(tmp_path / "bao") as server:
        SERVERS.append(server)
        yield server
        assert not server.vault_token_written()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The HOME handed to resolvers through ``environ``."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def leaks(caplog: pytest.LogCaptureFixture, home: Path) -> Iterator[LeakGuard]:
    """Search every log record of the test for secrets; check no ~/.vault-token appeared."""
    caplog.set_level(logging.DEBUG)
    guard = LeakGuard(_sensitive)
    yield guard
    guard.check_records(caplog.records)
    token_file = home / ".vault-token"
    if guard.vault_token_file is None:
        assert not token_file.exists(), "~/.vault-token was written"
    else:  # the test wrote one itself: it must be unchanged
        assert token_file.read_text() == guard.vault_token_file


ResolverFactory = Callable[..., SecretResolver]


@pytest.fixture
def make_resolver(home: Path) -> Iterator[ResolverFactory]:
    """``make_resolver(settings, env={...}, **kwargs)``: resolvers closed after the test.

    ``environ`` is exactly ``{"HOME": <temp home>, **env}``: nothing of the process
    environment leaks in, and nothing is written to it.
    """
    made: list[SecretResolver] = []

    def factory(
        settings: VaultSettings | None = None, env: dict[str, str] | None = None, **kwargs: Any
    ) -> SecretResolver:
        resolver = SecretResolver(settings, environ={"HOME": str(home), **(env or {})}, **kwargs)
        made.append(resolver)
        return resolver

    yield factory
    for resolver in made:
        resolver.close()


@pytest.fixture
def settings(bao: OpenBaoServer) -> VaultSettings:
    """Settings pointing at the shared server (the token comes from ``env``)."""
    return VaultSettings(address=bao.address)


@pytest.fixture
def root_env() -> dict[str, str]:
    return {"VAULT_TOKEN": "root"}
