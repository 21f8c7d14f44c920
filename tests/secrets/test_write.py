"""Write-back with check-and-set (KV v2) and last-writer-wins (KV v1)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from tests.secrets.conftest import ResolverFactory, unique, vault_ref
from tests.secrets.support import LeakGuard
from tests.support.openbao import OpenBaoServer

from acumatica_datasource.secrets import (
    SecretAccessDenied,
    SecretConflict,
    SecretError,
    VaultConfigError,
)
from acumatica_datasource.spec import EnvSecretRef, VaultSettings

ROOT = {"VAULT_TOKEN": "root"}


def test_cas_write_keeps_other_keys(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    client_id, old_token = leaks.fresh("client"), leaks.fresh("refresh")
    bao.put(path, {"client_id": client_id, "refresh_token": old_token})
    resolver = make_resolver(settings, env=ROOT)
    ref = vault_ref(path, "refresh_token")
    before = resolver.resolve(ref)
    assert before.metadata.version == 1

    new_token = leaks.fresh("refresh")
    written = resolver.write(ref, new_token, expected_version=1)
    assert written.version == 2 and written.created_time and written.engine == "kv2"
    assert written.reference == f"vault:secret/{path}#refresh_token"

    stored = bao.admin.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)[
        "data"
    ]
    assert stored["data"] == {"client_id": client_id, "refresh_token": new_token}
    # The resolver's cache was invalidated: the new value and version are seen.
    after = resolver.resolve(ref)
    assert after.value.reveal() == new_token and after.metadata.version == 2
    assert resolver.metadata(ref).version == 2


def test_cas_write_creates_a_new_secret(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    value = leaks.fresh()
    written = make_resolver(settings, env=ROOT).write(vault_ref(path, "token"), value)
    assert written.version == 1
    assert (
        make_resolver(settings, env=ROOT).resolve(vault_ref(path, "token")).value.reveal() == value
    )


def test_expected_version_mismatch_is_a_conflict(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    bao.put(path, {"refresh_token": leaks.fresh()})
    bao.put(path, {"refresh_token": leaks.fresh()})  # someone rotated it meanwhile
    resolver = make_resolver(settings, env=ROOT)
    attempted = leaks.fresh("refresh")
    with leaks.raises(SecretConflict) as info:
        resolver.write(vault_ref(path, "refresh_token"), attempted, expected_version=1)
    message = str(info.value)
    assert message.startswith(f"vault:secret/{path}#refresh_token: check-and-set refused")
    assert "is at version 2, not the expected version 1" in message
    current = bao.admin.secrets.kv.v2.read_secret_metadata(path=path)["data"]["current_version"]
    assert current == 2  # nothing written


def test_concurrent_write_between_read_and_write_is_a_conflict(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    """Another writer slips in after the resolver read the current version: the server's CAS
    check refuses the write."""
    path = unique()
    bao.put(path, {"refresh_token": leaks.fresh(), "client_id": leaks.fresh()})
    session = requests.Session()
    raced: list[bool] = []

    def other_writer(response: requests.Response, **_: Any) -> None:
        if (
            response.request.method == "GET"
            and f"/secret/data/{path}" in response.url
            and not raced
        ):
            raced.append(True)
            bao.put(path, {"refresh_token": leaks.fresh(), "client_id": leaks.fresh()})

    session.hooks["response"].append(other_writer)
    resolver = make_resolver(settings, env=ROOT, session=session)
    with leaks.raises(SecretConflict) as info:
        resolver.write(vault_ref(path, "refresh_token"), leaks.fresh("refresh"))
    assert raced
    assert "changed after version 1 was read (a concurrent write)" in str(info.value)


def test_kv1_write_is_last_writer_wins(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    mount = unique("kv1w")
    bao.enable_kv(mount, version=1)
    path = unique()
    keep = leaks.fresh()
    bao.put(path, {"client_id": keep, "refresh_token": leaks.fresh()}, mount=mount, kv1=True)
    resolver = make_resolver(settings, env=ROOT)
    ref = vault_ref(path, "refresh_token", mount=mount)
    new = leaks.fresh()
    written = resolver.write(ref, new)
    assert (written.engine, written.version) == ("kv1", None)
    stored = bao.admin.secrets.kv.v1.read_secret(path=path, mount_point=mount)["data"]
    assert stored == {"client_id": keep, "refresh_token": new}
    with leaks.raises(VaultConfigError, match="check-and-set needs KV v2"):
        resolver.write(ref, leaks.fresh(), expected_version=1)


def test_write_refusals(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    resolver = make_resolver(settings, env=ROOT)
    with leaks.raises(VaultConfigError, match="pinned to a version cannot be written"):
        resolver.write(vault_ref("app", "k", version=1), leaks.fresh())
    with leaks.raises(VaultConfigError, match="only a vault: reference"):
        resolver.write(EnvSecretRef(env="X"), leaks.fresh())  # type: ignore[arg-type]
    with pytest.raises(SecretError, match="non-empty string"):
        resolver.write(vault_ref("app", "k"), "")


def test_write_denied_by_policy(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    bao.put(path, {"refresh_token": leaks.fresh()})
    bao.policy(f"ro-{path}", f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = bao.token([f"ro-{path}"])
    resolver = make_resolver(settings, env={"VAULT_TOKEN": token})
    with leaks.raises(SecretAccessDenied) as info:
        resolver.write(vault_ref(path, "refresh_token"), leaks.fresh("refresh"))
    assert f'path "secret/data/{path}"' in str(info.value)
    assert "writing secret" in str(info.value)
