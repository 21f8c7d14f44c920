"""OAuth through the client: OpenID document, token grants, the bogus-code secret check, the
authorize probe, bearer sessions and their logout."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from tests.support.sandbox import (
    CODE_CLIENT_ID,
    CODE_CLIENT_SECRET,
    PASSWORD,
    PASSWORD_CLIENT_ID,
    PASSWORD_CLIENT_SECRET,
    REDIRECT_URI,
    TENANT,
    USER,
    authorization_code,
)
from tests.support.site import LOGOUT, TOKEN, Leaks, Recorder, Site, make_client

from acumatica_datasource.acumatica import OAuthError, ProtocolError, RequestTimeout

SCOPE = "api offline_access"
PAGE = "/entity/Default/24.200.001/UnitsOfMeasure"


def test_openid_configuration(site: Site, leaks: Leaks) -> None:
    with make_client(site.url) as client:
        document = client.openid_configuration()
        assert document["token_endpoint"].endswith("/identity/connect/token")
        site.control.fault(path="/identity/.well-known/*", status=404, body="Not Found")
        with leaks.raises(ProtocolError) as info:
            client.openid_configuration()
    assert "OAuth" in str(info.value)


def test_password_grant_bearer_read_and_logout(site: Site) -> None:
    recorder = Recorder()
    with make_client(site.url, transport=recorder) as client:
        token = client.password_token(
            client_id=PASSWORD_CLIENT_ID,
            client_secret=PASSWORD_CLIENT_SECRET,
            username=USER,
            password=PASSWORD,
            scope=SCOPE,
        )
        assert token.refresh_token and token.expires_in == 3600
        assert token.access_token not in repr(token)
        with client.bearer_session(token, user=USER, tenant=TENANT) as session:
            records = session.read("UnitsOfMeasure", version="24.200.001", top=3)
            assert len(records) == 3 and site.open_sessions() == 1
    assert site.paths() == [("POST", TOKEN), ("GET", PAGE), ("POST", LOGOUT)]
    _, _, headers, body = recorder.sent[-1]
    assert headers["authorization"] == f"Bearer {token.access_token}"
    assert headers["content-length"] == "0" and body == b""


def test_refresh_rotates_the_token(site: Site, leaks: Leaks) -> None:
    with httpx.Client(base_url=site.url, timeout=5) as http:
        code = authorization_code(http)
    with make_client(site.url) as client:
        first = client.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": CODE_CLIENT_ID,
                "client_secret": CODE_CLIENT_SECRET,
            },
            client_id=CODE_CLIENT_ID,
            action="redeem the code",
        )
        assert first.refresh_token is not None
        second = client.refresh(
            client_id=CODE_CLIENT_ID,
            client_secret=CODE_CLIENT_SECRET,
            refresh_token=first.refresh_token,
        )
        assert second.refresh_token not in (None, first.refresh_token)
        with leaks.raises(OAuthError) as info:  # the old one died with the rotation
            client.refresh(
                client_id=CODE_CLIENT_ID,
                client_secret=CODE_CLIENT_SECRET,
                refresh_token=first.refresh_token,
            )
        assert info.value.error == "invalid_grant" and CODE_CLIENT_ID in str(info.value)
        with client.bearer_session(second, user=USER, tenant=TENANT) as session:
            session.read("UnitsOfMeasure", version="24.200.001", top=1)


def test_bad_user_password_in_the_password_grant(site: Site, leaks: Leaks) -> None:
    wrong = "wrong-password-77"
    leaks.add(wrong)
    with make_client(site.url) as client, leaks.raises(OAuthError) as info:
        client.password_token(
            client_id=PASSWORD_CLIENT_ID,
            client_secret=PASSWORD_CLIENT_SECRET,
            username=USER,
            password=wrong,
            scope=SCOPE,
        )
    assert info.value.error == "invalid_grant"
    assert PASSWORD_CLIENT_ID in str(info.value) and "admin" in str(info.value)


def test_the_bogus_code_check(site: Site) -> None:
    with make_client(site.url) as client:

        def answer(client_id: str, secret: str) -> str:
            return client.test_client_secret(
                client_id=client_id, client_secret=secret, redirect_uri=REDIRECT_URI
            )

        assert answer(CODE_CLIENT_ID, CODE_CLIENT_SECRET) == "invalid_grant"
        assert answer(CODE_CLIENT_ID, "not-the-secret") == "invalid_client"
        assert answer(PASSWORD_CLIENT_ID, PASSWORD_CLIENT_SECRET) == "unauthorized_client"
        unknown = "00000000-0000-0000-0000-000000000000@ACME"
        assert answer(unknown, CODE_CLIENT_SECRET) == "invalid_client"
    assert site.paths() == [("POST", TOKEN)] * 4
    assert site.control.state()["grants"] == 0


def test_the_authorize_probe(site: Site) -> None:
    with make_client(site.url) as client:
        registered = client.probe_authorize(
            client_id=CODE_CLIENT_ID, redirect_uri=REDIRECT_URI, scope=SCOPE
        )
        assert registered.registered is True and registered.status == 200
        missing = client.probe_authorize(
            client_id=CODE_CLIENT_ID,
            redirect_uri="https://bi.example.com/oauth/callback/other",
            scope=SCOPE,
        )
        assert missing.registered is False and missing.status == 400


def test_a_timed_out_refresh_warns_that_the_token_may_have_rotated(
    site: Site, leaks: Leaks
) -> None:
    site.control.fault(path=TOKEN, status=None, when="after", delay_ms=1500)
    leaks.add("some-refresh-token-value")
    with make_client(site.url, timeout=0.3) as client, leaks.raises(RequestTimeout) as info:
        client.refresh(
            client_id=CODE_CLIENT_ID,
            client_secret=CODE_CLIENT_SECRET,
            refresh_token="some-refresh-token-value",
        )
    assert "rotated the refresh token" in str(info.value)
    assert site.paths() == [("POST", TOKEN)]


def test_a_token_session_is_closed_on_errors(make_site: Callable[..., Site]) -> None:
    site = make_site(license={"api_users": 1, "bearer_slot": "token"})
    with make_client(site.url) as client:
        token = client.password_token(
            client_id=PASSWORD_CLIENT_ID,
            client_secret=PASSWORD_CLIENT_SECRET,
            username=USER,
            password=PASSWORD,
            scope=SCOPE,
        )
        assert site.open_sessions() == 1  # this site opens the session with the token
        try:
            with client.bearer_session(token, user=USER, tenant=TENANT):
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    assert site.paths()[-1] == ("POST", LOGOUT)
