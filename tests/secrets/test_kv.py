"""KV v1 and v2 reads, versions, metadata, namespaces and caching against a real OpenBao."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from tests.secrets.conftest import ResolverFactory, unique, vault_ref
from tests.secrets.support import LeakGuard
from tests.support.openbao import OpenBaoServer

from acumatica_datasource.secrets import (
    SecretNotFound,
    SecretVersionDeleted,
    SecretVersionDestroyed,
    VaultConfigError,
    VaultNamespaceNotFound,
)
from acumatica_datasource.spec import VaultSettings

ROOT = {"VAULT_TOKEN": "root"}


@pytest.fixture(scope="module")
def kv1_mount(bao: OpenBaoServer) -> str:
    mount = unique("kv1")
    bao.enable_kv(mount, version=1)
    return mount


def reads(bao: OpenBaoServer, mount: str, path: str, *, v2: bool = True) -> int:
    api = f"{mount}/data/{path}" if v2 else f"{mount}/{path}"
    return bao.audited_requests(api, operation="read")


def test_kv2_latest_and_pinned(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    old, new, user = leaks.fresh(), leaks.fresh(), leaks.fresh("user")
    bao.put(path, {"password": old, "username": user})
    bao.put(path, {"password": new, "username": user})
    resolver = make_resolver(settings, env=ROOT)

    latest = resolver.resolve(vault_ref(path, "password"))
    assert latest.value.reveal() == new
    meta = latest.metadata
    assert (meta.kind, meta.mount, meta.path, meta.key, meta.engine) == (
        "vault",
        "secret",
        path,
        "password",
        "kv2",
    )
    assert meta.version == 2 and meta.reference == f"vault:secret/{path}#password"
    info = bao.admin.secrets.kv.v2.read_secret_metadata(path=path)["data"]["versions"]["2"]
    assert meta.created_time == info["created_time"]

    pinned = resolver.resolve(vault_ref(path, "password", version=1))
    assert pinned.value.reveal() == old
    assert pinned.metadata.version == 1
    assert pinned.metadata.reference == f"vault:secret/{path}#password@v1"


def test_non_string_values_become_text(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory
) -> None:
    path = unique()
    bao.put(path, {"port": 5432, "extra": {"a": 1}})
    resolver = make_resolver(settings, env=ROOT)
    assert resolver.resolve(vault_ref(path, "port")).value.reveal() == "5432"
    assert resolver.resolve(vault_ref(path, "extra")).value.reveal() == '{"a":1}'


def test_soft_deleted_versions(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    bao.put(path, {"password": leaks.fresh()})
    bao.put(path, {"password": leaks.fresh()})
    bao.delete_versions(path, [1, 2])
    resolver = make_resolver(settings, env=ROOT)
    with leaks.raises(SecretVersionDeleted) as pinned:
        resolver.resolve(vault_ref(path, "password", version=1))
    message = str(pinned.value)
    assert message.startswith(f"vault:secret/{path}#password@v1: version 1 of secret/{path}")
    assert "was deleted at 20" in message and "bao kv undelete -mount=secret -versions=1" in message
    with leaks.raises(SecretVersionDeleted, match=r"the latest version \(2\) .* was deleted"):
        resolver.resolve(vault_ref(path, "password"))
    with leaks.raises(SecretVersionDeleted):
        resolver.metadata(vault_ref(path, "password", version=1))


def test_destroyed_version(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    bao.put(path, {"password": leaks.fresh()})
    survivor = leaks.fresh()
    bao.put(path, {"password": survivor})
    bao.destroy_versions(path, [1])
    resolver = make_resolver(settings, env=ROOT)
    with leaks.raises(SecretVersionDestroyed, match="destroyed; its data is gone for good"):
        resolver.resolve(vault_ref(path, "password", version=1))
    with leaks.raises(SecretVersionDestroyed):
        resolver.metadata(vault_ref(path, "password", version=1))
    assert resolver.resolve(vault_ref(path, "password")).value.reveal() == survivor


def test_missing_mount_path_key_version(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    value = leaks.fresh()
    bao.put(path, {"password": value, "username": leaks.fresh("user")})
    bao.put(path, {"password": value, "username": leaks.fresh("user")})
    resolver = make_resolver(settings, env=ROOT)

    with leaks.raises(SecretNotFound) as info:
        resolver.resolve(vault_ref(path, "password", mount="nomount"))
    assert str(info.value).startswith(
        f"vault:nomount/{path}#password: no secrets engine is mounted"
    )

    with leaks.raises(SecretNotFound) as info:
        resolver.resolve(vault_ref(f"{path}-missing", "password"))
    assert f"no secret exists at secret/{path}-missing" in str(info.value)

    with leaks.raises(SecretNotFound) as info:
        resolver.resolve(vault_ref(path, "pasword"))
    message = str(info.value)
    assert "has no key 'pasword' (its keys: password, username)" in message

    with leaks.raises(SecretNotFound) as info:
        resolver.resolve(vault_ref(path, "password", version=9))
    assert "version 9 of" in str(info.value) and "the current version is 2" in str(info.value)
    with leaks.raises(SecretNotFound, match="the current version is 2"):
        resolver.metadata(vault_ref(path, "password", version=9))


def test_kv1_detected_and_declared(
    bao: OpenBaoServer,
    kv1_mount: str,
    settings: VaultSettings,
    make_resolver: ResolverFactory,
    leaks: LeakGuard,
) -> None:
    path = unique()
    value = leaks.fresh()
    bao.put(path, {"password": value}, mount=kv1_mount, kv1=True)
    detected = make_resolver(settings, env=ROOT).resolve(
        vault_ref(path, "password", mount=kv1_mount)
    )
    assert detected.value.reveal() == value
    assert detected.metadata.engine == "kv1" and detected.metadata.version is None

    lookups = bao.audited_requests(f"sys/internal/ui/mounts/{kv1_mount}")
    declared = make_resolver(settings, env=ROOT)
    ref = vault_ref(path, "password", mount=kv1_mount, engine="kv1")
    assert declared.resolve(ref).value.reveal() == value
    # a declared engine is not guessed, but the mount is still looked up (once): it must be KV
    assert bao.audited_requests(f"sys/internal/ui/mounts/{kv1_mount}") == lookups + 1

    before = reads(bao, kv1_mount, path, v2=False)
    meta = make_resolver(settings, env=ROOT).metadata(vault_ref(path, "password", mount=kv1_mount))
    assert (meta.engine, meta.version) == ("kv1", None)
    assert reads(bao, kv1_mount, path, v2=False) == before  # metadata reads no value

    with leaks.raises(SecretNotFound, match=f"no secret exists at {kv1_mount}/nothing"):
        declared.resolve(vault_ref("nothing", "password", mount=kv1_mount))


def test_wrong_kind_of_mount(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    resolver = make_resolver(settings, env=ROOT)
    mounts = bao.admin.sys.list_mounted_secrets_engines()["data"]
    if "transit-engine/" not in mounts:
        bao.admin.sys.enable_secrets_engine("transit", path="transit-engine")
    with leaks.raises(VaultConfigError, match="is a 'transit' engine, not a KV secrets engine"):
        resolver.resolve(vault_ref("x", "password", mount="transit-engine"))
    with leaks.raises(VaultConfigError, match="the KV engine is mounted at secret/"):
        resolver.resolve(vault_ref("x", "password", mount="secret/acumatica"))


def test_metadata_without_reading_the_value(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    bao.put(path, {"password": leaks.fresh()})
    resolver = make_resolver(settings, env=ROOT)
    meta = resolver.metadata(vault_ref(path, "password"))
    assert (meta.version, meta.engine) == (1, "kv2") and meta.created_time
    assert reads(bao, "secret", path) == 0
    assert bao.audited_requests(f"secret/metadata/{path}", operation="read") == 1

    bao.put(path, {"password": leaks.fresh()})  # a rotation
    rotated = make_resolver(settings, env=ROOT).metadata(vault_ref(path, "password"))
    assert rotated.version == 2 and rotated.created_time != meta.created_time
    assert reads(bao, "secret", path) == 0


def test_metadata_falls_back_to_a_read_when_metadata_is_denied(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    bao.put(path, {"password": leaks.fresh()})
    bao.policy(f"data-only-{path}", f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = bao.token([f"data-only-{path}"])
    resolver = make_resolver(settings, env={"VAULT_TOKEN": token})
    meta = resolver.metadata(vault_ref(path, "password"))
    assert meta.version == 1 and meta.created_time
    assert reads(bao, "secret", path) == 1


def test_one_read_per_distinct_secret(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path, other = unique(), unique()
    bao.put(path, {"a": leaks.fresh(), "b": leaks.fresh(), "c": leaks.fresh()})
    bao.put(path, {"a": leaks.fresh(), "b": leaks.fresh(), "c": leaks.fresh()})
    bao.put(other, {"a": leaks.fresh()})
    lookups = bao.audited_requests("sys/internal/ui/mounts/secret")
    resolver = make_resolver(settings, env=ROOT)
    for _ in range(3):  # many data sources using the same secrets
        for key in ("a", "b", "c"):
            resolver.resolve(vault_ref(path, key))
            resolver.resolve(vault_ref(path, key, version=1))
        resolver.resolve(vault_ref(other, "a"))
    assert reads(bao, "secret", path) == 2  # latest and version 1
    assert reads(bao, "secret", other) == 1
    assert bao.audited_requests("sys/internal/ui/mounts/secret") == lookups + 1
    assert resolver.logins == 1


def test_concurrent_resolution_reads_once(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    path = unique()
    value = leaks.fresh()
    bao.put(path, {"password": value, "username": leaks.fresh("user")})
    mount = unique("approle")
    bao.policy(f"read-{path}", f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    role_id, secret_id = bao.approle("ci", [f"read-{path}"], mount=mount)
    from acumatica_datasource.spec import AppRoleAuth, CredentialSource

    settings = VaultSettings(
        address=bao.address,
        auth=AppRoleAuth(
            method="approle", role_id=role_id, secret_id=CredentialSource(env="SID"), mount=mount
        ),
    )
    resolver = make_resolver(settings, env={"SID": secret_id})
    barrier = threading.Barrier(16)

    def work(i: int) -> str:
        barrier.wait()
        key = "password" if i % 2 == 0 else "username"
        return resolver.resolve(vault_ref(path, key)).value.reveal()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(work, range(16)))
    assert results[0::2] == [value] * 8
    assert reads(bao, "secret", path) == 1
    assert bao.audited_requests(f"auth/{mount}/login") == 1
    assert resolver.logins == 1


def test_concurrent_failures_name_each_reference(
    settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    resolver = make_resolver(settings, env=ROOT)
    path = unique("missing")
    barrier = threading.Barrier(8)

    def work(key: str) -> str:
        barrier.wait()
        try:
            resolver.resolve(vault_ref(path, key))
        except SecretNotFound as exc:
            leaks.check_exception(exc)
            return str(exc)
        return "resolved?"

    with ThreadPoolExecutor(8) as pool:
        messages = list(pool.map(work, [f"k{i}" for i in range(8)]))
    for i, message in enumerate(messages):
        assert message.startswith(f"vault:secret/{path}#k{i}: no secret exists")


def test_namespaces(bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard) -> None:
    ns = unique("team")
    bao.namespace(ns)
    bao.enable_kv("secret", namespace=ns)
    path = unique()
    value = leaks.fresh()
    bao.put(path, {"password": value}, namespace=ns)
    bao.policy("reader", f'path "secret/data/{path}" {{ capabilities = ["read"] }}', namespace=ns)
    token = bao.token(["reader"], namespace=ns)

    resolver = make_resolver(
        VaultSettings(address=bao.address, namespace=ns), env={"VAULT_TOKEN": token}
    )
    resolved = resolver.resolve(vault_ref(path, "password"))
    assert resolved.value.reveal() == value and resolved.metadata.namespace == ns

    from_env = make_resolver(None, env={"BAO_ADDR": bao.address, "BAO_NAMESPACE": ns, **ROOT})
    assert from_env.resolve(vault_ref(path, "password")).value.reveal() == value

    # The same path in the root namespace does not exist.
    with leaks.raises(SecretNotFound):
        make_resolver(VaultSettings(address=bao.address), env=ROOT).resolve(
            vault_ref(path, "password")
        )

    missing = make_resolver(VaultSettings(address=bao.address, namespace="nope"), env=ROOT)
    with leaks.raises(VaultNamespaceNotFound) as info:
        missing.resolve(vault_ref(path, "password"))
    message = str(info.value)
    assert message.startswith(f"vault:secret/{path}#password: the namespace 'nope'")
    assert "(from vault.namespace) does not exist" in message


def test_engine_fallback_when_the_mount_lookup_is_blocked(
    bao: OpenBaoServer,
    kv1_mount: str,
    settings: VaultSettings,
    make_resolver: ResolverFactory,
    leaks: LeakGuard,
) -> None:
    """Some proxies in front of Vault block ``sys/internal/*``: the resolver then tries KV v2
    and falls back to KV v1. (The response hook plays that proxy: the lookup answers 404.)"""
    path = unique()
    value = leaks.fresh()
    bao.put(path, {"password": value}, mount=kv1_mount, kv1=True)
    v2_path = unique()
    v2_value = leaks.fresh()
    bao.put(v2_path, {"password": v2_value})
    session = requests.Session()

    def proxy(response: requests.Response, **_: Any) -> requests.Response:
        if "/v1/sys/internal/ui/mounts/" in response.url:
            response.status_code = 404
            response._content = b'{"errors":[]}'
        return response

    session.hooks["response"].append(proxy)
    resolver = make_resolver(settings, env=ROOT, session=session)
    kv1 = resolver.resolve(vault_ref(path, "password", mount=kv1_mount))
    assert kv1.value.reveal() == value and kv1.metadata.engine == "kv1"
    kv2 = resolver.resolve(vault_ref(v2_path, "password"))
    assert kv2.value.reveal() == v2_value and kv2.metadata.engine == "kv2"
    # The KV v1 answer is remembered for the mount: the next read goes straight to KV v1.
    other = unique()
    bao.put(other, {"password": leaks.fresh()}, mount=kv1_mount, kv1=True)
    before = reads(bao, kv1_mount, other)  # KV v2-style reads of <mount>/data/<path>
    resolver.resolve(vault_ref(other, "password", mount=kv1_mount))
    assert reads(bao, kv1_mount, other) == before
    assert resolver.metadata(vault_ref(other, "password", mount=kv1_mount)).engine == "kv1"

    # Without a lookup and without an earlier read, a write refuses to guess the engine.
    blind = make_resolver(settings, env=ROOT, session=session)
    with leaks.raises(VaultConfigError, match="declare engine: kv2"):
        blind.write(vault_ref(unique(), "password", mount=kv1_mount), leaks.fresh())
    # A fresh resolver's metadata falls back to reading KV v1 when there is no KV v2 metadata.
    meta = make_resolver(settings, env=ROOT, session=session).metadata(
        vault_ref(path, "password", mount=kv1_mount)
    )
    assert (meta.engine, meta.version) == ("kv1", None)
