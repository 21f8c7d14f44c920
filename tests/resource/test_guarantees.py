"""The guarantees of issue 6, each proved here or by the engine-level test:

* no secret value in inputs, outputs or ``__provider`` (the opt-in ``connection_string``
  aside): every gRPC response is searched for every secret used;
* the pickled provider is a by-reference pickle of ``DataSourceProvider`` only, captures no
  client or credential, and stays under 1 KB;
* outputs recorded by an earlier provider version still ``read`` and ``delete``.
"""

from __future__ import annotations

import base64
import pickletools
import subprocess
import sys
from typing import Any

import grpc
import pytest
from pulumi import dynamic
from pulumi.dynamic.dynamic import serialize_provider
from tests.resource.conftest import (
    ALL_SECRETS,
    PROBE_SECRET,
    STORED_SECRETS,
    basic_props,
    oauth_props,
    put_test_secrets,
)
from tests.resource.support import PROVIDER, PROVIDER_KEY, ProviderServer
from tests.support.openbao import OpenBaoServer

from acumatica_datasource.resource import PROVIDER_VERSION, DataSourceProvider
from acumatica_datasource.resource.outputs import upgrade
from acumatica_datasource.sandbox import Sandbox

MODULE = "acumatica_datasource.resource.provider"
PASSWORD_REF = "vault:secret/acumatica/test#password"


# -- no secret anywhere ------------------------------------------------------------------------


@pytest.mark.usefixtures("world")
def test_no_secret_in_any_response(
    provider: ProviderServer, sandbox: Sandbox, bao: OpenBaoServer
) -> None:
    """Vault, environment and Pulumi secrets through a whole lifecycle: only Check's inputs
    carry the Pulumi secret, at the path where it was given (the engine keeps it secret)."""
    start = len(provider.transcript)
    basic = basic_props(sandbox.url)
    oauth = oauth_props(sandbox.url)
    checked = provider.check(oauth, name="oauth")
    assert checked.inputs["verification_settings"]["login"]["client_secret"] == PROBE_SECRET
    without = dict(checked.inputs)
    without["verification_settings"] = {
        **without["verification_settings"],
        "login": {**without["verification_settings"]["login"], "client_secret": "x"},
    }
    assert PROBE_SECRET not in str(without)
    states: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, props in (("basic", basic), ("oauth", oauth)):
        states[name] = provider.up(props, name=name)
    put_test_secrets(bao)  # a new version: Diff reads both versions, Update and Read the new
    for name, props in (("basic", basic), ("oauth", oauth)):
        id_, outputs = states[name]
        news = provider.checked(props, name=name)
        assert provider.diff(id_, outputs, news, name=name).none  # no value changed
        updated = provider.update(id_, outputs, news, name=name)
        provider.read(id_, updated, name=name)
        provider.delete(id_, updated, name=name)
    operations = {op for op, _ in provider.transcript[start:]}
    assert operations == {"check", "create", "diff", "update", "read", "delete"}
    for operation, text in provider.transcript[start:]:
        assert not [s for s in STORED_SECRETS if s in text], operation
        if operation != "check":
            assert not [s for s in ALL_SECRETS if s in text], operation
    assert not [s for s in ALL_SECRETS if s in provider.stderr()]


# -- the pickled provider --------------------------------------------------------------------


def test_the_pickle_is_a_reference_to_the_class_and_nothing_else() -> None:
    raw = base64.b64decode(PROVIDER)
    assert len(raw) < 1024
    assert len(PROVIDER) < 1024
    ops = list(pickletools.genops(raw))
    names = {op.name for op, _, _ in ops}
    assert names <= {
        "PROTO",
        "FRAME",
        "SHORT_BINUNICODE",
        "MEMOIZE",
        "STACK_GLOBAL",
        "EMPTY_TUPLE",
        "NEWOBJ",
        "STOP",
    }, names
    strings = [arg for op, arg, _ in ops if op.name == "SHORT_BINUNICODE"]
    assert strings == [MODULE, "DataSourceProvider"]
    assert [op.name for op, _, _ in ops].count("STACK_GLOBAL") == 1


def test_the_pickle_captures_nothing_after_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Configured with credentials and used, the provider still pickles to the same bytes."""
    monkeypatch.setenv("VAULT_TOKEN", "a-token-that-must-not-be-captured")
    monkeypatch.setenv("ACUMATICA_DS_VERIFICATION_MODE", "off")
    provider = DataSourceProvider()
    config = dynamic.Config(
        {"acumatica:vault": '{"address": "http://127.0.0.1:1"}', "acumatica:sessionsPerSite": "3"},
        "p",
    )
    provider.configure(dynamic.ConfigureRequest(config))
    props = basic_props("https://erp.example.com")
    checked = provider.check({}, props)
    assert checked.failures == []
    provider.create(checked.inputs)
    assert provider.lifecycle.settings.verify_options.limits is not None  # configured state
    assert serialize_provider(provider) == PROVIDER
    assert serialize_provider(DataSourceProvider()) == PROVIDER


def test_the_pickle_loads_by_reference_in_a_fresh_process() -> None:
    code = (
        "import base64, sys, dill; "
        f"p = dill.loads(base64.b64decode({PROVIDER!r})); "
        "print(type(p).__module__, type(p).__qualname__, "
        f"'{MODULE}' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == [MODULE, "DataSourceProvider", "True"]


# -- provider upgrades -----------------------------------------------------------------------


def version_0_outputs(url: str) -> dict[str, Any]:
    """Outputs as recorded before ``provider_version`` existed: the verification was only a
    status; no data-source id (it was the resource id), secret versions or template."""
    return {
        "description": "ERP Basic",
        "type": "Acumatica",
        "url": url,
        "company": "ACME",
        "page_size": 10000,
        "operation_timeout": 60,
        "extra_connection_properties": {},
        "authentication": {
            "strategy": "basic",
            "username": "admin",
            "password": {"vault": {"path": "acumatica/test", "key": "password"}},
        },
        "verification_settings": {"mode": "strict"},
        "expose_connection_string": False,
        "verification": "ok",
    }


def version_1_outputs(url: str) -> dict[str, Any]:
    """Version 1 as first released: no ``records_read``/``callback_registered`` in the
    verification, inputs without the defaults filled in."""
    return {
        **version_0_outputs(url),
        "data_source_id": "erp-basic",
        "verification": {"status": "ok", "mode": "strict", "checked_at": "2024-01-01T00:00:00"},
        "secret_versions": {PASSWORD_REF: 1},
        "connection_string_template": "URL=...;",
        "provider_version": 1,
    }


def test_version_1_checks_become_a_compact_map() -> None:
    old = {
        **version_1_outputs("https://erp.example.com"),
        "verification": {
            "status": "failed",
            "checks": [
                {"name": "login", "status": "ok", "detail": "logged in"},
                {"name": "page", "status": "failed", "detail": "HTTP 403"},
            ],
        },
    }
    upgraded = upgrade(old)
    assert upgraded["verification"]["checks"] == {"login": "ok", "page": "failed"}
    assert upgraded["verification"]["problems"] == ["page: HTTP 403"]


def test_upgrade_fills_in_the_current_shape() -> None:
    upgraded = upgrade(version_0_outputs("https://erp.example.com"))
    assert upgraded["provider_version"] == PROVIDER_VERSION
    assert upgraded["verification"]["status"] == "ok"
    assert upgraded["secret_versions"] == {}
    assert upgraded["connection_string_template"] is None
    assert upgrade(upgraded) == upgraded


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("shape", [version_0_outputs, version_1_outputs])
def test_older_outputs_still_read_and_delete(
    provider: ProviderServer, sandbox: Sandbox, shape: Any
) -> None:
    old = shape(sandbox.url)
    id_, refreshed = provider.read("erp-basic", old)
    assert id_ == "erp-basic"
    assert refreshed["data_source_id"] == "erp-basic"
    assert refreshed["provider_version"] == PROVIDER_VERSION
    assert refreshed["verification"]["status"] == "ok"
    assert refreshed["verification"]["records_read"] == 25
    assert refreshed["secret_versions"][PASSWORD_REF] >= 1
    assert refreshed[PROVIDER_KEY] == PROVIDER
    provider.delete("erp-basic", old)
    # A diff against the old outputs works too: defaults filled in since are an update,
    # never a replacement.
    diff = provider.diff("erp-basic", old, provider.checked(basic_props(sandbox.url)))
    assert diff.replaces == []


@pytest.mark.usefixtures("world")
def test_outputs_whose_inputs_no_longer_validate_still_read_and_delete(
    provider: ProviderServer, sandbox: Sandbox, world: Any
) -> None:
    old = version_0_outputs(sandbox.url)
    old["authentication"] = {"strategy": "basic", "user": "admin", "password_ref": "acumatica"}
    _, refreshed = provider.read("erp-basic", old)
    assert refreshed["provider_version"] == PROVIDER_VERSION
    assert refreshed["authentication"] == old["authentication"]
    assert world.requests() == []
    provider.delete("erp-basic", old)


@pytest.mark.usefixtures("world")
def test_outputs_of_a_newer_provider_are_refused_cleanly_but_delete(
    provider: ProviderServer, sandbox: Sandbox
) -> None:
    newer = {**version_1_outputs(sandbox.url), "provider_version": PROVIDER_VERSION + 1}
    with pytest.raises(grpc.RpcError) as caught:
        provider.read("erp-basic", newer)
    details = caught.value.details()
    assert "recorded by a newer provider" in details
    assert "upgrade pulumi-acumatica-datasource" in details
    assert "Traceback" not in details
    with pytest.raises(grpc.RpcError) as caught:
        provider.diff("erp-basic", newer, provider.checked(basic_props(sandbox.url)))
    assert "recorded by a newer provider" in caught.value.details()
    assert "Traceback" not in caught.value.details()
    provider.delete("erp-basic", newer)
