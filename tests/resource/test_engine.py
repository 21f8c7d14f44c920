"""One run through the real Pulumi engine (Automation API, inline program, file backend):
preview -> up -> up with a Basic and an OAuth data source against the sandbox and OpenBao,
then a search of the raw state, the exported stack and every engine event for secrets."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from pulumi import automation as auto
from tests.resource.conftest import (
    ALL_SECRETS,
    CALLBACK_BASE,
    OAUTH_ID,
    PASSWORD,
    PASSWORD_ENV,
    PROBE_SECRET,
    VAULT_PATH,
)
from tests.support.openbao import OpenBaoServer
from tests.support.pulumi_engine import EngineSandbox, EventLog, Timings
from tests.support.sandbox import CODE_CLIENT_ID, PASSWORD_CLIENT_ID, Control

from acumatica_datasource import (
    AcumaticaDataSource,
    BasicAuth,
    EnvSecret,
    OAuth2,
    VaultSecret,
    VerificationSettings,
    VerificationUser,
)
from acumatica_datasource.resource import TYPE_TOKEN
from acumatica_datasource.sandbox import Sandbox

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
PASSWORD_REF = f"vault:secret/{VAULT_PATH}#password"
CLIENT_SECRET_REF = f"vault:secret/{VAULT_PATH}#client_secret"


def occurrences(tree: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """(path, secret) for every string in ``tree`` that contains a test secret."""
    found: list[tuple[tuple[str, ...], str]] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += occurrences(value, (*path, str(key)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += occurrences(value, (*path, str(index)))
    elif isinstance(tree, str):
        found += [(path, secret) for secret in ALL_SECRETS if secret in tree]
    return found


@pytest.mark.engine
def test_preview_up_up(
    engine: EngineSandbox, sandbox: Sandbox, control: Control, bao: OpenBaoServer
) -> None:
    control.reset()
    engine.env.update(VAULT_ADDR=bao.address, VAULT_TOKEN="root", **{PASSWORD_ENV: PASSWORD})
    vault_version = int(
        bao.admin.secrets.kv.v2.read_secret_metadata(path=VAULT_PATH)["data"]["current_version"]
    )

    def program() -> None:
        basic = AcumaticaDataSource(
            "basic",
            description="ERP Basic",
            url=sandbox.url,
            company="ACME",
            authentication=BasicAuth(
                username="admin", password=VaultSecret(path=VAULT_PATH, key="password")
            ),
            expose_connection_string=True,
        )
        oauth = AcumaticaDataSource(
            "oauth",
            description="ERP OAuth",
            data_source_id=OAUTH_ID,
            url=sandbox.url,
            company="ACME",
            callback_base_url=CALLBACK_BASE,
            authentication=OAuth2(
                client_id=CODE_CLIENT_ID,
                client_secret=VaultSecret(path=VAULT_PATH, key="client_secret"),
            ),
            verification=VerificationSettings(
                login=VerificationUser(
                    username="admin",
                    password=EnvSecret(PASSWORD_ENV),
                    client_id=PASSWORD_CLIENT_ID,
                    client_secret=pulumi.Output.secret(PROBE_SECRET),
                )
            ),
        )
        for name, source in (("basic", basic), ("oauth", oauth)):
            pulumi.export(f"{name}_callback_url", source.callback_url)
            pulumi.export(f"{name}_template", source.connection_string_template)
            pulumi.export(f"{name}_verification", source.verification)
            pulumi.export(f"{name}_secret_versions", source.secret_versions)
        pulumi.export("basic_connection_string", basic.connection_string)

    stack = engine.stack(program, project_name="resource-engine")
    log = EventLog()
    timings = Timings()
    with timings("preview"):
        preview = stack.preview(**log.callbacks())
    assert preview.change_summary == {"create": 3}
    previewed = {
        step.urn.rsplit("::", 1)[-1]: step.new
        for step in log.step_events(TYPE_TOKEN)
        if step.new is not None
    }
    # The callback URL is computed at check time, so the preview shows it.
    assert (previewed["oauth"].inputs or {})["callback_url"] == (
        f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    )

    with timings("up"):
        up = stack.up(**log.callbacks())
    assert up.summary.resource_changes == {"create": 3}
    outputs = {key: value.value for key, value in up.outputs.items()}
    assert outputs.get("basic_callback_url") is None
    assert outputs["oauth_callback_url"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    assert outputs["basic_template"] == (
        f"URL={sandbox.url};Company=ACME;AuthScheme=Basic;User=admin;"
        f"Password={{{{{PASSWORD_REF}}}}};Pagesize=10000;Timeout=60;"
    )
    assert outputs["oauth_template"] == (
        f"URL={sandbox.url};Company=ACME;AuthScheme=OAuth;OAuthClientId={CODE_CLIENT_ID};"
        f"OAuthClientSecret={{{{{CLIENT_SECRET_REF}}}}};Scope=api offline_access;"
        f"CallbackURL={CALLBACK_BASE}/oauth/callback/{OAUTH_ID};Pagesize=10000;Timeout=60;"
    )
    for name in ("basic", "oauth"):
        assert outputs[f"{name}_verification"]["status"] == "ok", outputs[f"{name}_verification"]
    assert outputs["oauth_verification"]["callback_registered"] is True
    assert outputs["basic_secret_versions"] == {PASSWORD_REF: vault_version}
    assert outputs["oauth_secret_versions"][CLIENT_SECRET_REF] == vault_version
    assert up.outputs["basic_connection_string"].secret
    assert f"Password={PASSWORD};" in outputs["basic_connection_string"]

    with timings("up again"):
        again = stack.up(**log.callbacks())
    assert again.summary.resource_changes == {"same": 3}
    assert control.open_sessions() == 0

    # The raw state: every secret encrypted, even the opt-in output.
    raw = engine.state_file(project_name="resource-engine").read_text()
    assert [secret for secret in ALL_SECRETS if secret in raw] == []

    # The exported stack (decrypted): only the opt-in output, and the Pulumi secret inside
    # the secret envelope of the input where the program gave it.
    deployment = stack.export_stack().deployment
    assert deployment is not None
    allowed = {
        ("resources", "basic", "outputs", "connection_string", "plaintext"),
        ("resources", "stack", "outputs", "basic_connection_string", "plaintext"),
        (
            "resources",
            "oauth",
            "inputs",
            "verification_settings",
            "login",
            "client_secret",
            "plaintext",
        ),
    }
    found: set[tuple[str, ...]] = set()
    for resource in deployment["resources"]:
        name = (
            "stack"
            if resource["type"] == "pulumi:pulumi:Stack"
            else resource["urn"].rsplit("::", 1)[-1]
        )
        for path, secret in occurrences(resource):
            found.add(("resources", name, *path))
            assert ("resources", name, *path) in allowed, (path, secret)
            if "inputs" in path:
                assert secret == PROBE_SECRET
                parent = resource
                for part in path[:-1]:
                    parent = parent[part]
                assert parent[SECRET_SIG_KEY]  # inside a Pulumi secret envelope
    assert found == allowed
    assert json.dumps(deployment).count(PASSWORD) == 2  # the opt-in output and its export

    # Every engine event and output line of the three runs.
    assert [secret for secret in ALL_SECRETS if secret in log.text()] == []
    print(f"engine timings: {timings.report()}")


@pytest.mark.engine
def test_check_failures_print_no_value_through_the_engine(engine: EngineSandbox) -> None:
    """The engine prints "property X value {V}" for a failure naming a property: a URL with
    credentials and a Password= in the connection properties must not be printed."""
    typed_in = "Typed-in-5d0e-secret"

    def program() -> None:
        AcumaticaDataSource(
            "bad",
            description="Bad",
            url=f"https://admin:{typed_in}@erp.example.com",
            company="ACME",
            page_size=0,
            extra_connection_properties=f"Password={typed_in};",
            authentication=BasicAuth(username="admin", password=EnvSecret("PW")),
        )

    stack = engine.stack(program, project_name="resource-engine-check")
    log = EventLog()
    with pytest.raises(auto.CommandError):
        stack.preview(**log.callbacks())
    messages = [d.message for d in log.diagnostics() if d.severity == "error"]
    prefix = f"{TYPE_TOKEN} resource 'bad'"
    assert f"{prefix} has a problem: url: must not contain credentials" in "".join(messages)
    assert f"{prefix} has a problem: extra_connection_properties: Password is managed" in "".join(
        messages
    )
    # A plain field may be named: its value is printed, and it is harmless.
    assert f"{prefix}: property page_size value {{0}} has a problem: page_size:" in "".join(
        messages
    )
    assert typed_in not in log.text()
