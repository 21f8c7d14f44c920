"""OAuth 2.0 / OpenID Connect under /identity (DESIGN.md section 4)."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.support.sandbox import (
    CODE_CLIENT_ID,
    CODE_CLIENT_SECRET,
    PASSWORD_CLIENT_ID,
    PASSWORD_CLIENT_SECRET,
    REDIRECT_URI,
    Control,
    SandboxFactory,
    authorization_code,
    logout,
    password_token,
    pkce_pair,
)

TOKEN = "/identity/connect/token"
AUTHORIZE = "/identity/connect/authorize"
STOCK = "/entity/Default/24.200.001/StockItem"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _code_exchange(
    client: httpx.Client, code: str, verifier: str | None, secret: str = CODE_CLIENT_SECRET
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": CODE_CLIENT_ID,
        "client_secret": secret,
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return client.post(TOKEN, data=data)


def test_openid_configuration(client: httpx.Client) -> None:
    response = client.get("/identity/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    base = str(client.base_url).rstrip("/")
    assert doc["issuer"] == f"{base}/identity"
    assert doc["authorization_endpoint"] == f"{base}/identity/connect/authorize"
    assert doc["token_endpoint"] == f"{base}/identity/connect/token"
    assert doc["userinfo_endpoint"] == f"{base}/identity/connect/userinfo"
    assert "client_credentials" not in doc["grant_types_supported"]
    assert {"authorization_code", "password", "refresh_token"} <= set(doc["grant_types_supported"])
    assert doc["code_challenge_methods_supported"] == ["S256", "plain"]
    assert set(doc["scopes_supported"]) >= {
        "api",
        "offline_access",
        "api:concurrent_access",
        "openid",
        "email",
        "profile",
        "phone",
    }


def test_password_grant_token_works_for_entities_and_logout(
    client: httpx.Client, control: Control
) -> None:
    response = password_token(client)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "api offline_access"
    assert body["refresh_token"]
    assert response.headers["Cache-Control"] == "no-store"
    page = client.get(STOCK, params={"$top": 2}, headers=_bearer(body["access_token"]))
    assert page.status_code == 200
    assert len(page.json()) == 2
    assert control.state()["sessions"][0]["client_id"] == PASSWORD_CLIENT_ID
    assert logout(client, headers=_bearer(body["access_token"])).status_code == 204
    assert control.open_sessions() == 0


def test_no_refresh_token_without_offline_access(client: httpx.Client) -> None:
    body = password_token(client, scope="api").json()
    assert "refresh_token" not in body
    assert body["scope"] == "api"


def test_password_grant_bad_user_is_invalid_grant(client: httpx.Client) -> None:
    response = password_token(client, password="wrong")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_client_is_authenticated_before_the_grant(client: httpx.Client) -> None:
    good = _code_exchange(client, "bogus-code", None)
    assert good.status_code == 400
    assert good.json()["error"] == "invalid_grant"
    bad = _code_exchange(client, "bogus-code", None, secret="wrong")
    assert bad.status_code in (400, 401)
    assert bad.json()["error"] == "invalid_client"
    unknown = client.post(
        TOKEN,
        data={
            "grant_type": "password",
            "client_id": "00000000-0000-0000-0000-000000000000@ACME",
            "client_secret": "x",
            "username": "admin",
            "password": "secret1",
        },
    )
    assert unknown.json()["error"] == "invalid_client"


def test_http_basic_client_authentication(client: httpx.Client, control: Control) -> None:
    data = {"grant_type": "password", "username": "admin", "password": "secret1"}
    good = client.post(TOKEN, data=data, auth=(PASSWORD_CLIENT_ID, PASSWORD_CLIENT_SECRET))
    assert good.status_code == 200
    bad = client.post(TOKEN, data=data, auth=(PASSWORD_CLIENT_ID, "nope"))
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in bad.headers
    encoded = base64.b64encode(b"garbage").decode()
    broken = client.post(TOKEN, data=data, headers={"Authorization": f"Basic {encoded}"})
    assert broken.json()["error"] == "invalid_client"
    assert control.open_sessions() == 0


def test_unauthorized_client_when_the_grant_does_not_match_the_flow(
    client: httpx.Client,
) -> None:
    code_app_password_grant = password_token(
        client, client_id=CODE_CLIENT_ID, client_secret=CODE_CLIENT_SECRET
    )
    assert code_app_password_grant.json()["error"] == "unauthorized_client"
    password_app_code_grant = client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "client_id": PASSWORD_CLIENT_ID,
            "client_secret": PASSWORD_CLIENT_SECRET,
            "code": "whatever",
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert password_app_code_grant.json()["error"] == "unauthorized_client"


def test_implicit_app_has_no_token_endpoint_grants(make_sandbox: SandboxFactory) -> None:
    implicit_id = "11111111-2222-3333-4444-555555555555@ACME"
    site = make_sandbox(
        tenant={
            "connected_apps": [
                {
                    "client_id": implicit_id,
                    "name": "SPA",
                    "flow": "implicit",
                    "redirect_uris": ["https://spa.example.com/cb"],
                }
            ]
        }
    )
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        response = client.post(
            TOKEN,
            data={
                "grant_type": "password",
                "client_id": implicit_id,
                "username": "admin",
                "password": "secret1",
            },
        )
        assert response.json()["error"] == "unauthorized_client"
        form = client.get(
            AUTHORIZE,
            params={
                "client_id": implicit_id,
                "response_type": "token",
                "redirect_uri": "https://spa.example.com/cb",
                "state": "s",
            },
        )
        assert form.status_code == 200
        posted = client.post(
            AUTHORIZE,
            data={
                "client_id": implicit_id,
                "response_type": "token",
                "redirect_uri": "https://spa.example.com/cb",
                "state": "s",
                "username": "admin",
                "password": "secret1",
            },
        )
        assert posted.status_code == 302
        fragment = parse_qs(urlsplit(posted.headers["location"]).fragment)
        token = fragment["access_token"][0]
        assert fragment["state"] == ["s"]
        assert client.get(STOCK, params={"$top": 1}, headers=_bearer(token)).status_code == 200
        assert logout(client, headers=_bearer(token)).status_code == 204
        assert control.open_sessions() == 0


def test_unsupported_grant_type_and_invalid_scope(client: httpx.Client) -> None:
    credentials = {"client_id": PASSWORD_CLIENT_ID, "client_secret": PASSWORD_CLIENT_SECRET}
    response = client.post(TOKEN, data={"grant_type": "client_credentials", **credentials})
    assert response.json()["error"] == "unsupported_grant_type"
    assert password_token(client, scope="api bogus").json()["error"] == "invalid_scope"
    missing = client.post(TOKEN, data=credentials)
    assert missing.json()["error"] == "invalid_request"
    as_json = client.post(TOKEN, json={"grant_type": "password", **credentials})
    assert as_json.json()["error"] == "invalid_request"


def test_refresh_tokens_rotate_and_keep_the_session(client: httpx.Client, control: Control) -> None:
    first = password_token(client).json()
    assert (
        client.get(STOCK, params={"$top": 1}, headers=_bearer(first["access_token"])).status_code
        == 200
    )
    refresh = {
        "grant_type": "refresh_token",
        "client_id": PASSWORD_CLIENT_ID,
        "client_secret": PASSWORD_CLIENT_SECRET,
    }
    second_response = client.post(TOKEN, data={**refresh, "refresh_token": first["refresh_token"]})
    assert second_response.status_code == 200
    second = second_response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # the used refresh token is dead
    reused = client.post(TOKEN, data={**refresh, "refresh_token": first["refresh_token"]})
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # the refreshed token continues the same session (and slot)
    page = client.get(STOCK, params={"$top": 1}, headers=_bearer(second["access_token"]))
    assert page.status_code == 200
    assert control.open_sessions() == 1
    # the new refresh token works once more
    third = client.post(TOKEN, data={**refresh, "refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    assert logout(client, headers=_bearer(third.json()["access_token"])).status_code == 204
    assert control.open_sessions() == 0


def test_refresh_token_of_another_client_is_invalid_grant(make_sandbox: SandboxFactory) -> None:
    other_id = "99999999-8888-7777-6666-555555555555@ACME"
    site = make_sandbox(
        tenant={
            "connected_apps": [
                {"client_id": PASSWORD_CLIENT_ID, "flow": "password", "secrets": ["v3rify"]},
                {"client_id": other_id, "flow": "password", "secrets": ["other"]},
            ]
        }
    )
    with httpx.Client(base_url=site.url) as client:
        refresh_token = password_token(client).json()["refresh_token"]
        response = client.post(
            TOKEN,
            data={
                "grant_type": "refresh_token",
                "client_id": other_id,
                "client_secret": "other",
                "refresh_token": refresh_token,
            },
        )
        assert response.json()["error"] == "invalid_grant"


def test_access_tokens_expire(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(access_token_lifetime_s=0.3)
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        body = password_token(client).json()
        assert body["expires_in"] == 1
        headers = _bearer(body["access_token"])
        assert client.get(STOCK, params={"$top": 1}, headers=headers).status_code == 200
        time.sleep(0.4)
        assert client.get(STOCK, params={"$top": 1}, headers=headers).status_code == 401
        assert client.get("/identity/connect/userinfo", headers=headers).status_code == 401
        assert control.expire_sessions() == 1
        assert control.open_sessions() == 0


def test_unknown_bearer_is_401(client: httpx.Client) -> None:
    response = client.get(STOCK, headers=_bearer("not-a-token"))
    assert response.status_code == 401


def test_authorization_code_round_trip_with_pkce(client: httpx.Client, control: Control) -> None:
    verifier, challenge = pkce_pair()
    code = authorization_code(client, code_challenge=challenge)
    # a wrong verifier fails and does not burn the code
    wrong = _code_exchange(client, code, pkce_pair()[0])
    assert wrong.json()["error"] == "invalid_grant"
    response = _code_exchange(client, code, verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"]
    page = client.get(STOCK, params={"$top": 1}, headers=_bearer(body["access_token"]))
    assert page.status_code == 200
    # codes are single-use
    assert _code_exchange(client, code, verifier).json()["error"] == "invalid_grant"
    assert logout(client, headers=_bearer(body["access_token"])).status_code == 204
    assert control.open_sessions() == 0


def test_authorization_code_with_plain_pkce_and_without_pkce(client: httpx.Client) -> None:
    params = {
        "client_id": CODE_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "st",
        "username": "admin",
        "password": "secret1",
    }
    verifier = "v" * 50
    posted = client.post(
        AUTHORIZE, data={**params, "code_challenge": verifier, "code_challenge_method": "plain"}
    )
    code = parse_qs(urlsplit(posted.headers["location"]).query)["code"][0]
    assert _code_exchange(client, code, verifier).status_code == 200
    code = authorization_code(client)
    assert _code_exchange(client, code, None).status_code == 200


def test_code_is_bound_to_redirect_uri_and_client(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(
        tenant={
            "connected_apps": [
                {
                    "client_id": CODE_CLIENT_ID,
                    "flow": "authorization_code",
                    "secrets": [CODE_CLIENT_SECRET],
                    "redirect_uris": [REDIRECT_URI, "https://bi.example.com/other"],
                },
                {
                    "client_id": "12345678-1234-1234-1234-123456789012@ACME",
                    "flow": "authorization_code",
                    "secrets": ["two"],
                    "redirect_uris": [REDIRECT_URI],
                },
            ]
        }
    )
    with httpx.Client(base_url=site.url) as client:
        code = authorization_code(client)
        other_uri = client.post(
            TOKEN,
            data={
                "grant_type": "authorization_code",
                "client_id": CODE_CLIENT_ID,
                "client_secret": CODE_CLIENT_SECRET,
                "code": code,
                "redirect_uri": "https://bi.example.com/other",
            },
        )
        assert other_uri.json()["error"] == "invalid_grant"
        other_client = client.post(
            TOKEN,
            data={
                "grant_type": "authorization_code",
                "client_id": "12345678-1234-1234-1234-123456789012@ACME",
                "client_secret": "two",
                "code": code,
                "redirect_uri": REDIRECT_URI,
            },
        )
        assert other_client.json()["error"] == "invalid_grant"


def test_codes_are_short_lived(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(authorization_code_lifetime_s=0.2)
    with httpx.Client(base_url=site.url) as client:
        code = authorization_code(client)
        time.sleep(0.3)
        assert _code_exchange(client, code, None).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "params",
    [
        {"redirect_uri": "https://evil.example.com/cb"},
        {"redirect_uri": REDIRECT_URI + "/"},
        {"redirect_uri": None},
        {"client_id": "00000000-0000-0000-0000-000000000000@ACME"},
        {"client_id": PASSWORD_CLIENT_ID},
    ],
)
def test_authorize_error_page_never_redirects(
    client: httpx.Client, params: dict[str, str | None]
) -> None:
    query = {
        "client_id": CODE_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "s",
        **params,
    }
    response = client.get(AUTHORIZE, params={k: v for k, v in query.items() if v is not None})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


def test_authorize_shows_a_login_form_and_rejects_bad_credentials(client: httpx.Client) -> None:
    query = {
        "client_id": CODE_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "s",
    }
    form = client.get(AUTHORIZE, params=query)
    assert form.status_code == 200
    assert "<form" in form.text
    assert 'type="password"' in form.text
    bad = client.post(AUTHORIZE, data={**query, "username": "admin", "password": "nope"})
    assert bad.status_code == 200
    assert "Invalid credentials" in bad.text
    assert "location" not in bad.headers


def test_authorize_redirects_errors_after_the_redirect_uri_is_trusted(
    client: httpx.Client,
) -> None:
    query = {"client_id": CODE_CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s"}
    wrong_type = client.get(AUTHORIZE, params={**query, "response_type": "token"})
    assert wrong_type.status_code == 302
    assert parse_qs(urlsplit(wrong_type.headers["location"]).fragment)["error"] == [
        "unauthorized_client"
    ]
    bad_scope = client.get(AUTHORIZE, params={**query, "response_type": "code", "scope": "x"})
    assert parse_qs(urlsplit(bad_scope.headers["location"]).query)["error"] == ["invalid_scope"]


def test_userinfo(client: httpx.Client, control: Control) -> None:
    token = password_token(client, scope="openid email api").json()["access_token"]
    info = client.get("/identity/connect/userinfo", headers=_bearer(token))
    assert info.status_code == 200
    assert info.json()["preferred_username"] == "admin"
    assert "email" in info.json()
    no_openid = password_token(client, scope="api").json()["access_token"]
    assert client.get("/identity/connect/userinfo", headers=_bearer(no_openid)).status_code == 403
    # userinfo is identity, not API: it takes no license slot
    assert control.open_sessions() == 0
