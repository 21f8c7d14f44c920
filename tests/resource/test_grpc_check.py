"""Configure and Check through the real dynamic-provider server.

Check is offline: the same rules and messages as ``acumatica-ds validate``, one failure per
field, unknowns skipped, inputs normalised and the callback URL computed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.resource.conftest import (
    CALLBACK_BASE,
    OAUTH_ID,
    basic_props,
    make_provider_env,
    oauth_props,
    vault_ref,
)
from tests.resource.support import UNKNOWN, ProviderServer, running_provider
from tests.support.openbao import OpenBaoServer
from tests.support.sandbox import CODE_CLIENT_ID, Control

from acumatica_datasource.resource.properties import PLAIN_PROPERTIES
from acumatica_datasource.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("world")

SPEC_NAMES = {"data_source_id": "id", "verification_settings": "verification"}
RESOURCE_ONLY = ("callback_base_url", "vault", "type")


def spec_document(props: dict[str, Any]) -> dict[str, Any]:
    """The environment file holding the same data source as resource ``props``."""
    source = {SPEC_NAMES.get(k, k): v for k, v in props.items() if k not in RESOURCE_ONLY}
    return {"environment": "dev", "data_sources": [source]}


def validate_messages(document: dict[str, Any], tmp_path: Path) -> set[tuple[str, str]]:
    """``acumatica-ds validate --format json``: (path inside the data source, message)."""
    path = tmp_path / "env.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "acumatica_datasource", "validate", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    found: set[tuple[str, str]] = set()
    for error in json.loads(result.stdout)["errors"]:
        inner = error["path"].removeprefix("data_sources[0].")
        head, _, rest = inner.partition(".")
        head = {v: k for k, v in SPEC_NAMES.items()}.get(head, head)
        found.add((f"{head}.{rest}" if rest else head, error["message"]))
    return found


def test_valid_basic_is_normalised(provider: ProviderServer, sandbox: Sandbox) -> None:
    props = basic_props(sandbox.url + "/entity/", page_size=500.0)
    inputs = provider.checked(props)
    assert inputs["url"] == sandbox.url  # a trailing /entity/ is normalised away
    assert inputs["page_size"] == 500
    assert inputs["operation_timeout"] == 60
    assert inputs["data_source_id"] == "erp-basic"  # a slug of the description
    assert inputs["verification_settings"] == {"mode": "strict", "entity": "UnitsOfMeasure"}
    assert inputs["extra_connection_properties"] == {}
    assert inputs["authentication"]["password"] == {
        "vault": {"path": "acumatica/test", "key": "password", "mount": "secret"}
    }
    assert "callback_url" not in inputs  # no callback for Basic (None is not sent)


def test_valid_oauth_computes_the_callback_url(provider: ProviderServer, sandbox: Sandbox) -> None:
    props = oauth_props(sandbox.url, callback_base_url=CALLBACK_BASE + "/")
    inputs = provider.checked(props)
    assert inputs["callback_base_url"] == CALLBACK_BASE
    assert inputs["callback_url"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"
    assert inputs["authentication"]["scope"] == ["api", "offline_access"]
    login = inputs["verification_settings"]["login"]
    assert login["password"] == {"env": "ACUMATICA_TEST_PASSWORD"}


def test_invalid_fields_fail_one_by_one_with_validate_messages(
    provider: ProviderServer, tmp_path: Path
) -> None:
    props: dict[str, Any] = {
        "description": "  ",
        "data_source_id": "Bad_ID",
        "type": "Acumatica",
        "url": "http://erp.example.com",
        "page_size": 0,
        "operation_timeout": 5000,
        "extra_connection_properties": "Password=x;EndpointVersion=24.2",
        "authentication": {
            "strategy": "basic",
            "username": "admin",
            "password": {"vault": {"path": "acumatica/test"}},
        },
        "verification_settings": {"mode": "sometimes", "entity": "1bad"},
    }
    result = provider.check(props)
    reasons = [failure.reason for failure in result.failures]
    got = {tuple(reason.split(": ", 1)) for reason in reasons}
    assert got == validate_messages(spec_document(props), tmp_path)
    paths = [reason.split(": ", 1)[0] for reason in reasons]
    # one failure per field, but every problem of the properties string (issue 12)
    assert paths.count("extra_connection_properties") == 2
    assert len(paths) == len(set(paths)) + 1
    assert {"company", "url", "page_size", "authentication.password.vault.key"} <= set(paths)
    for failure in result.failures:
        path = failure.reason.split(": ", 1)[0]
        expected = path if path in PLAIN_PROPERTIES else ""
        assert failure.property == expected, failure


def test_oauth_needs_a_callback_base(provider: ProviderServer, sandbox: Sandbox) -> None:
    props = oauth_props(sandbox.url)
    del props["callback_base_url"]
    result = provider.check(props)
    assert [(f.property, f.reason.split(":")[0]) for f in result.failures] == [
        ("", "callback_base_url")
    ]
    assert "required because authentication.strategy is oauth2" in result.failures[0].reason


def test_failures_never_point_the_engine_at_a_value_with_credentials(
    provider: ProviderServer,
) -> None:
    """The engine prints "property X value {V}" for a failure's property: never for a URL
    with credentials, connection properties or a mapping that may hold a secret."""
    typed_in = "Typed-in-7c1e-secret"
    props = basic_props(
        f"https://admin:{typed_in}@erp.example.com",
        extra_connection_properties=f"Password={typed_in};",
        vault={"address": f"https://root:{typed_in}@vault.example.com", "timeout": -1},
        callback_base_url=f"https://x:{typed_in}@bi.example.com",
    )
    props["authentication"] = {"strategy": "basic", "password": typed_in}
    result = provider.check(props)
    by_path = {f.reason.split(": ", 1)[0]: f for f in result.failures}
    assert set(by_path) >= {
        "url",
        "extra_connection_properties",
        "authentication.username",
        "vault.timeout",
        "callback_base_url",
    }
    for failure in result.failures:
        assert failure.property == "", failure
        assert typed_in not in failure.reason
    assert "must not contain credentials" in by_path["url"].reason


def test_unknowns_are_skipped_and_what_is_known_is_computed(
    provider: ProviderServer, sandbox: Sandbox
) -> None:
    props = oauth_props(sandbox.url, page_size=UNKNOWN)
    props["authentication"] = {**props["authentication"], "client_secret": UNKNOWN}
    result = provider.check(props)
    assert result.failures == []
    inputs = result.inputs
    assert inputs["page_size"] == UNKNOWN
    assert inputs["authentication"]["client_secret"] == UNKNOWN
    assert inputs["data_source_id"] == OAUTH_ID
    assert inputs["callback_url"] == f"{CALLBACK_BASE}/oauth/callback/{OAUTH_ID}"

    # An unknown description without an explicit id: the id and callback are unknown too.
    props = oauth_props(sandbox.url, description=UNKNOWN, data_source_id=None)
    inputs = provider.checked(props)
    assert inputs["data_source_id"] == UNKNOWN
    assert inputs["callback_url"] == UNKNOWN

    # Unknown where a rule would fail is not reported; known mistakes still are.
    props = basic_props(UNKNOWN, company=UNKNOWN, page_size=-1)
    props["authentication"] = UNKNOWN
    result = provider.check(props)
    assert [f.reason.split(":")[0] for f in result.failures] == ["page_size"]


def test_check_needs_no_network(
    provider: ProviderServer, world: Control, bao: OpenBaoServer
) -> None:
    before = bao.audited_requests("secret/data/acumatica/test")
    provider.checked(basic_props("https://unreachable.invalid"))
    assert world.requests() == []
    assert bao.audited_requests("secret/data/acumatica/test") == before


# -- Configure -------------------------------------------------------------------------------


def peak_sessions(control: Control, action: Any) -> int:
    """Run ``action`` while polling the sandbox's open sessions; the highest count seen."""
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, control.open_sessions())
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        action()
    finally:
        done.set()
        poller.join()
    return peak


def create_two_at_once(server: ProviderServer, sandbox: Sandbox) -> None:
    errors: list[BaseException] = []

    def one(name: str) -> None:
        try:
            server.up(basic_props(sandbox.url, description=name), name=name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_configure_sets_the_default_mode_and_sessions_per_site(
    tmp_path: Path, bao: OpenBaoServer, sandbox: Sandbox, world: Control, provider: ProviderServer
) -> None:
    world.fault(path="/entity/Default/*", method="GET", status=None, delay_ms=400, times=None)
    # The shared server has no stack config: strict, one session per site at a time.
    assert provider.checked(basic_props(sandbox.url))["verification_settings"]["mode"] == "strict"
    assert peak_sessions(world, lambda: create_two_at_once(provider, sandbox)) == 1

    home = tmp_path / "home"
    home.mkdir()
    with running_provider(make_provider_env(home, bao), tmp_path) as server:
        server.configure({"acumatica:verificationMode": "warn", "acumatica:sessionsPerSite": "2"})
        inputs = server.checked(basic_props(sandbox.url))
        assert inputs["verification_settings"]["mode"] == "warn"
        # An explicit mode wins over the stack's default.
        explicit = basic_props(sandbox.url, verification_settings={"mode": "strict"})
        assert server.checked(explicit)["verification_settings"]["mode"] == "strict"
        assert peak_sessions(world, lambda: create_two_at_once(server, sandbox)) == 2
        # warn by default: a failed verification is recorded, not refused.
        wrong = basic_props(sandbox.url, description="wrong")
        wrong["authentication"] = {
            **wrong["authentication"],
            "password": vault_ref("wrong_password"),
        }
        _, outputs = server.up(wrong)
        assert outputs["verification"]["status"] == "failed"
    world.clear_faults()


def test_configure_refuses_bad_settings_cleanly(
    tmp_path: Path, bao: OpenBaoServer, sandbox: Sandbox
) -> None:
    import grpc

    home = tmp_path / "home"
    home.mkdir()
    with running_provider(make_provider_env(home, bao), tmp_path) as server:
        server.configure({"acumatica:sessionsPerSite": "0"})
        with pytest.raises(grpc.RpcError) as caught:
            server.check(basic_props(sandbox.url))
        details = caught.value.details()
        assert "acumatica:sessionsPerSite must be a whole number of at least 1" in details
        assert "Traceback" not in details


def test_oauth_client_id_must_match_the_company(provider: ProviderServer, sandbox: Sandbox) -> None:
    props = oauth_props(sandbox.url, company="OTHER")
    props["verification_settings"] = {}
    result = provider.check(props)
    assert [f.reason for f in result.failures] == [
        "authentication.client_id: the tenant after '@' (ACME) must be the company (OTHER)"
    ]
    assert CODE_CLIENT_ID.endswith("@ACME")
