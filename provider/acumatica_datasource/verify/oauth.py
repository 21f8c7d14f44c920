"""The OAuth 2.0 flow: the OpenID configuration, the client secret, the callback URL's
registration and, with a user for it, a data probe through a bearer session."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from acumatica_datasource.acumatica import (
    AcumaticaClient,
    LogoutFailed,
    OAuthError,
    TokenSet,
    TransportError,
)
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.spec import OAuth2Authentication, VaultSecretRef
from acumatica_datasource.verify.checks import StepFailed
from acumatica_datasource.verify.paging import read_pages
from acumatica_datasource.verify.report import Check, timing

if TYPE_CHECKING:
    from acumatica_datasource.verify.verifier import Verifier

OAUTH_STEPS = ("openid_configuration", "client_secret", "callback_url", "data_probe")
CONNECTED_APPS_FORM = "System Management > Connected Applications (SM303010), Redirect URIs"


def verify_oauth(
    verifier: Verifier, client: AcumaticaClient, auth: OAuth2Authentication, version: str | None
) -> None:
    """Every OAuth check that applies. ``version`` None: discovery failed; the identity checks
    still run unless the site could not be reached at all."""
    checks = verifier.checks
    if version is None and isinstance(checks.last_error, TransportError):
        checks.skip(*OAUTH_STEPS, reason="not run: the site cannot be reached")
        return
    checks.try_step("openid_configuration", lambda check: _openid(client, check))
    checks.try_step("client_secret", lambda check: _client_secret(verifier, client, auth, check))
    _callback(verifier, client, auth)
    if version is None:
        checks.skip("data_probe", reason="not run: endpoint discovery failed")
        return
    _data_probe(verifier, client, auth, version)


def _openid(client: AcumaticaClient, check: Check) -> None:
    document = client.openid_configuration()
    grants = document.get("grant_types_supported")
    check.detail = f"issuer {document.get('issuer', '?')}" + (
        f"; grants: {', '.join(map(str, grants))}" if isinstance(grants, list) else ""
    )


def _client_secret(
    verifier: Verifier, client: AcumaticaClient, auth: OAuth2Authentication, check: Check
) -> None:
    redirect = verifier.callback_url or "https://localhost/acumatica-ds-probe"
    answer = client.test_client_secret(
        client_id=auth.client_id,
        client_secret=verifier.values["client_secret"],
        redirect_uri=redirect,
    )
    reference = verifier.metadata["client_secret"].reference
    if answer == "invalid_grant":
        check.detail = "the client id and secret are accepted (a bogus code gave invalid_grant)"
    elif answer == "invalid_client":
        check.status = "failed"
        check.detail = (
            f"Acumatica rejected client {auth.client_id} with the secret from {reference} "
            "(invalid_client): check authentication.client_id and that the secret matches "
            "one of the application's Secrets"
        )
    elif answer == "unauthorized_client":
        check.status = "failed"
        check.detail = (
            f"connected application {auth.client_id} does not use the Authorization Code "
            "flow (unauthorized_client): data sources need an Authorization Code application"
        )
    else:
        check.status = "warning"
        check.detail = f"inconclusive: the token endpoint answered {answer} to a bogus code"


def _callback(verifier: Verifier, client: AcumaticaClient, auth: OAuth2Authentication) -> None:
    callback = verifier.callback_url
    if callback is None:
        verifier.checks.skip(
            "callback_url", reason="no callback URL (callback_base_url is not set)"
        )
        return

    def probe(check: Check) -> None:
        scope = " ".join(auth.scope)
        result = client.probe_authorize(
            client_id=auth.client_id, redirect_uri=callback, scope=scope
        )
        verifier.report.callback_registered = result.registered
        if result.registered:
            check.detail = f"{callback} is registered ({result.detail})"
        elif result.registered is False:
            check.status = "failed"
            check.detail = (
                f"{callback} is not a Redirect URI of connected application "
                f"{auth.client_id} ({result.detail}): add it in Acumatica under "
                f"{CONNECTED_APPS_FORM}"
            )
        else:
            check.status = "warning"
            check.detail = f"could not tell whether {callback} is registered: {result.detail}"

    verifier.checks.try_step("callback_url", probe)


def _data_probe(
    verifier: Verifier, client: AcumaticaClient, auth: OAuth2Authentication, version: str
) -> None:
    source, checks = verifier.source, verifier.checks
    verification = source.verification
    if verification.login is None and verification.refresh_token is None:
        checks.skip(
            "data_probe",
            reason="no user for the data probe: set verification.login (a password-flow "
            "application's user) or verification.refresh_token to read data",
        )
        return
    logout = Check("logout", "ok", "token session closed")
    # One session slot for the token and its bearer session: a site may open the session
    # (and take a license slot) as soon as it issues the token.
    with client.slot(source.company):
        try:
            token, user = checks.step("token", lambda check: _token(verifier, client, auth, check))
        except StepFailed:
            checks.skip("page", "next_page", "logout", reason="not run: no access token")
            return
        try:
            with contextlib.ExitStack() as open_session:
                # every exit from here on logs the token's session out
                session = open_session.enter_context(
                    client.bearer_session(token, user=user, tenant=source.company)
                )
                if verification.refresh_token is not None and token.refresh_token:
                    checks.try_step(
                        "refresh_token_rotation",
                        lambda check: _store_rotated(verifier, token, check),
                    )
                read = read_pages(session, source, version, checks.redact, may_expire=False)
                checks.record(*read.checks, records_read=read.records)
                with timing(logout):
                    open_session.close()
        except LogoutFailed as exc:
            checks.warn("logout", exc)
            return
    checks.record(logout)


def _token(
    verifier: Verifier, client: AcumaticaClient, auth: OAuth2Authentication, check: Check
) -> tuple[TokenSet, str]:
    login = verifier.source.verification.login
    values = verifier.values
    scope = " ".join(auth.scope)
    if login is not None:
        client_id = login.client_id or auth.client_id
        try:
            token = client.password_token(
                client_id=client_id,
                client_secret=values.get("login.client_secret", values["client_secret"]),
                username=login.username,
                password=values["login.password"],
                scope=scope,
            )
        except OAuthError as exc:
            exc.extend(_password_grant_hint(verifier, exc, own_app=login.client_id is None))
            raise
        check.detail = f"password grant for {login.username} through {client_id}"
        return token, login.username
    try:
        token = client.refresh(
            client_id=auth.client_id,
            client_secret=values["client_secret"],
            refresh_token=values["refresh_token"],
        )
    except OAuthError as exc:
        if exc.error == "invalid_grant":
            stored = verifier.metadata["refresh_token"].reference
            exc.extend(
                f": the refresh token stored at {stored} is expired, revoked or already "
                "rotated; obtain a new one (sign in through the BI server) and store it there"
            )
        raise
    check.detail = f"refresh-token grant through {auth.client_id}"
    return token, "refresh token"


def _password_grant_hint(verifier: Verifier, exc: OAuthError, *, own_app: bool) -> str:
    if exc.error == "invalid_grant":
        stored = verifier.metadata["login.password"].reference
        return (
            ": check verification.login.username and its password "
            f"({stored}), and that the user is neither locked nor due a password change"
        )
    if exc.error == "unauthorized_client":
        if own_app:
            return (
                ": the data source's application does not allow the password grant; set "
                "verification.login.client_id and client_secret to a Resource Owner "
                "Password application"
            )
        return ": verification.login.client_id must be a Resource Owner Password application"
    if exc.error == "invalid_client":
        field_name = "authentication" if own_app else "verification.login"
        return f": check {field_name}.client_id and client_secret"
    return ""


def _store_rotated(verifier: Verifier, token: TokenSet, check: Check) -> None:
    reference = verifier.source.verification.refresh_token
    assert isinstance(reference, VaultSecretRef) and token.refresh_token is not None
    verifier.checks.redact.add(token.refresh_token)
    expected = verifier.metadata["refresh_token"].version
    try:
        stored = verifier.secrets.write(reference, token.refresh_token, expected_version=expected)
    except AcumaticaDataSourceError as exc:
        check.status = "failed"
        check.detail = verifier.checks.redact(
            f"Acumatica rotated the refresh token, so the one stored at "
            f"{reference.describe()} is now invalid, and the new one could not be written "
            f"back ({exc}): obtain a new refresh token and store it there"
        )
        return
    verifier.report.secret_versions[stored.reference] = stored.version
    check.detail = f"stored the rotated refresh token at {stored.reference}" + (
        f" as version {stored.version}" if stored.version else ""
    )
