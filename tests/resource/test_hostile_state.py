"""What the provider records in the state when a site echoes secrets and escape sequences
(issue 12, points 1 to 3): a warn-mode create against a hostile site, through the real
dynamic-provider server; every response and the provider's stderr are searched for every
echo form of the password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from tests.resource.conftest import basic_props, vault_ref
from tests.resource.support import ProviderServer
from tests.support.echoes import found_forms
from tests.support.hostile import (
    LOGIN_PATH,
    PAGE_PATH,
    HostileSite,
    echo,
    fixed,
    running_hostile_site,
)
from tests.support.openbao import OpenBaoServer

from acumatica_datasource.sandbox import Sandbox

PASSWORD = 'pw"RT-é93kq  with  spaces'
"""Issue 12's password (a quote and a non-ASCII character) with double spaces."""
HOSTILE_PATH = "acumatica/hostile"


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    with running_hostile_site() as site:
        yield site
        assert site.open_sessions == 0


def hostile_props(
    bao: OpenBaoServer, hostile: HostileSite, description: str, **extra: Any
) -> dict[str, Any]:
    """A Basic data source on the hostile site whose password (:data:`PASSWORD`) is in Vault."""
    bao.put(HOSTILE_PATH, {"password": PASSWORD})
    password = {"vault": {**vault_ref("password")["vault"], "path": HOSTILE_PATH}}
    authentication = {"strategy": "basic", "username": "admin", "password": password}
    return basic_props(hostile.url, description=description, authentication=authentication, **extra)


def test_warn_mode_records_no_echoed_secret_and_no_escape(
    provider: ProviderServer, bao: OpenBaoServer, hostile: HostileSite
) -> None:
    hostile.answer(
        "POST",
        LOGIN_PATH,
        echo(500, "text/plain", wrap=lambda body: f"\x1b]0;owned\x07\x1b[2J rejected {body}"),
    )
    props = hostile_props(bao, hostile, "Hostile", verification_settings={"mode": "warn"})
    start, stderr_start = len(provider.transcript), len(provider.stderr())
    _, outputs = provider.up(props, name="hostile")
    verification = outputs["verification"]
    assert verification["status"] == "failed"
    assert any("rejected" in problem for problem in verification["problems"]), verification
    texts = [text for _, text in provider.transcript[start:]]
    texts += [json.dumps(outputs), json.dumps(outputs, ensure_ascii=False)]
    texts.append(provider.stderr()[stderr_start:])
    assert found_forms([PASSWORD], texts) == []
    assert not [text for text in texts if "\x1b" in text or "\\u001b" in text]


def test_credential_properties_are_references_rendered_as_placeholders(
    provider: ProviderServer, bao: OpenBaoServer, sandbox: Sandbox
) -> None:
    """Issue 12, point 8: a credential among the extra properties comes from Vault; the
    recorded template holds its placeholder, and only the opt-in secret output its value."""
    proxy_secret = "Proxy-7c1e55-secret"
    bao.put("acumatica/proxy", {"password": proxy_secret})
    reference = {"vault": {"path": "acumatica/proxy", "key": "password"}}
    props = basic_props(
        sandbox.url,
        description="With proxy",
        extra_connection_properties={"ProxyPassword": reference, "ProxyUser": "svc"},
        expose_connection_string=True,
    )
    _, outputs = provider.up(props, name="proxy")
    template = outputs["connection_string_template"]
    assert "ProxyPassword={{vault:secret/acumatica/proxy#password}};" in template
    assert f"ProxyPassword={proxy_secret};" in outputs["connection_string"]
    assert outputs["secret_versions"]["vault:secret/acumatica/proxy#password"] == 1
    recorded = {k: v for k, v in outputs.items() if k != "connection_string"}
    assert proxy_secret not in json.dumps(recorded)


def test_pathological_json_is_a_clean_failure_of_one_data_source(
    provider: ProviderServer, bao: OpenBaoServer, hostile: HostileSite
) -> None:
    """Issue 12, point 11: a page of 200,000 nested ``[`` fails create with a message naming
    the answer; no Python traceback reaches the engine (the provider's stderr)."""
    hostile.answer("GET", PAGE_PATH, fixed(b"[" * 200_000))
    props = hostile_props(bao, hostile, "Nested")
    with provider.stderr_since() as lines, pytest.raises(grpc.RpcError) as info:
        provider.up(props, name="nested")
    message = str(info.value.details())  # type: ignore[attr-defined]
    assert "is not JSON (nested too deeply)" in message, message
    assert "Traceback" not in message and "RecursionError" not in message
    assert not [line for line in lines if "Traceback" in line or "RecursionError" in line]
