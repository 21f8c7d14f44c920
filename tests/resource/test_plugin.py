"""The provider plugin through its gRPC protocol: the same lifecycle as the dynamic provider,
with camelCase names, Pulumi secrets accepted and kept secret, a detailed diff, Read with the
inputs, clean errors, configuration with secret credentials, and an exit when the engine goes
away. Every test checks that no secret reached a response and no session was left open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2
from tests.resource.conftest import (
    ALL_SECRETS,
    CALLBACK_BASE,
    OAUTH_ID,
    PASSWORD,
    PASSWORD_ENV,
    PROBE_SECRET,
    STORED_SECRETS,
    VAULT_PATH,
    WRONG_PASSWORD,
    put_test_secrets,
)
from tests.resource.support import (
    PLUGIN,
    PluginProcess,
    Secret,
    StandInEngine,
    provider_env,
    reveal,
    running_plugin,
)
from tests.support.openbao import OpenBaoServer
from tests.support.sandbox import CODE_CLIENT_ID, PASSWORD_CLIENT_ID, Control

from acumatica_datasource.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
KIND = provider_pb2.PropertyDiff


def vault(key: str) -> dict[str, Any]:
    return {"vault": {"path": VAULT_PATH, "key": key}}


def basic_inputs(url: str, **overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "description": "ERP Basic",
        "url": url,
        "company": "ACME",
        "authentication": {"strategy": "basic", "username": "admin", "password": vault("password")},
    }
    props.update(overrides)
    return props


def oauth_inputs(url: str, **overrides: Any) -> dict[str, Any]:
    """Client secret in Vault; the probe user's password in the environment; the probe
    application's secret a Pulumi secret."""
    props: dict[str, Any] = {
        "description": "ERP OAuth",
        "id": OAUTH_ID,
        "url": url,
        "company": "ACME",
        "callbackBaseUrl": CALLBACK_BASE,
        "authentication": {
            "strategy": "oauth2",
            "clientId": CODE_CLIENT_ID,
            "clientSecret": vault("client_secret"),
        },
        "verification": {
            "login": {
                "username": "admin",
                "password": {"env": PASSWORD_ENV},
                "clientId": PASSWORD_CLIENT_ID,
                "clientSecret": Secret(PROBE_SECRET),
            }
        },
    }
    props.update(overrides)
    return props


def plugin_env(home: Path) -> dict[str, str]:
    """No Vault settings in the environment: they come from the configuration."""
    return provider_env(os.environ, home, **{PASSWORD_ENV: PASSWORD})


def config(bao: OpenBaoServer) -> dict[str, Any]:
    return {"vaultAddress": bao.address, "vaultToken": Secret("root")}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory, bao: OpenBaoServer) -> Iterator[PluginProcess]:
    workdir = tmp_path_factory.mktemp("plugin")
    (workdir / "home").mkdir()
    with running_plugin(plugin_env(workdir / "home"), workdir) as process:
        process.configure(config(bao))
        yield process


def leaks(plugin: PluginProcess, since: int, stderr_since: int) -> list[str]:
    """Secrets in responses (a Pulumi secret may come back only where it was given, as a
    secret: the transcript shows it inside the secret wrapper, so it is checked apart)."""
    found = []
    for operation, text in plugin.transcript[since:]:
        for secret in ALL_SECRETS:
            returned = operation in ("check", "read")  # inputs come back, the secret wrapped
            if secret in text and not (secret == PROBE_SECRET and returned):
                found.append(f"{operation}: {secret}")
    found += [f"stderr: {s}" for s in ALL_SECRETS if s in plugin.stderr()[stderr_since:]]
    return found


@pytest.fixture
def world(control: Control, plugin: PluginProcess) -> Iterator[Control]:
    control.reset()
    since, stderr_since = len(plugin.transcript), len(plugin.stderr())
    yield control
    assert control.open_sessions() == 0, control.state()["sessions"]
    assert leaks(plugin, since, stderr_since) == []


# -- schema and configuration -------------------------------------------------------------------


def test_get_schema_is_the_committed_schema_json(plugin: PluginProcess) -> None:
    assert json.loads(plugin.get_schema()) == json.loads((ROOT / "schema.json").read_text())


def test_configure_accepts_secrets_and_previews(plugin: PluginProcess, bao: OpenBaoServer) -> None:
    response = plugin.configure(config(bao))
    assert response.acceptSecrets and response.supportsPreview


@pytest.mark.parametrize(
    ("config_", "key", "text"),
    [
        ({"verificationMode": "sometimes"}, "verificationMode", "must be one of strict"),
        ({"sessionsPerSite": "0"}, "sessionsPerSite", "at least 1"),
        ({"vaultAuthMethod": "ldap"}, "vault", "auth"),
        ({"vaultSkipVerify": "maybe"}, "vaultSkipVerify", "true or false"),
        ({"vaultAdress": "https://v"}, "vaultAdress", "did you mean acumatica:vaultAddress?"),
    ],
)
def test_check_config_names_the_key(
    plugin: PluginProcess, config_: dict[str, Any], key: str, text: str
) -> None:
    failures = plugin.check_config(config_)
    assert len(failures) == 1
    assert failures[0][0] == key
    assert text in failures[0][1]


def test_check_config_accepts_the_text_pulumi_config_stores(plugin: PluginProcess) -> None:
    config = {"sessionsPerSite": "2", "vaultSkipVerify": "false", "version": "0.1.0"}
    assert plugin.check_config(config) == []


# -- check -------------------------------------------------------------------------------------


def test_check_normalises_camel_case_inputs(plugin: PluginProcess, sandbox: Sandbox) -> None:
    inputs = plugin.checked(oauth_inputs(sandbox.url))
    assert inputs["pageSize"] == 10000
    assert inputs["operationTimeout"] == 60
    assert inputs["authentication"]["scope"] == ["api", "offline_access"]
    assert inputs["verification"]["mode"] == "strict"
    assert inputs["callbackUrl"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    assert inputs["id"] == OAUTH_ID
    login = inputs["verification"]["login"]
    assert login["clientSecret"] == Secret(PROBE_SECRET), "a Pulumi secret stays a secret"
    assert login["password"] == {"env": PASSWORD_ENV}


def test_check_derives_the_id(plugin: PluginProcess, sandbox: Sandbox) -> None:
    assert plugin.checked(basic_inputs(sandbox.url))["id"] == "erp-basic"


def test_check_at_preview_computes_what_it_can(plugin: PluginProcess, sandbox: Sandbox) -> None:
    inputs = plugin.checked(oauth_inputs(UNKNOWN))
    assert inputs["callbackUrl"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    unknown_id = plugin.checked(oauth_inputs(sandbox.url, id=UNKNOWN))
    assert unknown_id["callbackUrl"] == UNKNOWN


def test_check_refuses_a_plain_string_secret(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url)
    props["authentication"]["password"] = "not-a-secret"
    _, failures = plugin.check(props)
    assert len(failures) == 1
    assert failures[0][1].startswith("authentication.password: a secret must not be a plain")
    assert "fn::secret" in failures[0][1] and "{vault:" in failures[0][1]
    assert "not-a-secret" not in str(failures)


def test_check_accepts_a_whole_secret_object(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url)
    props["authentication"] = Secret(
        {"strategy": "basic", "username": "admin", "password": "in-a-secret-object"}
    )
    inputs = plugin.checked(props)
    assert isinstance(inputs["authentication"], Secret)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pageSize": 0}, "pageSize: must be at least 1"),
        ({"operationTimeout": 7200}, "operationTimeout: must be at most 3600"),
        ({"url": "http://erp.example.com"}, "url: must"),
        ({"id": "Not An Id"}, "id: must be 1-63 lower-case letters"),
        ({"extraConnectionProperties": "Password=x"}, "extraConnectionProperties: Password is"),
        ({"verification": {"mode": "sometimes"}}, "verification.mode: must be one of"),
        ({"pageSze": 10}, "pageSze: not a property of acumatica:index:DataSource"),
    ],
)
def test_check_gives_the_rules_of_validate(
    plugin: PluginProcess, sandbox: Sandbox, change: dict[str, Any], message: str
) -> None:
    _, failures = plugin.check({**basic_inputs(sandbox.url), **change})
    assert any(reason.startswith(message) for _, reason in failures), failures


def test_check_names_camel_case_paths(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = oauth_inputs(sandbox.url)
    props["authentication"]["clientId"] = "not-a-client-id"
    _, failures = plugin.check(props)
    assert [reason.split(":")[0] for _, reason in failures] == ["authentication.clientId"]


def test_an_unknown_resource_type_is_refused(plugin: PluginProcess) -> None:
    request = provider_pb2.CheckRequest(urn="urn:pulumi:dev::p::acumatica:index:Other::x")
    with pytest.raises(grpc.RpcError) as caught:
        plugin._call("check", "Check", request)
    assert "unknown resource type 'acumatica:index:Other'" in str(caught.value.details())


# -- diff -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("world")
def test_detailed_diff(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url, pageSize=100)
    id_, outputs = plugin.up(props)
    assert plugin.diff(id_, outputs, plugin.checked(props)).changes == (
        provider_pb2.DiffResponse.DIFF_NONE
    )

    bigger = plugin.diff(id_, outputs, plugin.checked({**props, "pageSize": 200}))
    assert bigger.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(bigger.replaces) == []
    assert dict(bigger.detailedDiff) == {"pageSize": KIND(kind=KIND.UPDATE, inputDiff=True)}

    renamed = plugin.diff(id_, outputs, plugin.checked({**props, "id": "erp-renamed"}))
    assert list(renamed.replaces) == ["id"]
    assert renamed.detailedDiff["id"].kind == KIND.UPDATE_REPLACE

    entity = plugin.diff(
        id_, outputs, plugin.checked({**props, "verification": {"entity": "StockItem"}})
    )
    assert dict(entity.detailedDiff) == {
        "verification.entity": KIND(kind=KIND.UPDATE, inputDiff=True)
    }


@pytest.mark.usefixtures("world")
def test_diff_of_the_callback_url_and_scope_order(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = oauth_inputs(sandbox.url, verification={"mode": "off"})
    id_, outputs = plugin.up(props)
    moved = plugin.diff(
        id_, outputs, plugin.checked({**props, "callbackBaseUrl": "https://bi2.example.com"})
    )
    assert set(moved.detailedDiff) == {"callbackBaseUrl", "callbackUrl"}
    assert moved.detailedDiff["callbackUrl"].inputDiff is False
    reordered = {**props, "authentication": {**props["authentication"]}}
    reordered["authentication"]["scope"] = ["offline_access", "api"]
    assert plugin.diff(id_, outputs, plugin.checked(reordered)).changes == (
        provider_pb2.DiffResponse.DIFF_NONE
    )


@pytest.mark.usefixtures("world")
def test_a_changed_pulumi_secret_is_an_update(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url, verification={"mode": "off"})
    props["authentication"]["password"] = Secret("first-value")
    id_, outputs = plugin.up(props)
    assert plugin.diff(id_, outputs, plugin.checked(props)).changes == (
        provider_pb2.DiffResponse.DIFF_NONE
    )
    props["authentication"]["password"] = Secret("second-value")
    changed = plugin.diff(id_, outputs, plugin.checked(props))
    assert dict(changed.detailedDiff) == {
        "authentication.password": KIND(kind=KIND.UPDATE, inputDiff=True)
    }


@pytest.mark.usefixtures("world")
def test_a_vault_rotation_is_an_update(
    plugin: PluginProcess, sandbox: Sandbox, bao: OpenBaoServer
) -> None:
    props = basic_inputs(sandbox.url)
    reference = f"vault:secret/{VAULT_PATH}#password"
    id_, outputs = plugin.up(props)
    recorded = outputs["secretVersions"][reference]
    put_test_secrets(bao)  # the same values as a new version: no key changed
    same = plugin.diff(id_, outputs, plugin.checked(props))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
    try:
        bao.put(VAULT_PATH, {"password": WRONG_PASSWORD})  # the password rotated
        rotated = plugin.diff(id_, outputs, plugin.checked(props))
        assert rotated.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert dict(rotated.detailedDiff) == {
            "authentication.password": KIND(kind=KIND.UPDATE, inputDiff=True)
        }
    finally:
        put_test_secrets(bao)
    updated = plugin.update(id_, outputs, plugin.checked(props))
    assert updated["secretVersions"][reference] == recorded + 3


# -- create, read, update, delete ---------------------------------------------------------------


@pytest.mark.usefixtures("world")
def test_create_records_camel_case_outputs(plugin: PluginProcess, sandbox: Sandbox) -> None:
    id_, outputs = plugin.up(oauth_inputs(sandbox.url))
    assert id_ == OAUTH_ID == outputs["dataSourceId"]
    assert outputs["callbackUrl"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    assert outputs["verification"]["status"] == "ok", outputs["verification"]
    assert outputs["verification"]["callbackRegistered"] is True
    assert outputs["verification"]["checks"]["client_secret"] == "ok"
    assert outputs["verificationSettings"]["mode"] == "strict"
    versions = outputs["secretVersions"]
    assert versions[f"vault:secret/{VAULT_PATH}#client_secret"] >= 1
    assert versions["pulumi-secret"] is None and versions[f"env:{PASSWORD_ENV}"] is None
    assert "{{vault:secret/acumatica/test#client_secret}}" in outputs["connectionStringTemplate"]
    assert "connectionString" not in outputs
    fingerprint = outputs["verificationSettings"]["login"]["clientSecret"]
    assert isinstance(fingerprint, Secret), "what stands for a Pulumi secret stays secret"
    assert set(reveal(fingerprint)) == {"pulumiSecret"}


@pytest.mark.usefixtures("world")
def test_preview_create_verifies_nothing(
    plugin: PluginProcess, sandbox: Sandbox, control: Control
) -> None:
    before = len(control.requests())
    _, outputs = plugin.create(plugin.checked(oauth_inputs(sandbox.url)), preview=True)
    assert outputs["callbackUrl"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    assert outputs["dataSourceId"] == OAUTH_ID
    assert outputs["verification"] == UNKNOWN
    assert len(control.requests()) == before


@pytest.mark.usefixtures("world")
def test_the_connection_string_is_a_secret(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url, exposeConnectionString=True)
    _, outputs = plugin.up(props)
    secret = outputs["connectionString"]
    assert isinstance(secret, Secret)
    assert f"Password={PASSWORD}" in secret.value
    plugin.transcript.pop()  # the one response allowed to carry it (inside the secret)


@pytest.mark.usefixtures("world")
def test_a_strict_failure_is_a_clean_message(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url)
    props["authentication"]["password"] = vault("wrong_password")
    with pytest.raises(grpc.RpcError) as caught:
        plugin.up(props)
    details = str(caught.value.details())
    assert details.startswith("verification of data source 'ERP Basic' failed: login:")
    assert "verification.mode is strict: nothing was recorded" in details
    assert "Traceback" not in details and 'File "' not in details


@pytest.mark.usefixtures("world")
def test_read_reverifies_with_the_inputs_pulumi_secrets_included(
    plugin: PluginProcess, sandbox: Sandbox, control: Control
) -> None:
    props = oauth_inputs(sandbox.url)
    inputs = plugin.checked(props)
    id_, outputs = plugin.create(inputs)
    assert outputs["verification"]["checks"]["token"] == "ok"
    time.sleep(1.1)  # checkedAt has one-second resolution
    _, refreshed, kept = plugin.read(id_, outputs, inputs)
    assert refreshed["verification"]["status"] == "ok"
    assert refreshed["verification"]["checkedAt"] > outputs["verification"]["checkedAt"]
    assert kept == inputs
    assert kept["verification"]["login"]["clientSecret"] == Secret(PROBE_SECRET)

    control.patch_user("admin", locked=True)
    before = len(plugin.engine.warnings())
    _, drifted, _ = plugin.read(id_, outputs, inputs)
    assert drifted["verification"]["status"] == "failed"
    assert any(p.startswith("token:") for p in drifted["verification"]["problems"])
    warnings = plugin.engine.warnings()[before:]
    assert len(warnings) == 1 and "recorded as failed" in warnings[0]


@pytest.mark.usefixtures("world")
def test_update_and_delete(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url, pageSize=100)
    id_, outputs = plugin.up(props)
    updated = plugin.update(id_, outputs, plugin.checked({**props, "pageSize": 200}))
    assert updated["pageSize"] == 200 and updated["verification"]["status"] == "ok"
    plugin.delete(id_, updated)


def test_import_is_refused(plugin: PluginProcess) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        plugin.read("erp-basic", {})
    assert "cannot be imported" in str(caught.value.details())


@pytest.mark.usefixtures("world")
def test_warn_mode_failures_are_engine_warnings(plugin: PluginProcess, sandbox: Sandbox) -> None:
    props = basic_inputs(sandbox.url, verification={"mode": "warn"})
    props["authentication"]["password"] = vault("wrong_password")
    before = len(plugin.engine.warnings())
    _, outputs = plugin.up(props)
    assert outputs["verification"]["status"] == "failed"
    warnings = plugin.engine.warnings()[before:]
    assert len(warnings) == 1 and "verification.mode is warn" in warnings[0]


# -- the process -------------------------------------------------------------------------------


def test_the_plugin_exits_when_the_engine_goes_away(tmp_path: Path) -> None:
    engine = StandInEngine()
    plugin = PluginProcess(env=plugin_env(tmp_path), workdir=tmp_path, engine=engine)
    plugin.start()
    try:
        engine.stop()
        assert plugin.process is not None
        plugin.process.wait(timeout=15)
    finally:
        plugin.stop()


def test_the_plugin_exits_when_its_parent_dies(tmp_path: Path) -> None:
    """The engine killed outright: the plugin is re-parented and notices."""
    engine = StandInEngine()
    pid_file, port_file = tmp_path / "plugin.pid", tmp_path / "plugin.port"
    script = f"'{PLUGIN}' {engine.address} > '{port_file}' & echo $! > '{pid_file}'; wait"
    parent = subprocess.Popen(
        ["sh", "-c", script], env=plugin_env(tmp_path), stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):  # serving
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
            assert time.monotonic() < deadline, "the plugin outlived its parent"
            time.sleep(0.1)
    finally:
        engine.stop()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_the_console_script_is_installed() -> None:
    result = subprocess.run([str(PLUGIN), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == "0.1.0"
    assert str(STORED_SECRETS) not in result.stdout
    assert sys.executable


def test_approle_credentials_from_the_secret_configuration(
    tmp_path: Path, bao: OpenBaoServer, sandbox: Sandbox, control: Control
) -> None:
    """``vaultRoleId`` and the secret ``vaultSecretId`` log in with AppRole; the secret id
    reaches no response and no log line."""
    bao.policy("plugin-read", 'path "secret/data/acumatica/*" { capabilities = ["read"] }')
    role_id, secret_id = bao.approle("plugin", ["plugin-read"])
    control.reset()
    (tmp_path / "home").mkdir()
    with running_plugin(plugin_env(tmp_path / "home"), tmp_path) as process:
        settings = {
            "vaultAddress": bao.address,
            "vaultAuthMethod": "approle",
            "vaultRoleId": role_id,
            "vaultSecretId": Secret(secret_id),
        }
        assert process.check_config(settings) == []
        process.configure(settings)
        _, outputs = process.up(basic_inputs(sandbox.url))
        assert outputs["verification"]["status"] == "ok", outputs["verification"]
        # CheckConfig echoes the configuration, the secret id wrapped as a secret
        texts = [text for op, text in process.transcript if op != "check_config"]
        texts.append(process.stderr())
        assert not [text for text in texts if secret_id in text or PASSWORD in text]
    assert control.open_sessions() == 0


@pytest.mark.usefixtures("world")
def test_a_credential_extra_property_is_a_reference_rendered_as_a_placeholder(
    plugin: PluginProcess, sandbox: Sandbox
) -> None:
    """Issue 12, point 8, through the plugin: a literal credential among the extra
    properties is refused at check; a Vault reference is recorded as its placeholder."""
    literal = basic_inputs(sandbox.url, extraConnectionProperties={"ProxyPassword": "Lit-3x"})
    _, failures = plugin.check(literal)
    assert any(r.startswith("extraConnectionProperties.ProxyPassword") for _, r in failures), (
        failures
    )
    assert "Lit-3x" not in str(failures)
    props = basic_inputs(
        sandbox.url, extraConnectionProperties={"ProxyPassword": vault("password"), "X": "1"}
    )
    _, outputs = plugin.up(props)
    template = outputs["connectionStringTemplate"]
    assert f"ProxyPassword={{{{vault:secret/{VAULT_PATH}#password}}}};" in template, template
    assert PASSWORD not in str(outputs)
