"""Failures of the server itself: TLS, sealed, stopped, hanging, wrong scheme."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.secrets.conftest import ResolverFactory, unique, vault_ref
from tests.secrets.support import LeakGuard
from tests.support.openbao import OpenBaoServer

from acumatica_datasource.secrets import (
    VaultConfigError,
    VaultSealed,
    VaultTimeout,
    VaultTLSError,
    VaultUnavailable,
)
from acumatica_datasource.spec import VaultSettings

ROOT = {"VAULT_TOKEN": "root"}


# -- TLS ------------------------------------------------------------------------------------


def test_tls_with_ca_file(
    bao_tls: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    value = leaks.fresh()
    bao_tls.put(path, {"password": value})
    assert bao_tls.ca_cert
    settings = VaultSettings(address=bao_tls.address, ca_cert=bao_tls.ca_cert)
    assert (
        make_resolver(settings, env=ROOT).resolve(vault_ref(path, "password")).value.reveal()
        == value
    )
    # The same through BAO_CACERT, and through a CA directory (BAO_CAPATH).
    env = {"BAO_ADDR": bao_tls.address, "BAO_CACERT": bao_tls.ca_cert, **ROOT}
    assert make_resolver(None, env=env).resolve(vault_ref(path, "password")).value.reveal() == value
    env = {"BAO_ADDR": bao_tls.address, "BAO_CAPATH": str(bao_tls.cert_dir), **ROOT}
    assert make_resolver(None, env=env).resolve(vault_ref(path, "password")).value.reveal() == value


def test_tls_without_the_ca_names_the_ca_in_use(
    bao_tls: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    resolver = make_resolver(VaultSettings(address=bao_tls.address), env=ROOT)
    with leaks.raises(VaultTLSError) as info:
        resolver.resolve(vault_ref("app", "password"))
    message = str(info.value)
    assert message.startswith(
        "vault:secret/app#password: TLS connection to Vault at https://127.0.0.1"
    )
    assert "certificate verify failed" in message
    assert (
        "the default CA bundle" in message
        and "no vault.ca_cert, BAO_CACERT or VAULT_CACERT" in message
    )


def test_tls_with_the_wrong_ca(
    bao_tls: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard, tmp_path: Path
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(Path(bao_tls.cert_dir / "vault-cert.pem").read_text())  # not the CA
    resolver = make_resolver(
        None, env={"VAULT_ADDR": bao_tls.address, "VAULT_CACERT": str(other_ca), **ROOT}
    )
    with leaks.raises(VaultTLSError) as info:
        resolver.resolve(vault_ref("app", "password"))
    assert f"the CA file {other_ca} (VAULT_CACERT)" in str(info.value)


def test_skip_verify_works_with_a_warning(
    bao_tls: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    value = leaks.fresh()
    bao_tls.put(path, {"password": value})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolver = make_resolver(VaultSettings(address=bao_tls.address, skip_verify=True), env=ROOT)
        assert resolver.resolve(vault_ref(path, "password")).value.reveal() == value
    assert any(bao_tls.address in str(w.message) for w in caught)
    leaks.check_warnings(caught)


def test_http_to_an_https_server(
    bao_tls: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    address = bao_tls.address.replace("https://", "http://")
    resolver = make_resolver(VaultSettings(address=address), env=ROOT)
    with leaks.raises(VaultConfigError, match="speaks HTTPS but the address says http://"):
        resolver.resolve(vault_ref("app", "password"))


# -- sealed, stopped, hanging -----------------------------------------------------------------


def test_sealed_server(
    disposable_bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    disposable_bao.put(path, {"password": leaks.fresh(), "username": leaks.fresh()})
    resolver = make_resolver(VaultSettings(address=disposable_bao.address), env=ROOT)
    resolver.resolve(vault_ref(path, "password"))
    disposable_bao.seal()
    with leaks.raises(VaultSealed) as info:
        resolver.resolve(vault_ref(path, "username", version=1))
    message = str(info.value)
    assert message.startswith(
        f"vault:secret/{path}#username@v1: Vault at {disposable_bao.address} is sealed"
    )
    assert "bao operator unseal" in message
    with leaks.raises(VaultSealed):  # a fresh run fails as clearly at login
        make_resolver(VaultSettings(address=disposable_bao.address), env=ROOT).resolve(
            vault_ref(path, "password")
        )


def test_stopped_server(
    disposable_bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    value = leaks.fresh()
    disposable_bao.put(path, {"password": value, "username": leaks.fresh()})
    resolver = make_resolver(VaultSettings(address=disposable_bao.address), env=ROOT)
    assert resolver.resolve(vault_ref(path, "password")).value.reveal() == value
    disposable_bao.stop()
    assert not disposable_bao.running
    with leaks.raises(VaultUnavailable) as info:
        resolver.resolve(vault_ref(path, "username", version=1))
    message = str(info.value)
    assert f"cannot connect to Vault at {disposable_bao.address}" in message
    assert "(connection refused)" in message and "(from vault.address)" in message
    # What was already read stays available for the rest of the run.
    assert resolver.resolve(vault_ref(path, "password")).value.reveal() == value


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """A loopback socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


def test_hanging_server_times_out(
    hanging_server: str, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    resolver = make_resolver(VaultSettings(address=hanging_server, timeout=0.5), env=ROOT)
    started = time.monotonic()
    with leaks.raises(VaultTimeout) as info:
        resolver.resolve(vault_ref("app", "password"))
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert f"Vault at {hanging_server} did not answer within 0.5 s" in message
    assert "vault.timeout" in message


def test_timeout_from_environment(
    hanging_server: str, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    resolver = make_resolver(
        None, env={"VAULT_ADDR": hanging_server, "VAULT_CLIENT_TIMEOUT": "300ms", **ROOT}
    )
    with leaks.raises(VaultTimeout, match="within 0.3 s"):
        resolver.resolve(vault_ref("app", "password"))


def test_bao_binary_is_available() -> None:
    from tests.support.openbao import find_bao

    assert Path(find_bao()).exists() or shutil.which("bao")


def test_a_hung_vault_costs_one_timeout_per_run(
    hanging_server: str, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    """Issue 11, point 10: the references of a run are read at the same time, and after the
    first timeout every other one fails at once with the same cause (naming its own
    reference): the token is not checked again."""
    resolver = make_resolver(VaultSettings(address=hanging_server, timeout=0.5), env=ROOT)
    errors: list[BaseException] = []

    def resolve(path: str) -> None:
        try:
            resolver.resolve(vault_ref(path, "password"))
        except BaseException as exc:  # collected for the assertions below
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=resolve, args=(f"team-{n}",)) for n in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    resolve("team-d")
    elapsed = time.monotonic() - started
    assert elapsed < 0.9, f"{elapsed:.2f} s: more than one timeout"
    assert len(errors) == 4 and all(isinstance(e, VaultTimeout) for e in errors), errors
    for name in "abcd":
        assert any(str(e).startswith(f"vault:secret/team-{name}#password: ") for e in errors)
    assert all("did not answer within 0.5 s" in str(e) for e in errors), errors
    assert resolver.logins == 0
    with leaks.raises(VaultTimeout):
        resolver.resolve(vault_ref("team-e", "password"))
