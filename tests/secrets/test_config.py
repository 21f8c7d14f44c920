"""Settings resolution: the file's vault block, then BAO_*, then VAULT_*; explicit to hvac."""

from __future__ import annotations

import logging
import socket
import time
import warnings
from pathlib import Path

import pytest
from tests.secrets.conftest import ResolverFactory, vault_ref
from tests.secrets.support import LeakGuard

from acumatica_datasource.secrets import (
    EnvSecretMissing,
    InsecureVaultWarning,
    VaultConfigError,
    resolve_connection,
)
from acumatica_datasource.secrets.client import make_client
from acumatica_datasource.spec import EnvSecretRef, VaultSettings


def test_file_then_bao_then_vault(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {
        "BAO_ADDR": "https://bao.example:8200",
        "VAULT_ADDR": "https://vault.example:8200",
        "VAULT_NAMESPACE": "team-a",
        "VAULT_CACERT": str(ca),
        "BAO_CLIENT_TIMEOUT": "1m30s",
        "VAULT_SKIP_VERIFY": "",  # empty counts as unset
    }
    conn = resolve_connection(None, env)
    assert conn.address == "https://bao.example:8200"
    assert conn.sources["address"] == "BAO_ADDR"
    assert conn.namespace == "team-a" and conn.sources["namespace"] == "VAULT_NAMESPACE"
    assert conn.verify == str(ca)
    assert conn.timeout == 90
    assert not conn.skip_verify

    from_file = resolve_connection(
        VaultSettings(address="https://file.example/", namespace="ns", timeout=5), env
    )
    assert from_file.address == "https://file.example"
    assert from_file.sources["address"] == "vault.address"
    assert from_file.namespace == "ns" and from_file.timeout == 5

    assert resolve_connection(None, {"VAULT_ADDR": "http://127.0.0.1:1"}).timeout == 10


def test_no_address_is_a_clear_error(leaks: LeakGuard) -> None:
    with leaks.raises(VaultConfigError) as info:
        resolve_connection(None, {})
    assert "vault.address" in str(info.value)
    assert "VAULT_ADDR" in str(info.value) and "BAO_ADDR" in str(info.value)


def test_no_address_names_the_reference(make_resolver: ResolverFactory, leaks: LeakGuard) -> None:
    resolver = make_resolver(None, env={"VAULT_TOKEN": "root"})
    with leaks.raises(VaultConfigError) as info:
        resolver.resolve(vault_ref("app", "password"))
    assert str(info.value).startswith("vault:secret/app#password: no Vault address")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VAULT_ADDR": "vault.example:8200"}, "not an http:// or https:// URL"),
        ({"VAULT_ADDR": "https://v", "VAULT_SKIP_VERIFY": "maybe"}, "must be true or false"),
        ({"VAULT_ADDR": "https://v", "VAULT_CLIENT_TIMEOUT": "soon"}, "positive number"),
        ({"VAULT_ADDR": "https://v", "VAULT_CACERT": "/nonexistent/ca.pem"}, "does not exist"),
        ({"VAULT_ADDR": "https://v", "VAULT_CAPATH": "/nonexistent"}, "does not exist"),
    ],
)
def test_bad_settings(env: dict[str, str], message: str, leaks: LeakGuard) -> None:
    with leaks.raises(VaultConfigError, match=message):
        resolve_connection(None, env)


def test_client_key_needs_cert(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("k")
    with pytest.raises(VaultConfigError, match="without a client certificate"):
        resolve_connection(None, {"VAULT_ADDR": "https://v", "VAULT_CLIENT_KEY": str(key)})


def test_skip_verify_warns_loudly(caplog: pytest.LogCaptureFixture, leaks: LeakGuard) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conn = resolve_connection(
            None, {"BAO_ADDR": "https://vault.example:8200", "BAO_SKIP_VERIFY": "1"}
        )
    assert conn.verify is False
    texts = [str(w.message) for w in caught if issubclass(w.category, InsecureVaultWarning)]
    assert texts and "https://vault.example:8200" in texts[0] and "BAO_SKIP_VERIFY" in texts[0]
    leaks.check_warnings(caught)
    logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("https://vault.example:8200" in r.getMessage() for r in logged)


def test_hvac_gets_everything_explicitly(tmp_path: Path) -> None:
    ca, cert, key = (tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem"))
    for p in (ca, cert, key):
        p.write_text("x")
    conn = resolve_connection(
        VaultSettings(address="https://vault.example:8200", timeout=7, namespace="team"),
        {"BAO_CACERT": str(ca), "VAULT_CLIENT_CERT": str(cert), "VAULT_CLIENT_KEY": str(key)},
    )
    client = make_client(conn)
    try:
        assert client.url == "https://vault.example:8200"
        assert client.token is None
        assert client.adapter.namespace == "team"
        assert client.adapter._kwargs["verify"] == str(ca)
        assert client.adapter._kwargs["cert"] == (str(cert), str(key))
        assert client.adapter._kwargs["timeout"] == 7
        assert client.session.verify == str(ca)
    finally:
        client.adapter.close()


def test_env_references(make_resolver: ResolverFactory, leaks: LeakGuard) -> None:
    raw = leaks.fresh()
    resolver = make_resolver(None, env={"DB_PASSWORD": raw, "EMPTY": ""})
    resolved = resolver.resolve(EnvSecretRef(env="DB_PASSWORD"))
    assert resolved.value.reveal() == raw
    assert resolved.metadata.kind == "env" and resolved.metadata.variable == "DB_PASSWORD"
    assert resolved.metadata.reference == "env:DB_PASSWORD"
    with leaks.raises(EnvSecretMissing) as info:
        resolver.resolve(EnvSecretRef(env="MISSING"))
    assert str(info.value).startswith("env:MISSING: the environment variable MISSING is not set")
    with leaks.raises(EnvSecretMissing, match="EMPTY is empty"):
        resolver.resolve(EnvSecretRef(env="EMPTY"))


def test_env_only_never_contacts_vault(make_resolver: ResolverFactory, leaks: LeakGuard) -> None:
    """A vault block pointing at a server that would hang is never contacted for env refs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"http://127.0.0.1:{listener.getsockname()[1]}"
        raw = leaks.fresh()
        resolver = make_resolver(VaultSettings(address=address), env={"PW": raw})
        started = time.monotonic()
        assert resolver.resolve(EnvSecretRef(env="PW")).value.reveal() == raw
        assert resolver.metadata(EnvSecretRef(env="PW")).variable == "PW"
        assert time.monotonic() - started < 1
        assert resolver.logins == 0
        listener.settimeout(0.05)
        with pytest.raises(TimeoutError):
            listener.accept()
