"""Secrets never reach a message: server text echoing a secret is masked."""

from __future__ import annotations

from tests.support.sandbox import (
    PASSWORD,
    PASSWORD_CLIENT_ID,
    PASSWORD_CLIENT_SECRET,
    TENANT,
    USER,
)
from tests.support.site import LOGIN, TOKEN, Leaks, Site, make_client

from acumatica_datasource.acumatica import (
    CredentialsRejected,
    LoginLimitReached,
    OAuthError,
    UnexpectedServerError,
)
from acumatica_datasource.redaction import MASK, Redactor


def test_redactor_masks_values_and_their_encodings() -> None:
    redact = Redactor(['p@ss w/rd"%', "abc"])
    assert redact('a p@ss w/rd"% b') == f"a {MASK} b"
    assert redact("form: p%40ss+w%2Frd%22%25") == f"form: {MASK}"
    assert redact("url: p%40ss%20w%2Frd%22%25") == f"url: {MASK}"
    assert redact('json: "p@ss w/rd\\"%"') == f'json: "{MASK}"'
    assert redact("abc stays") == "abc stays"  # too short to mask safely
    redact.add("secret1", "secret12")
    assert redact("secret12 secret1") == f"{MASK} {MASK}"
    assert "secret" not in repr(redact)


def test_a_login_error_echoing_the_password_is_masked(site: Site, leaks: Leaks) -> None:
    site.control.fault(
        path=LOGIN,
        status=500,
        body={
            "message": f"Invalid credentials for admin/{PASSWORD}",
            "exceptionMessage": f"password '{PASSWORD}' rejected",
            "exceptionType": "PX.Data.PXException",
        },
    )
    with make_client(site.url) as client, leaks.raises(CredentialsRejected) as info:
        with client.session(username=USER, password=PASSWORD, tenant=TENANT):
            pass
    assert MASK in str(info.value)


def test_a_plain_text_login_limit_echoing_the_password_is_masked(site: Site, leaks: Leaks) -> None:
    site.control.fault(
        path=LOGIN, status=429, times=None, body=f"API Login Limit name=admin&password={PASSWORD}"
    )
    with make_client(site.url, timeout=0.3) as client, leaks.raises(LoginLimitReached) as info:
        with client.session(username=USER, password=PASSWORD, tenant=TENANT):
            pass
    assert MASK in str(info.value)


def test_a_token_error_echoing_the_secret_is_masked(site: Site, leaks: Leaks) -> None:
    site.control.fault(
        path=TOKEN,
        status=400,
        body={
            "error": "invalid_grant",
            "error_description": f"{PASSWORD_CLIENT_SECRET}:{PASSWORD}",
        },
    )
    with make_client(site.url) as client, leaks.raises(OAuthError) as info:
        client.password_token(
            client_id=PASSWORD_CLIENT_ID,
            client_secret=PASSWORD_CLIENT_SECRET,
            username=USER,
            password=PASSWORD,
            scope="api",
        )
    assert f"{MASK}:{MASK}" in str(info.value)


def test_a_read_error_echoing_the_access_token_is_masked(site: Site, leaks: Leaks) -> None:
    with make_client(site.url) as client:
        token = client.password_token(
            client_id=PASSWORD_CLIENT_ID,
            client_secret=PASSWORD_CLIENT_SECRET,
            username=USER,
            password=PASSWORD,
            scope="api",
        )
        leaks.add(token.access_token)
        site.control.fault(
            path="/entity/Default/*",
            status=500,
            body={"message": f"bad token Bearer {token.access_token}", "exceptionType": "X.Y"},
        )
        with client.bearer_session(token, user=USER, tenant=TENANT) as session:
            with leaks.raises(UnexpectedServerError) as info:
                session.read("UnitsOfMeasure", version="24.200.001", top=1)
    assert f"Bearer {MASK}" in str(info.value) and "[X.Y]" in str(info.value)
