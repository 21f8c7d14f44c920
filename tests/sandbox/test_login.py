"""Endpoint discovery, session login and logout (DESIGN.md section 4)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from tests.support.sandbox import Control, SandboxFactory, login, logout

from acumatica_datasource.sandbox import Sandbox

ERROR_KEYS = {"message", "exceptionMessage", "exceptionType", "stackTrace"}


def test_discovery_without_session_lists_default_endpoints(client: httpx.Client) -> None:
    response = client.get("/entity")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == {
        "acumaticaBuildVersion": "24.210.0013",
        "databaseVersion": "24.210.0013",
    }
    versions = [e["version"] for e in body["endpoints"]]
    assert versions == ["20.200.001", "22.200.001", "23.200.001", "24.200.001", "25.200.001"]
    assert body["endpoints"][3] == {
        "name": "Default",
        "version": "24.200.001",
        "href": "/entity/Default/24.200.001/",
    }


def test_discovery_lists_custom_endpoints_only_with_a_session(
    make_sandbox: SandboxFactory,
) -> None:
    site = make_sandbox(endpoints={"Default": ["24.200.001"], "MyEndpoint": ["1.0.0"]})
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        names = {e["name"] for e in client.get("/entity").json()["endpoints"]}
        assert names == {"Default"}
        assert login(client).status_code == 204
        endpoints = client.get("/entity").json()["endpoints"]
        assert {"name": "MyEndpoint", "version": "1.0.0", "href": "/entity/MyEndpoint/1.0.0/"} in (
            endpoints
        )
        records = client.get("/entity/MyEndpoint/1.0.0/StockItem", params={"$top": 1})
        assert records.status_code == 200
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_login_sets_http_only_session_cookies(client: httpx.Client, control: Control) -> None:
    response = login(client)
    assert response.status_code == 204
    cookies = response.headers.get_list("set-cookie")
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert {"ASP.NET_SessionId", ".ASPXAUTH", "UserBranch", "Locale"} <= names
    assert all("HttpOnly" in cookie for cookie in cookies)
    assert control.state()["sessions"] == [
        {
            "tenant": "ACME",
            "user": "admin",
            "kind": "cookie",
            "branch": "HQ",
            "client_id": None,
            "idle_s": pytest.approx(0, abs=5),
        }
    ]
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_login_accepts_form_bodies_and_legacy_company(
    client: httpx.Client, control: Control
) -> None:
    response = client.post(
        "/entity/auth/login",
        data={"name": "admin", "password": "secret1", "company": "ACME", "branch": "HQ"},
    )
    assert response.status_code == 204
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_login_with_tenant_and_company_at_once_is_an_error(
    client: httpx.Client, control: Control
) -> None:
    response = login(client, company="ACME")
    assert response.status_code == 400
    assert "company" in response.json()["message"]
    assert control.open_sessions() == 0


@pytest.mark.parametrize(
    ("name", "password"), [("admin", "wrong"), ("nobody", "secret1"), ("", "")]
)
def test_bad_credentials_answer_500_invalid_credentials(
    client: httpx.Client, control: Control, name: str, password: str
) -> None:
    response = login(client, name=name, password=password)
    assert response.status_code == 500
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert "Invalid credentials" in body["message"]
    assert "Invalid credentials" in body["exceptionMessage"]
    assert body["exceptionType"] == "PX.Data.PXException"
    assert control.open_sessions() == 0


def test_generic_error_style_keeps_the_text_in_exception_message(
    make_sandbox: SandboxFactory,
) -> None:
    site = make_sandbox(error_message_style="generic")
    with httpx.Client(base_url=site.url) as client:
        body = login(client, password="wrong").json()
    assert body["message"] == "An error has occurred."
    assert "Invalid credentials" in body["exceptionMessage"]


def test_single_tenant_site_accepts_any_tenant_name(client: httpx.Client, control: Control) -> None:
    assert login(client, tenant="SomethingElse").status_code == 204
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def _two_tenants() -> dict[str, object]:
    return {
        "tenants": [
            {"name": "ACME", "users": [{"name": "admin", "password": "secret1"}]},
            {"name": "Globex", "users": [{"name": "admin", "password": "other"}]},
        ]
    }


def test_multi_tenant_site_rejects_unknown_tenant(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(**_two_tenants())
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        for tenant in ("Nope", None):
            response = login(client, tenant=tenant)
            assert response.status_code == 500
            assert response.json()["exceptionType"] == "PX.Data.PXUndefinedCompanyException"
        assert login(client, tenant="globex", password="other").status_code == 204
        assert control.state()["sessions"][0]["tenant"] == "Globex"
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_password_change_required_and_locked_user(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(
        tenant={
            "users": [
                {"name": "admin", "password": "secret1", "must_change_password": True},
                {"name": "locked", "password": "pw", "locked": True},
            ]
        }
    )
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        response = login(client)
        assert response.status_code == 500
        assert "change your password" in response.json()["message"]
        response = login(client, name="locked", password="pw")
        assert response.status_code == 500
        assert "locked out" in response.json()["message"]
        assert control.open_sessions() == 0


def test_unknown_branch_is_refused(client: httpx.Client, control: Control) -> None:
    response = login(client, branch="NOPE")
    assert response.status_code == 500
    assert "NOPE" in response.json()["message"]
    assert control.open_sessions() == 0


def test_logout_without_session_answers_204(client: httpx.Client) -> None:
    assert logout(client).status_code == 204


def test_logout_with_a_body_is_refused_with_411(client: httpx.Client, control: Control) -> None:
    assert login(client).status_code == 204
    assert client.post("/entity/auth/logout", content=b"{}").status_code == 411
    assert control.open_sessions() == 1
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_logout_without_content_length_is_refused_with_411(
    site: Sandbox, client: httpx.Client, control: Control
) -> None:
    assert login(client).status_code == 204
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    parts = urlsplit(site.url)
    request = (
        f"POST /entity/auth/logout HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Cookie: {cookie}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as raw:
        raw.sendall(request)
        status_line = raw.makefile("rb").readline()
    assert b" 411 " in status_line
    assert control.open_sessions() == 1
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_session_cookie_is_dead_after_logout(client: httpx.Client, control: Control) -> None:
    assert login(client).status_code == 204
    cookies = dict(client.cookies.items())
    assert logout(client).status_code == 204
    with httpx.Client(base_url=str(client.base_url), cookies=cookies) as replay:
        assert replay.get("/entity/Default/24.200.001/StockItem").status_code == 401
    assert control.open_sessions() == 0


def test_relogin_on_the_same_cookie_jar_replaces_the_session(
    client: httpx.Client, control: Control
) -> None:
    assert login(client).status_code == 204
    assert login(client).status_code == 204
    assert control.open_sessions() == 1
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_instance_path(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(instance_path="/AcumaticaERP")
    assert site.url.endswith("/AcumaticaERP")
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        endpoints = client.get("/entity").json()["endpoints"]
        assert endpoints[0]["href"].startswith("/AcumaticaERP/entity/Default/")
        assert login(client).status_code == 204
        page = client.get("/entity/Default/24.200.001/StockItem", params={"$top": 1})
        assert page.json()[0]["_links"]["self"].startswith("/AcumaticaERP/entity/")
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0
        assert control.requests()[0]["path"] == "/AcumaticaERP/entity"
    outside = httpx.get(site.url.replace("/AcumaticaERP", "/entity"))
    assert outside.status_code == 404
