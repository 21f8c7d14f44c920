"""The ``AcumaticaDataSource`` class and ``declare_environment`` under ``pulumi.runtime.set_mocks``:
what the program sends to the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from google.protobuf.json_format import MessageToDict
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from tests.resource.support import PROVIDER

from acumatica_datasource import (
    AcumaticaDataSource,
    BasicAuth,
    EnvSecret,
    OAuth2,
    VaultSecret,
    VerificationSettings,
    VerificationUser,
)
from acumatica_datasource.resource import TYPE_TOKEN, declare_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
CLIENT_ID = "88358B02-A48D-A50E-F710-39C1636C30F6@ACME"
LOGIN_CLIENT_ID = "5D4C3B2A-1F0E-4D9C-8B7A-6E5F4D3C2B1A@ACME"
SECRET = "Mock-secret-4a1d"


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class SpyMonitor(MockMonitor):
    """Keeps the raw RegisterResource requests (resource options are not in the mock args)."""

    def __init__(self, mocks: Recorder) -> None:
        super().__init__(mocks)
        self.requests: list[Any] = []

    def RegisterResource(self, request: Any) -> Any:
        self.requests.append(request)
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


class Mocked:
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.monitor = SpyMonitor(self.recorder)

    def run(self, program: Callable[[], Any]) -> None:
        """Run ``program`` and wait for every registration."""
        pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]

    def inputs(self, name: str) -> dict[str, Any]:
        found = [r for r in self.recorder.resources if r.name == name]
        assert len(found) == 1, [r.name for r in self.recorder.resources]
        return dict(found[0].inputs)

    def request(self, name: str) -> Any:
        found = [r for r in self.monitor.requests if r.name == name]
        assert len(found) == 1
        return found[0]


@pytest.fixture
def mocked() -> Iterator[Mocked]:
    state = Mocked()
    pulumi.runtime.set_mocks(
        state.recorder, project="resource-tests", stack="dev", preview=False, monitor=state.monitor
    )
    yield state


def test_typed_basic_inputs(mocked: Mocked) -> None:
    def program() -> Any:
        source = AcumaticaDataSource(
            "erp",
            description="Acumatica Data Source",
            url="https://acme.acumatica.com",
            company="ACME",
            data_source_id="erp",
            page_size=500,
            authentication=BasicAuth(
                username="bi", password=VaultSecret(path="acumatica/prod", key="password")
            ),
            verification=VerificationSettings(mode="warn", entity="FinancialYear"),
        )
        return source.data_source_id

    mocked.run(program)
    resource = next(r for r in mocked.recorder.resources if r.name == "erp")
    assert resource.typ == TYPE_TOKEN == "pulumi-python:dynamic/acumatica:DataSource"
    assert mocked.inputs("erp") == {
        "description": "Acumatica Data Source",
        "data_source_id": "erp",
        "type": "Acumatica",
        "url": "https://acme.acumatica.com",
        "company": "ACME",
        "page_size": 500,
        "authentication": {
            "strategy": "basic",
            "username": "bi",
            "password": {"vault": {"path": "acumatica/prod", "key": "password", "mount": "secret"}},
        },
        "verification_settings": {"mode": "warn", "entity": "FinancialYear"},
        "__provider": PROVIDER,
    }


def test_typed_oauth_inputs(mocked: Mocked) -> None:
    def program() -> None:
        AcumaticaDataSource(
            "erp-prod",
            description="Acumatica Data Source",
            url="https://acme.acumatica.com",
            company="ACME",
            authentication=OAuth2(
                client_id=CLIENT_ID,
                client_secret=VaultSecret(path="acumatica/prod", key="client_secret", version=3),
                scope="api offline_access",
            ),
            callback_base_url="https://bi.example.com",
            verification=VerificationSettings(
                login=VerificationUser(
                    username="svc",
                    password=EnvSecret("SVC_PASSWORD"),
                    client_id=LOGIN_CLIENT_ID,
                    client_secret=VaultSecret(path="acumatica/prod", key="probe", engine="kv2"),
                )
            ),
            expose_connection_string=True,
        )

    mocked.run(program)
    inputs = mocked.inputs("erp-prod")
    assert inputs["authentication"] == {
        "strategy": "oauth2",
        "client_id": CLIENT_ID,
        "client_secret": {
            "vault": {
                "path": "acumatica/prod",
                "key": "client_secret",
                "mount": "secret",
                "version": 3,
            }
        },
        "scope": "api offline_access",
    }
    assert inputs["verification_settings"] == {
        "login": {
            "username": "svc",
            "password": {"env": "SVC_PASSWORD"},
            "client_id": LOGIN_CLIENT_ID,
            "client_secret": {
                "vault": {
                    "path": "acumatica/prod",
                    "key": "probe",
                    "mount": "secret",
                    "engine": "kv2",
                }
            },
        }
    }
    assert inputs["callback_base_url"] == "https://bi.example.com"
    assert inputs["expose_connection_string"] is True


def test_connection_string_is_an_additional_secret_output(mocked: Mocked) -> None:
    def program() -> None:
        AcumaticaDataSource(
            "a",
            description="A",
            url="https://acme.acumatica.com",
            company="ACME",
            authentication=BasicAuth(username="bi", password=EnvSecret("PW")),
        )
        AcumaticaDataSource(
            "b",
            description="B",
            url="https://acme.acumatica.com",
            company="ACME",
            authentication=BasicAuth(username="bi", password=EnvSecret("PW")),
            opts=pulumi.ResourceOptions(additional_secret_outputs=["verification"]),
        )

    mocked.run(program)
    assert list(mocked.request("a").additionalSecretOutputs) == ["connection_string"]
    assert set(mocked.request("b").additionalSecretOutputs) == {"connection_string", "verification"}


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (
            lambda: BasicAuth(username="bi", password=SECRET),  # type: ignore[arg-type]
            "authentication.password",
        ),
        (
            lambda: OAuth2(client_id=CLIENT_ID, client_secret=SECRET),  # type: ignore[arg-type]
            "authentication.client_secret",
        ),
        (
            lambda: {"strategy": "basic", "username": "bi", "password": SECRET},
            "authentication.password",
        ),
        (
            lambda: {"strategy": "oauth2", "client_id": CLIENT_ID, "client_secret": SECRET},
            "authentication.client_secret",
        ),
        (
            lambda: {"strategy": "basic", "username": "bi", "password": {"inline": SECRET}},
            "authentication.password",
        ),
    ],
)
def test_a_plain_string_secret_is_refused(mocked: Mocked, make: Any, field: str) -> None:
    def program() -> None:
        AcumaticaDataSource(
            "plain",
            description="Plain",
            url="https://acme.acumatica.com",
            company="ACME",
            authentication=make(),
        )

    with pytest.raises(TypeError) as caught:
        program()
    message = str(caught.value)
    assert message.startswith(f"{field}: a secret must not be a plain string")
    assert "VaultSecret(...)" in message
    assert "pulumi.Output.secret(value)" in message
    assert SECRET not in message
    assert mocked.recorder.resources == []


@pytest.mark.parametrize(
    ("verification", "field"),
    [
        (
            lambda: VerificationSettings(
                login=VerificationUser(username="svc", password=SECRET)  # type: ignore[arg-type]
            ),
            "verification.login.password",
        ),
        (
            lambda: {
                "login": {
                    "username": "svc",
                    "password": EnvSecret("P").to_input(),
                    "client_id": LOGIN_CLIENT_ID,
                    "client_secret": SECRET,
                }
            },
            "verification.login.client_secret",
        ),
        (lambda: {"refresh_token": SECRET}, "verification.refresh_token"),
    ],
)
def test_a_plain_string_verification_secret_is_refused(
    mocked: Mocked, verification: Any, field: str
) -> None:
    with pytest.raises(TypeError) as caught:
        AcumaticaDataSource(
            "plain",
            description="Plain",
            url="https://acme.acumatica.com",
            company="ACME",
            authentication=OAuth2(client_id=CLIENT_ID, client_secret=EnvSecret("CS")),
            callback_base_url="https://bi.example.com",
            verification=verification(),
        )
    assert str(caught.value).startswith(f"{field}: a secret must not be a plain string")
    assert SECRET not in str(caught.value)


def _secret_paths(struct: Any) -> list[str]:
    """Paths of the values marked secret in a serialized property struct."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
                found.append(path)
                return
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else key)

    walk(MessageToDict(struct), "")
    return found


@pytest.mark.parametrize("secretness", ["secret", "plain-output"])
def test_a_pulumi_secret_is_accepted_and_stays_secret(mocked: Mocked, secretness: str) -> None:
    def program() -> None:
        value = (
            pulumi.Output.secret(SECRET)
            if secretness == "secret"
            else pulumi.Output.from_input(SECRET)
        )
        AcumaticaDataSource(
            "inline",
            description="Inline",
            url="https://acme.acumatica.com",
            company="ACME",
            authentication=BasicAuth(username="bi", password=value),
        )

    mocked.run(program)
    request = mocked.request("inline")
    assert _secret_paths(request.object) == ["authentication.password"]


def test_declare_environment_declares_one_resource_per_data_source(mocked: Mocked) -> None:
    declared: dict[str, list[str]] = {}

    def program() -> None:
        for example in ("basic", "oauth2"):
            resources = declare_environment(EXAMPLES / f"{example}.yaml")
            declared[example] = list(resources)

    mocked.run(program)
    assert declared == {
        "basic": ["acumatica-data-source", "finance"],
        "oauth2": ["acumatica-oauth"],
    }
    names = sorted(r.name for r in mocked.recorder.resources)
    assert names == ["acumatica-data-source", "acumatica-oauth", "finance"]
    for name in names:
        inputs = mocked.inputs(name)
        assert inputs["data_source_id"] == name
        assert mocked.request(name).type == TYPE_TOKEN
    finance = mocked.inputs("finance")
    assert finance["url"] == "https://erp.example.com/AcumaticaERP"
    assert finance["company"] == "FINANCE"
    assert finance["operation_timeout"] == 120  # from the file's defaults
    assert finance["authentication"]["password"] == {"env": "ACUMATICA_FINANCE_PASSWORD"}
    assert finance["verification_settings"]["mode"] == "warn"
    assert finance["vault"]["address"] == "https://vault.example.com:8200"
    oauth = mocked.inputs("acumatica-oauth")
    assert oauth["callback_base_url"] == "https://bi-dev.example.com"
    assert oauth["authentication"]["client_secret"]["vault"]["version"] == 3
    assert oauth["vault"]["auth"]["method"] == "jwt"


def test_declare_environment_refuses_an_invalid_file(mocked: Mocked, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "environment: dev\n"
        "data_sources:\n"
        "  - description: One\n"
        "    url: http://erp.example.com\n"
        "    company: ACME\n"
        "    authentication: {strategy: basic, username: u, password: plain-text}\n"
    )
    with pytest.raises(pulumi.RunError) as caught:
        declare_environment(path)
    message = str(caught.value)
    assert message.startswith("invalid environment file:")
    assert (
        f"{path}:4: data_sources[0].url: must be an absolute URL starting with https://" in message
    )
    assert f"{path}:6: data_sources[0].authentication.password: a secret must not be" in message
    assert "plain-text" not in message
    assert mocked.recorder.resources == []


def test_declare_environment_keeps_the_security_settings(mocked: Mocked, tmp_path: Path) -> None:
    """Issue 12, point 8: allow_insecure_tls and a credential property's reference reach the
    resource (without allow_insecure_tls, the resource's own check would refuse the file's
    SSLServerCert=*)."""
    path = tmp_path / "dev.yaml"
    path.write_text(
        "environment: dev\n"
        "data_sources:\n"
        "  - description: One\n"
        "    url: https://erp.example.com\n"
        "    company: ACME\n"
        "    authentication: {strategy: basic, username: u, password: {env: PW}}\n"
        "    allow_insecure_tls: true\n"
        "    extra_connection_properties:\n"
        "      SSLServerCert: '*'\n"
        "      ProxyPassword: {env: PROXY_PW}\n"
    )

    def program() -> None:
        declare_environment(path)

    mocked.run(program)
    inputs = mocked.inputs("one")
    assert inputs["allow_insecure_tls"] is True
    assert inputs["extra_connection_properties"] == {
        "SSLServerCert": "*",
        "ProxyPassword": {"env": "PROXY_PW"},
    }
