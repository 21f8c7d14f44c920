"""Diff through the real dynamic-provider server: explicit changes and replaces, the callback
URL's stability, Pulumi-secret fingerprints, and rotated Vault secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.resource.conftest import (
    CALLBACK_BASE,
    CODE_SECRET,
    INLINE_SECRET,
    OAUTH_ID,
    PASSWORD,
    VAULT_PATH,
    WRONG_PASSWORD,
    basic_props,
    oauth_props,
    put_test_secrets,
)
from tests.resource.support import UNKNOWN, ProviderServer
from tests.support.openbao import OpenBaoServer, running_openbao

from acumatica_datasource.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("world")

PASSWORD_REF = "vault:secret/acumatica/test#password"


def recorded(
    provider: ProviderServer, props: dict[str, Any], name: str = "ds"
) -> tuple[str, dict[str, Any]]:
    return provider.up(props, name=name)


@pytest.mark.parametrize("kind", ["basic", "oauth"])
def test_no_change_is_diff_none(provider: ProviderServer, sandbox: Sandbox, kind: str) -> None:
    # The OAuth one has a Vault, an environment and a Pulumi secret.
    props = basic_props(sandbox.url) if kind == "basic" else oauth_props(sandbox.url)
    id_, outputs = recorded(provider, props)
    diff = provider.diff(id_, outputs, provider.checked(props))
    assert diff.none
    assert diff.replaces == []
    assert not diff.delete_before_replace


def test_a_changed_page_size_updates_in_place(provider: ProviderServer, sandbox: Sandbox) -> None:
    id_, outputs = recorded(provider, basic_props(sandbox.url))
    diff = provider.diff(id_, outputs, provider.checked(basic_props(sandbox.url, page_size=500)))
    assert diff.some
    assert diff.replaces == []


def test_a_changed_description_replaces_only_without_an_explicit_id(
    provider: ProviderServer, sandbox: Sandbox
) -> None:
    id_, outputs = recorded(provider, basic_props(sandbox.url))
    renamed = provider.checked(basic_props(sandbox.url, description="ERP Basic 2"))
    assert renamed["data_source_id"] == "erp-basic-2"
    diff = provider.diff(id_, outputs, renamed)
    assert diff.some
    assert diff.replaces == ["data_source_id"]

    id_, outputs = recorded(provider, basic_props(sandbox.url, data_source_id="erp"), name="b")
    renamed = provider.checked(
        basic_props(sandbox.url, data_source_id="erp", description="ERP Basic 2")
    )
    diff = provider.diff(id_, outputs, renamed)
    assert diff.some
    assert diff.replaces == []


def test_the_callback_url_changes_only_with_its_base_or_the_id(
    provider: ProviderServer, sandbox: Sandbox
) -> None:
    id_, outputs = recorded(provider, oauth_props(sandbox.url))
    callback = f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    assert outputs["callback_url"] == callback
    unrelated: list[dict[str, Any]] = [
        {"page_size": 20},
        {"description": "Renamed, same id"},
        {"operation_timeout": 30},
        {"extra_connection_properties": "EndpointVersion=24.200.001;"},
        {"verification_settings": {"mode": "warn"}},
    ]
    for change in unrelated:
        news = provider.checked(oauth_props(sandbox.url, **change))
        assert news["callback_url"] == callback, change
        diff = provider.diff(id_, outputs, news)
        assert diff.some, change
        assert diff.replaces == [], change
    moved = provider.checked(oauth_props(sandbox.url, callback_base_url="https://bi2.example.com"))
    assert moved["callback_url"] == f"https://bi2.example.com/oauth/callback/{OAUTH_ID}"
    diff = provider.diff(id_, outputs, moved)
    assert diff.some
    assert diff.replaces == []


def test_unknown_inputs_in_a_preview(provider: ProviderServer, sandbox: Sandbox) -> None:
    id_, outputs = recorded(provider, oauth_props(sandbox.url))
    # An unknown page size: some change, but the id is known, so no replacement.
    diff = provider.diff(
        id_, outputs, provider.checked(oauth_props(sandbox.url, page_size=UNKNOWN))
    )
    assert diff.some
    assert diff.replaces == []
    # An unknown description without an explicit id: the id may change.
    news = provider.checked(oauth_props(sandbox.url, description=UNKNOWN, data_source_id=None))
    diff = provider.diff(id_, outputs, news)
    assert diff.some
    assert diff.replaces == ["data_source_id"]


def test_a_pulumi_secret_is_compared_by_fingerprint(
    provider: ProviderServer, sandbox: Sandbox
) -> None:
    def props(secret: str) -> dict[str, Any]:
        source = basic_props(sandbox.url, verification_settings={"mode": "off"})
        source["authentication"] = {**source["authentication"], "password": secret}
        return source

    id_, outputs = recorded(provider, props(INLINE_SECRET))
    stamp = outputs["authentication"]["password"]
    assert set(stamp) == {"pulumi_secret"}
    assert INLINE_SECRET not in str(outputs)
    assert provider.diff(id_, outputs, provider.checked(props(INLINE_SECRET))).none
    changed = provider.diff(id_, outputs, provider.checked(props(INLINE_SECRET + "-2")))
    assert changed.some
    assert changed.replaces == []
    # An update with the same secret keeps the fingerprint (no spurious change in the state).
    updated = provider.update(id_, outputs, provider.checked(props(INLINE_SECRET)))
    assert updated["authentication"]["password"] == stamp


def test_a_rotated_vault_secret_shows_as_an_update_key_by_key(
    provider: ProviderServer, sandbox: Sandbox, bao: OpenBaoServer
) -> None:
    """A KV v2 version belongs to a path: a new one is a rotation of the data source's key only
    when that key's value changed (both versions are read and compared in memory; nothing but
    version numbers is recorded). An unreadable recorded version counts as a rotation, with a
    warning that the key may be unchanged."""
    props = basic_props(sandbox.url)
    id_, outputs = recorded(provider, props)
    version = int(outputs["secret_versions"][PASSWORD_REF])
    assert (
        version
        == bao.admin.secrets.kv.v2.read_secret_version(
            path=VAULT_PATH, raise_on_deleted_version=True
        )["data"]["metadata"]["version"]
    )
    news = provider.checked(props)
    assert provider.diff(id_, outputs, news).none
    values = {"password": PASSWORD, "client_secret": CODE_SECRET, "wrong_password": WRONG_PASSWORD}
    try:
        put_test_secrets(bao)  # a new version, every value the same
        assert provider.diff(id_, outputs, news).none
        bao.put(VAULT_PATH, {**values, "client_secret": CODE_SECRET + "-2"})  # another key
        assert provider.diff(id_, outputs, news).none
        bao.put(VAULT_PATH, {**values, "password": WRONG_PASSWORD})  # this data source's key
        diff = provider.diff(id_, outputs, news)
        assert diff.some
        assert diff.replaces == []

        # the recorded version destroyed: the change of the path counts, with a warning
        bao.put(VAULT_PATH, values)  # the password back as it was
        assert provider.diff(id_, outputs, news).none
        bao.destroy_versions(VAULT_PATH, [version])
        with provider.stderr_since() as lines:
            diff = provider.diff(id_, outputs, news)
        assert diff.some
        (warning,) = [line for line in lines if line.startswith("warning: ")]
        assert (
            f"ERP Basic: secret/{VAULT_PATH} changed (version {version} -> {version + 4}); "
            "key password may be unchanged: " in warning
        ), warning
        assert f"{PASSWORD_REF}@v{version}" in warning, warning
        assert "It counts as rotated" in warning
    finally:
        put_test_secrets(bao)

    updated = provider.update(id_, outputs, news)
    assert updated["secret_versions"][PASSWORD_REF] == version + 5
    assert provider.diff(id_, updated, news).none
    assert not [line for line in provider.stderr() if PASSWORD in line or WRONG_PASSWORD in line]


def test_a_pinned_version_is_not_a_rotation(
    provider: ProviderServer, sandbox: Sandbox, bao: OpenBaoServer
) -> None:
    current = bao.admin.secrets.kv.v2.read_secret_version(
        path=VAULT_PATH, raise_on_deleted_version=True
    )["data"]["metadata"]["version"]
    props = basic_props(sandbox.url)
    props["authentication"] = {
        **props["authentication"],
        "password": {"vault": {"path": VAULT_PATH, "key": "password", "version": current}},
    }
    id_, outputs = recorded(provider, props)
    put_test_secrets(bao)
    assert provider.diff(id_, outputs, provider.checked(props)).none


def test_an_unreachable_vault_warns_and_does_not_fail(
    provider: ProviderServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    with running_openbao(tmp_path / "bao") as own:
        own.put(
            VAULT_PATH,
            {"password": PASSWORD, "client_secret": CODE_SECRET, "wrong_password": WRONG_PASSWORD},
        )
        props = basic_props(sandbox.url, vault={"address": own.address})
        id_, outputs = recorded(provider, props)
        assert outputs["secret_versions"][PASSWORD_REF] == 1
        news = provider.checked(props)
    # Vault is stopped now.
    with provider.stderr_since() as lines:
        diff = provider.diff(id_, outputs, news)
    assert diff.none
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 1, lines
    assert "ERP Basic: could not check whether a secret was rotated" in warnings[0]
    assert PASSWORD_REF in warnings[0]
