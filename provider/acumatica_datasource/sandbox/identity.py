"""The OAuth 2.0 / OpenID Connect endpoints under ``/identity``.

Token endpoint order, as the real server does it: the client is authenticated first
(``invalid_client``), then the grant type is checked (``unsupported_grant_type`` for types
the server has not got at all, ``unauthorized_client`` for types the application's flow does
not allow), then the scope (``invalid_scope``), and only then the grant itself
(``invalid_grant``). A failed client authentication answers 401 when the client used HTTP
Basic and 400 when it posted its credentials in the form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import math
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_plus, urlencode

from aiohttp import web

from acumatica_datasource.sandbox.responses import (
    html_page,
    json_response,
    login_limit,
    oauth_error,
)
from acumatica_datasource.sandbox.state import (
    FLOW_GRANTS,
    SUPPORTED_SCOPES,
    AppState,
    AuthCode,
    Grant,
    World,
)

DEFAULT_SCOPES = ("api",)
TOKEN_GRANTS = ("authorization_code", "password", "refresh_token")
_PKCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_FORM_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
)


def _base(request: web.Request, world: World) -> str:
    return f"{request.scheme}://{request.host}{world.config.instance_path}"


async def identity(request: web.Request, world: World, sub_path: str) -> web.Response:
    """Dispatch ``/identity/...``; ``sub_path`` is the part after ``/identity``."""
    route = sub_path.rstrip("/").casefold()
    if route == "/.well-known/openid-configuration":
        return _discovery(request, world)
    if route == "/.well-known/openid-configuration/jwks":
        return json_response({"keys": []})
    if route == "/connect/authorize":
        if request.method not in ("GET", "POST"):
            return web.Response(status=405, text="Method Not Allowed")
        return await _authorize(request, world)
    if route == "/connect/token":
        if request.method != "POST":
            return web.Response(status=405, text="Method Not Allowed")
        return await _token(request, world)
    if route == "/connect/userinfo":
        if request.method not in ("GET", "POST"):
            return web.Response(status=405, text="Method Not Allowed")
        return await _userinfo(request, world)
    return web.Response(status=404, text="Not Found")


def _discovery(request: web.Request, world: World) -> web.Response:
    issuer = f"{_base(request, world)}/identity"
    return json_response(
        {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/.well-known/openid-configuration/jwks",
            "authorization_endpoint": f"{issuer}/connect/authorize",
            "token_endpoint": f"{issuer}/connect/token",
            "userinfo_endpoint": f"{issuer}/connect/userinfo",
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code", "token"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": [
                "authorization_code",
                "password",
                "refresh_token",
                "implicit",
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
    )


def _scopes(raw: str | None) -> tuple[str, ...] | None:
    """The requested scopes (default ``api``), or None when one is unknown."""
    if raw is None or not raw.strip():
        return DEFAULT_SCOPES
    scopes = tuple(dict.fromkeys(raw.split()))
    if any(scope not in SUPPORTED_SCOPES for scope in scopes):
        return None
    return scopes


def _ensure_slot(world: World, grant: Grant) -> web.Response | None:
    """With ``bearer_slot: token``, open the grant's session now (or refuse at the limit)."""
    if world.config.license.bearer_slot != "token" or world.grant_session(grant) is not None:
        return None
    if not world.slot_available():
        return login_limit(world.config)
    world.open_grant_session(grant)
    return None


# ---------------------------------------------------------------------------- authorize


def _redirect(uri: str, params: Mapping[str, str | None], fragment: bool = False) -> web.Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "#" if fragment else ("&" if "?" in uri else "?")
    location = f"{uri}{separator}{query}"
    return web.Response(status=302, headers={"Location": location})


def _error_page(message: str) -> web.Response:
    return html_page(
        "Error",
        f'<h1>Error</h1>\n<p class="error">{html.escape(message)}</p>\n'
        "<p>The sign-in request cannot be processed. Contact the application's owner.</p>",
        status=400,
    )


def _login_form(
    request: web.Request, world: World, app: AppState, params: Mapping[str, str], error: str | None
) -> web.Response:
    hidden = "\n".join(
        f'  <input type="hidden" name="{name}" value="{html.escape(params[name])}">'
        for name in _FORM_PARAMS
        if name in params
    )
    error_html = f'<p class="error">{html.escape(error)}</p>\n' if error else ""
    action = f"{world.config.instance_path}/identity/connect/authorize"
    body = (
        f"<h1>Sign in to {html.escape(app.tenant)}</h1>\n"
        f"<p>{html.escape(app.name or app.client_id)} asks to access your data.</p>\n"
        f"{error_html}"
        f'<form method="post" action="{html.escape(action)}">\n{hidden}\n'
        '  <label>Username <input type="text" name="username"></label>\n'
        '  <label>Password <input type="password" name="password"></label>\n'
        '  <button type="submit" name="button" value="login">Sign In</button>\n'
        "</form>"
    )
    return html_page("Sign In", body)


async def _authorize(request: web.Request, world: World) -> web.Response:
    if request.method == "POST":
        text = (await request.read()).decode("utf-8", errors="replace")
        params = dict(parse_qsl(text, keep_blank_values=True))
    else:
        params = {key: request.query.getone(key) for key in request.query}
    client_id = params.get("client_id", "")
    app = world.app(client_id) if client_id else None
    if app is None:
        return _error_page("Unknown client or client not enabled.")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        return _error_page("Invalid redirect_uri: it is not registered for this application.")
    state = params.get("state")
    response_type = params.get("response_type", "")
    fragment = response_type == "token"
    if response_type not in ("code", "token"):
        return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
    expected = {"authorization_code": "code", "implicit": "token"}.get(app.flow)
    if response_type != expected:
        return _redirect(redirect_uri, {"error": "unauthorized_client", "state": state}, fragment)
    scopes = _scopes(params.get("scope"))
    if scopes is None:
        return _redirect(redirect_uri, {"error": "invalid_scope", "state": state}, fragment)
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or "plain"
    if challenge is not None and (
        method not in ("S256", "plain")
        or not 43 <= len(challenge) <= 128
        or not set(challenge) <= _PKCE_CHARS
    ):
        return _redirect(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "invalid code_challenge",
                "state": state,
            },
            fragment,
        )
    if request.method == "GET":
        return _login_form(request, world, app, params, None)
    username = params.get("username", "")
    outcome = world.check_user(app.tenant, username, params.get("password", ""))
    if outcome != "ok":
        message = {
            "locked": "Your account is locked out. Please contact your system administrator.",
            "must_change": "You need to change your password.",
        }.get(outcome, "Invalid credentials. Please try again.")
        return _login_form(request, world, app, params, message)
    user = world.user(app.tenant, username)
    user_name = user.name if user else username
    if response_type == "code":
        code = world.new_code(
            AuthCode(
                client_id=app.client_id,
                redirect_uri=redirect_uri,
                tenant=app.tenant,
                user=user_name,
                scopes=scopes,
                challenge=challenge,
                challenge_method=method,
                expires_at=world.clock() + world.config.authorization_code_lifetime_s,
            )
        )
        return _redirect(redirect_uri, {"code": code, "scope": " ".join(scopes), "state": state})
    implicit_scopes = tuple(scope for scope in scopes if scope != "offline_access")
    grant = world.new_grant(app, user_name, implicit_scopes)
    refused = _ensure_slot(world, grant)
    if refused is not None:
        world.revoke_grant(grant.id)
        return _redirect(
            redirect_uri,
            {"error": "access_denied", "error_description": "API Login Limit", "state": state},
            fragment=True,
        )
    access, _ = world.issue_tokens(grant)
    return _redirect(
        redirect_uri,
        {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": str(_lifetime(world)),
            "scope": " ".join(implicit_scopes),
            "state": state,
        },
        fragment=True,
    )


# -------------------------------------------------------------------------------- token


def _lifetime(world: World) -> int:
    return max(1, math.ceil(world.config.access_token_lifetime_s))


def _basic(request: web.Request) -> tuple[str, str] | bool | None:
    """Basic client credentials: (id, secret), None when absent, False when malformed."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.casefold() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return False
    return unquote_plus(client_id), unquote_plus(secret)


def _secret_ok(app: AppState, secret: str | None) -> bool:
    if not app.secrets:
        return not secret
    if secret is None:
        return False
    return any(secrets.compare_digest(secret.encode(), known.encode()) for known in app.secrets)


def _pkce_ok(code: AuthCode, verifier: str | None) -> bool:
    if code.challenge is None:
        return verifier is None
    if verifier is None or not 43 <= len(verifier) <= 128 or not set(verifier) <= _PKCE_CHARS:
        return False
    if code.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return secrets.compare_digest(computed, code.challenge)
    return secrets.compare_digest(verifier, code.challenge)


def _token_response(world: World, grant: Grant) -> web.Response:
    access, refresh = world.issue_tokens(grant)
    body: dict[str, object] = {
        "access_token": access,
        "expires_in": _lifetime(world),
        "token_type": "Bearer",
        "scope": " ".join(grant.scopes),
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _token(request: web.Request, world: World) -> web.Response:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().casefold()
    if content_type != "application/x-www-form-urlencoded":
        return oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded")
    text = (await request.read()).decode("utf-8", errors="replace")
    pairs = parse_qsl(text, keep_blank_values=True)
    names = [name for name, _ in pairs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        return oauth_error("invalid_request", f"repeated parameter: {', '.join(duplicated)}")
    form = dict(pairs)

    # 1. the client
    basic = _basic(request)
    if basic is False:
        return oauth_error(
            "invalid_client", status=401, headers={"WWW-Authenticate": 'Basic realm="identity"'}
        )
    if isinstance(basic, tuple):
        if "client_secret" in form:
            return oauth_error("invalid_request", "use one client authentication method")
        if form.get("client_id") not in (None, basic[0]):
            return oauth_error("invalid_request", "client_id does not match the Basic credentials")
        client_id: str = basic[0]
        secret: str | None = basic[1]
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
    app = world.app(client_id) if client_id else None
    if app is None or not _secret_ok(app, secret):
        if isinstance(basic, tuple):
            return oauth_error(
                "invalid_client", status=401, headers={"WWW-Authenticate": 'Basic realm="identity"'}
            )
        return oauth_error("invalid_client")

    # 2. the grant type against the application's flow
    grant_type = form.get("grant_type", "")
    if not grant_type:
        return oauth_error("invalid_request", "grant_type is missing")
    if grant_type not in TOKEN_GRANTS:
        return oauth_error("unsupported_grant_type")
    if grant_type not in FLOW_GRANTS[app.flow]:
        return oauth_error("unauthorized_client")

    # 3. the scope
    requested = _scopes(form.get("scope"))
    if requested is None:
        return oauth_error("invalid_scope")

    # 4. the grant itself
    if grant_type == "password":
        return _password_grant(world, app, form, requested)
    if grant_type == "authorization_code":
        return _code_grant(world, app, form)
    return _refresh_grant(world, app, form)


def _password_grant(
    world: World, app: AppState, form: Mapping[str, str], scopes: tuple[str, ...]
) -> web.Response:
    username, password = form.get("username"), form.get("password")
    if username is None or password is None:
        return oauth_error("invalid_request", "username and password are required")
    outcome = world.check_user(app.tenant, username, password)
    if outcome == "must_change":
        return oauth_error("invalid_grant", "password_change_required")
    if outcome != "ok":
        return oauth_error("invalid_grant", "invalid_username_or_password")
    user = world.user(app.tenant, username)
    grant = world.new_grant(app, user.name if user else username, scopes)
    refused = _ensure_slot(world, grant)
    if refused is not None:
        world.revoke_grant(grant.id)
        return refused
    return _token_response(world, grant)


def _code_grant(world: World, app: AppState, form: Mapping[str, str]) -> web.Response:
    value = form.get("code")
    if not value:
        return oauth_error("invalid_request", "code is missing")
    code = world.codes.get(value)
    if code is None or code.expires_at <= world.clock():
        return oauth_error("invalid_grant")
    if code.used:
        # RFC 6749 4.1.2: a reused code revokes what it produced.
        if code.grant_id is not None:
            world.revoke_grant(code.grant_id)
        return oauth_error("invalid_grant")
    if code.client_id.casefold() != app.client_id.casefold():
        return oauth_error("invalid_grant")
    if form.get("redirect_uri") != code.redirect_uri:
        return oauth_error("invalid_grant", "redirect_uri does not match")
    if not _pkce_ok(code, form.get("code_verifier")):
        return oauth_error("invalid_grant", "invalid code_verifier")
    user = world.user(code.tenant, code.user)
    if user is None or user.locked:
        return oauth_error("invalid_grant")
    code.used = True
    grant = world.new_grant(app, code.user, code.scopes)
    code.grant_id = grant.id
    refused = _ensure_slot(world, grant)
    if refused is not None:
        world.revoke_grant(grant.id)
        return refused
    return _token_response(world, grant)


def _refresh_grant(world: World, app: AppState, form: Mapping[str, str]) -> web.Response:
    token = form.get("refresh_token")
    if not token:
        return oauth_error("invalid_request", "refresh_token is missing")
    grant = world.refresh_grant(token)
    if grant is None or grant.client_id.casefold() != app.client_id.casefold():
        return oauth_error("invalid_grant")
    if form.get("scope"):
        narrowed = _scopes(form.get("scope"))
        if narrowed is None or not set(narrowed) <= set(grant.scopes):
            return oauth_error("invalid_scope")
    refused = _ensure_slot(world, grant)
    if refused is not None:
        return refused
    return _token_response(world, grant)


# ----------------------------------------------------------------------------- userinfo


async def _userinfo(request: web.Request, world: World) -> web.Response:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.casefold() != "bearer" and request.method == "POST":
        text = (await request.read()).decode("utf-8", errors="replace")
        token = dict(parse_qsl(text)).get("access_token", "")
    grant = world.bearer_grant(token.strip())
    if grant is None:
        return web.Response(
            status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if "openid" not in grant.scopes:
        return web.Response(
            status=403, headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
        )
    claims: dict[str, object] = {
        "sub": f"{grant.user}@{grant.tenant}",
        "name": grant.user,
        "preferred_username": grant.user,
        "tenant": grant.tenant,
    }
    if "email" in grant.scopes:
        claims["email"] = f"{grant.user.lower()}@{grant.tenant.lower()}.example.com"
    return json_response(claims)
