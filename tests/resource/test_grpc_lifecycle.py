"""Create, Read (refresh), Update and Delete through the real dynamic-provider server,
against the sandbox and OpenBao."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from tests.resource.conftest import (
    CALLBACK_BASE,
    OAUTH_ID,
    PASSWORD,
    VAULT_PATH,
    basic_props,
    oauth_props,
    put_test_secrets,
    sandbox_overrides,
    vault_ref,
)
from tests.resource.support import PROVIDER, PROVIDER_KEY, ProviderServer
from tests.support.openbao import OpenBaoServer, running_openbao
from tests.support.sandbox import CODE_CLIENT_ID, Control, running_sandbox

from acumatica_datasource.resource import PROVIDER_VERSION
from acumatica_datasource.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("world")

PASSWORD_REF = "vault:secret/acumatica/test#password"
CLIENT_SECRET_REF = "vault:secret/acumatica/test#client_secret"


def wrong_password(url: str, mode: str) -> dict[str, object]:
    props = basic_props(url, verification_settings={"mode": mode})
    props["authentication"] = {
        "strategy": "basic",
        "username": "admin",
        "password": vault_ref("wrong_password"),
    }
    return props


def vault_version(bao: OpenBaoServer) -> int:
    metadata = bao.admin.secrets.kv.v2.read_secret_metadata(path=VAULT_PATH)
    return int(metadata["data"]["current_version"])


def test_strict_create_records_outputs(
    provider: ProviderServer, sandbox: Sandbox, bao: OpenBaoServer
) -> None:
    id_, outputs = provider.up(basic_props(sandbox.url, page_size=100))
    assert id_ == "erp-basic"
    assert outputs["data_source_id"] == "erp-basic"
    assert outputs[PROVIDER_KEY] == PROVIDER
    assert outputs["provider_version"] == PROVIDER_VERSION
    verification = outputs["verification"]
    assert verification["status"] == "ok"
    assert verification["mode"] == "strict"
    assert {"secrets", "discovery", "login", "page", "logout"} <= set(verification["checks"])
    assert set(verification["checks"].values()) <= {"ok", "skipped"}
    assert verification["problems"] == []
    assert verification["server"]["build_version"] == "24.210.0013"
    assert verification["records_read"] == 25
    assert (
        outputs["secret_versions"] == {PASSWORD_REF: 1}
        or PASSWORD_REF in outputs["secret_versions"]
    )
    assert outputs["connection_string_template"] == (
        f"URL={sandbox.url};Company=ACME;AuthScheme=Basic;User=admin;"
        f"Password={{{{{PASSWORD_REF}}}}};Pagesize=100;Timeout=60;"
    )
    assert "connection_string" not in outputs  # not exposed: None, not sent


def test_strict_oauth_create(provider: ProviderServer, sandbox: Sandbox) -> None:
    _, outputs = provider.up(oauth_props(sandbox.url))
    assert outputs["callback_url"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    verification = outputs["verification"]
    assert verification["status"] == "ok", verification["summary"]
    assert verification["callback_registered"] is True
    assert CLIENT_SECRET_REF in outputs["secret_versions"]
    template = outputs["connection_string_template"]
    assert f"{{{{{CLIENT_SECRET_REF}}}}}" in template
    assert CODE_CLIENT_ID in template


def test_strict_failure_is_a_clean_error(provider: ProviderServer, sandbox: Sandbox) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        provider.up(wrong_password(sandbox.url, "strict"))
    details = caught.value.details()
    assert caught.value.code() == grpc.StatusCode.UNKNOWN
    assert details.startswith("DataSourceError: verification of data source 'ERP Basic' failed:")
    assert "login:" in details  # the failed check
    assert "rejected the password of user 'admin'" in details
    assert "verification.mode is strict: nothing was recorded" in details
    assert "Traceback" not in details
    assert 'File "' not in details
    assert details.count("\n") <= 1


def test_warn_failure_is_recorded_as_failed(provider: ProviderServer, sandbox: Sandbox) -> None:
    with provider.stderr_since() as lines:
        id_, outputs = provider.up(wrong_password(sandbox.url, "warn"))
    assert id_ == "erp-basic"
    assert outputs["verification"]["status"] == "failed"
    assert outputs["verification"]["summary"].startswith("failed: login:")
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert "verification of data source 'ERP Basic' failed" in warnings[0]
    assert "recorded as failed" in warnings[0]


def test_mode_off_makes_no_request(
    provider: ProviderServer, sandbox: Sandbox, world: Control, bao: OpenBaoServer
) -> None:
    before = bao.audited_requests(f"secret/data/{VAULT_PATH}")
    _, outputs = provider.up(basic_props(sandbox.url, verification_settings={"mode": "off"}))
    assert outputs["verification"]["status"] == "off"
    assert outputs["secret_versions"] == {}  # nothing read (None values are not sent)
    assert world.requests() == []
    assert bao.audited_requests(f"secret/data/{VAULT_PATH}") == before


def test_exposed_connection_string_is_the_only_secret_output(
    provider: ProviderServer, sandbox: Sandbox, bao: OpenBaoServer
) -> None:
    props = basic_props(
        sandbox.url, expose_connection_string=True, verification_settings={"mode": "off"}
    )
    _, outputs = provider.up(props)
    assert outputs["connection_string"] == (
        f"URL={sandbox.url};Company=ACME;AuthScheme=Basic;User=admin;"
        f"Password={PASSWORD};Pagesize=10000;Timeout=60;"
    )
    # Read with Vault although verification is off: the version is recorded for rotations.
    assert outputs["secret_versions"] == {PASSWORD_REF: vault_version(bao)}
    rest = {k: v for k, v in outputs.items() if k != "connection_string"}
    assert PASSWORD not in str(rest)
    provider.transcript.pop()  # the Create response holds the opt-in secret by design


def test_refresh_records_a_locked_user(
    provider: ProviderServer, sandbox: Sandbox, world: Control
) -> None:
    id_, outputs = provider.up(basic_props(sandbox.url))
    _, refreshed = provider.read(id_, outputs)
    assert refreshed["verification"]["status"] == "ok"
    world.patch_user("admin", locked=True)
    read_id, refreshed = provider.read(id_, outputs)
    assert read_id == id_
    assert refreshed["verification"]["status"] == "failed"
    assert refreshed["verification"]["summary"].startswith("failed: login:")
    assert refreshed["description"] == outputs["description"]
    assert refreshed["provider_version"] == PROVIDER_VERSION


def test_refresh_records_a_removed_redirect_uri(
    provider: ProviderServer, sandbox: Sandbox, world: Control
) -> None:
    id_, outputs = provider.up(oauth_props(sandbox.url, pulumi_secret=False))
    assert outputs["verification"]["callback_registered"] is True
    world.patch_app(CODE_CLIENT_ID, redirect_uris=["https://elsewhere.example.com/cb"])
    _, refreshed = provider.read(id_, outputs)
    assert refreshed["verification"]["callback_registered"] is False
    assert refreshed["verification"]["status"] in ("failed", "warning")
    assert refreshed["callback_url"] == outputs["callback_url"]


def test_refresh_cannot_verify_with_a_pulumi_secret(
    provider: ProviderServer, sandbox: Sandbox, world: Control
) -> None:
    """A Pulumi secret is not in the outputs Read receives: the refresh says so and keeps
    the last verification, without any request."""
    id_, outputs = provider.up(oauth_props(sandbox.url))
    world.reset()
    _, refreshed = provider.read(id_, outputs)
    assert refreshed["verification"]["status"] == outputs["verification"]["status"]
    assert refreshed["verification"]["summary"].startswith("not refreshed: a Pulumi secret")
    assert world.requests() == []


def test_refresh_records_a_rotated_secret_version(
    provider: ProviderServer, sandbox: Sandbox, bao: OpenBaoServer
) -> None:
    id_, outputs = provider.up(basic_props(sandbox.url))
    before = outputs["secret_versions"][PASSWORD_REF]
    put_test_secrets(bao)
    provider.restart()  # `pulumi refresh` is a new command: a new provider process
    _, refreshed = provider.read(id_, outputs)
    assert refreshed["secret_versions"][PASSWORD_REF] == before + 1


def test_refresh_in_mode_off_changes_nothing(
    provider: ProviderServer, sandbox: Sandbox, world: Control
) -> None:
    id_, outputs = provider.up(basic_props(sandbox.url, verification_settings={"mode": "off"}))
    _, refreshed = provider.read(id_, outputs)
    assert refreshed == outputs
    assert world.requests() == []


def test_update_verifies_the_new_inputs(provider: ProviderServer, sandbox: Sandbox) -> None:
    id_, outputs = provider.up(basic_props(sandbox.url))
    news = provider.checked(basic_props(sandbox.url, page_size=7))
    assert provider.diff(id_, outputs, news).some
    updated = provider.update(id_, outputs, news)
    assert updated["page_size"] == 7
    assert "Pagesize=7;" in updated["connection_string_template"]
    assert updated["verification"]["status"] == "ok"
    assert updated["verification"]["records_read"] == 8  # 7, then one of the next page
    # A strict update that fails records nothing: the old outputs stay.
    with pytest.raises(grpc.RpcError) as caught:
        provider.update(id_, updated, provider.checked(wrong_password(sandbox.url, "strict")))
    assert "Traceback" not in caught.value.details()


def test_delete_needs_neither_vault_nor_acumatica(provider: ProviderServer, tmp_path: Path) -> None:
    with running_openbao(tmp_path / "bao") as own, running_sandbox(**sandbox_overrides()) as site:
        put_test_secrets(own)
        props = basic_props(site.url, vault={"address": own.address})
        id_, outputs = provider.up(props, name="doomed")
        oauth_id, oauth_outputs = provider.up(
            oauth_props(site.url, vault={"address": own.address}), name="doomed-oauth"
        )
        with Control(site.url) as ctl:
            assert ctl.open_sessions() == 0
    # Both are stopped now.
    provider.delete(id_, outputs, name="doomed")
    provider.delete(oauth_id, oauth_outputs, name="doomed-oauth")
