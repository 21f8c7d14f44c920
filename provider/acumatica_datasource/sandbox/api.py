"""The contract-based REST API under ``/entity``: discovery, login, logout, and the checks
every entity request passes (who calls, which endpoint and entity, rights, setup) before
:mod:`.entities` serves it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from acumatica_datasource.sandbox.entities import (
    SETUP_NOT_ENTERED_TYPE,
    entity_route,
    method_not_allowed,
    not_found,
    swagger,
)
from acumatica_datasource.sandbox.responses import (
    aspnet_error,
    aspnet_message,
    json_response,
    length_required,
    login_limit,
)
from acumatica_datasource.sandbox.state import Grant, Session, World

NOT_LOGGED_IN = "Authorization has been denied for this request."
INVALID_CREDENTIALS = "Invalid credentials. Please try again."
MUST_CHANGE_MESSAGE = (
    "You need to change your password. Sign in by using your browser to set a new password."
)
LOCKED_OUT = "Your account is locked out. Please contact your system administrator."
UNDEFINED_COMPANY = "A proper company ID cannot be determined."
UNDEFINED_COMPANY_TYPE = "PX.Data.PXUndefinedCompanyException"


@dataclass(frozen=True)
class Caller:
    """Who is calling: a cookie session, a bearer grant, a dead credential, or nobody."""

    session: Session | None = None
    grant: Grant | None = None
    presented: bool = False


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.casefold() == "bearer" and value.strip():
        return value.strip()
    return None


def identify(request: web.Request, world: World) -> Caller:
    """Resolve the caller from the bearer header (first) or the ``.ASPXAUTH`` cookie."""
    token = bearer_token(request)
    if token is not None:
        grant = world.bearer_grant(token)
        return Caller(
            grant=grant, session=world.grant_session(grant) if grant else None, presented=True
        )
    ticket = request.cookies.get(".ASPXAUTH")
    session = world.cookie_session(ticket)
    return Caller(session=session, presented=bool(ticket))


def _site_base(world: World) -> str:
    return world.config.instance_path


# ------------------------------------------------------------------------- discovery


async def discovery(request: web.Request, world: World) -> web.Response:
    """``GET /entity``: version and endpoints; custom endpoints only for a signed-in caller."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    caller = identify(request, world)
    signed_in = caller.session is not None or caller.grant is not None
    if caller.session is not None:
        world.touch(caller.session)
    config = world.config
    endpoints = [
        {"name": name, "version": version, "href": f"{_site_base(world)}/entity/{name}/{version}/"}
        for name, versions in config.endpoints.items()
        for version in versions
        if name == "Default" or signed_in
    ]
    return json_response(
        {
            "version": {
                "acumaticaBuildVersion": config.build_version,
                "databaseVersion": config.effective_database_version,
            },
            "endpoints": endpoints,
        }
    )


# ----------------------------------------------------------------------------- login


class _BadBody(Exception):
    pass


async def _credentials(request: web.Request) -> dict[str, str]:
    body = await request.read()
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().casefold()
    text = body.decode("utf-8", errors="replace")
    if content_type in ("application/json", "text/json") or (
        not content_type and text.lstrip().startswith("{")
    ):
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise _BadBody("The request body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise _BadBody("The request body must be a JSON object.")
        fields: dict[str, str] = {}
        for key, value in data.items():
            if value is None:
                continue
            if isinstance(value, dict | list):
                raise _BadBody(f"The value of '{key}' must be a string.")
            fields[str(key).casefold()] = value if isinstance(value, str) else json.dumps(value)
        return fields
    if content_type == "application/x-www-form-urlencoded":
        return {key.casefold(): value for key, value in parse_qsl(text, keep_blank_values=True)}
    raise _BadBody(
        f"The request entity's media type '{content_type or 'none'}' is not supported for "
        "this resource."
    )


def _cookie_headers(response: web.StreamResponse, session: Session, branch_number: int) -> None:
    response.headers.add(
        "Set-Cookie", f"ASP.NET_SessionId={session.id}; path=/; HttpOnly; SameSite=Lax"
    )
    response.headers.add("Set-Cookie", f".ASPXAUTH={session.auth_ticket}; path=/; HttpOnly")
    response.headers.add("Set-Cookie", f"UserBranch={branch_number}; path=/; HttpOnly")
    response.headers.add(
        "Set-Cookie", f"Locale=Culture={session.locale}&TimeZone=GMTE0000U; path=/; HttpOnly"
    )


def _expire_cookies(response: web.StreamResponse) -> None:
    for name in (".ASPXAUTH", "UserBranch"):
        response.headers.add(
            "Set-Cookie", f"{name}=; expires=Mon, 11-Oct-1999 00:00:00 GMT; path=/; HttpOnly"
        )


async def login(request: web.Request, world: World) -> web.Response:
    """``POST /entity/auth/login`` with JSON or form fields name/password/tenant|company."""
    if request.method != "POST":
        return method_not_allowed(request)
    style = world.config.error_message_style
    try:
        fields = await _credentials(request)
    except _BadBody as exc:
        status = 415 if "media type" in str(exc) else 400
        return aspnet_message(status, str(exc))
    tenant_name = fields.get("tenant", "")
    company = fields.get("company", "")
    if tenant_name and company:
        return aspnet_message(
            400, "Specify the tenant either as 'tenant' or as 'company' (legacy), not both."
        )
    tenant = world.login_tenant(tenant_name or company)
    if tenant is None:
        return aspnet_error(style, 500, UNDEFINED_COMPANY, UNDEFINED_COMPANY_TYPE)
    name = fields.get("name", "")
    password = fields.get("password", "")
    outcome = world.check_user(tenant.name, name, password) if name else "unknown"
    if outcome in ("unknown", "bad_password"):
        return aspnet_error(style, 500, INVALID_CREDENTIALS)
    if outcome == "locked":
        return aspnet_error(style, 500, LOCKED_OUT)
    if outcome == "must_change":
        return aspnet_error(style, 500, MUST_CHANGE_MESSAGE)
    branch = tenant.branches[0]
    requested_branch = fields.get("branch", "")
    if requested_branch:
        matching = [b for b in tenant.branches if b.casefold() == requested_branch.casefold()]
        if not matching:
            return aspnet_error(
                style, 500, f"The branch '{requested_branch}' cannot be found in the system."
            )
        branch = matching[0]
    previous = world.cookie_session(request.cookies.get(".ASPXAUTH"))
    if previous is not None:
        world.end_session(previous.id)
    if not world.slot_available():
        return login_limit(world.config)
    user = world.user(tenant.name, name)
    session = world.new_session(
        "cookie",
        tenant=tenant.name,
        user=user.name if user else name,
        branch=branch,
        locale=fields.get("locale") or "en-US",
    )
    response = web.Response(status=204)
    _cookie_headers(response, session, tenant.branches.index(branch) + 1)
    return response


async def logout(request: web.Request, world: World) -> web.Response:
    """``POST /entity/auth/logout``: ends the cookie or bearer session; 204 even without one."""
    if request.method != "POST":
        return method_not_allowed(request)
    has_length = "Content-Length" in request.headers or "Transfer-Encoding" in request.headers
    body = await request.read()
    if not has_length or (world.config.logout_rejects_body and body):
        return length_required()
    caller = identify(request, world)
    if caller.session is not None:
        world.end_session(caller.session.id)
    response = web.Response(status=204)
    if bearer_token(request) is None:
        _expire_cookies(response)
    return response


# ---------------------------------------------------------------------------- entities


def _caller_session(world: World, caller: Caller) -> Session | web.Response | None:
    """The session to serve an API request in; opens a bearer grant's session if needed."""
    if caller.grant is not None:
        session = world.grant_session(caller.grant)
        if session is None:
            if not world.slot_available():
                return login_limit(world.config)
            session = world.open_grant_session(caller.grant)
        return session
    return caller.session


async def entity_request(request: web.Request, world: World, parts: list[str]) -> web.Response:
    """``/entity/{Endpoint}/{Version}/...``: swagger.json, then signed-in entity routes."""
    document = swagger(request, world, parts)
    if document is not None:
        return document
    caller = identify(request, world)
    session = _caller_session(world, caller)
    if isinstance(session, web.Response):
        return session
    if session is None:
        return aspnet_message(401, NOT_LOGGED_IN)
    world.touch(session)
    endpoint = world.catalog.endpoint(parts[1], parts[2]) if len(parts) >= 4 else None
    contract = world.catalog.contract(*endpoint) if endpoint is not None else None
    entity = contract.entity(parts[3]) if contract is not None else None
    if endpoint is None or entity is None:
        return not_found(request)
    user = world.user(session.tenant, session.user)
    if user is not None and user.denies(entity.name):
        return aspnet_message(
            403, f"You have insufficient rights to access the object ({entity.name})."
        )
    tenant = world.tenant(session.tenant)
    if tenant is None:
        return aspnet_message(401, NOT_LOGGED_IN)
    if not tenant.setup_complete:
        return aspnet_error(
            world.config.error_message_style,
            500,
            "The required configuration data is not entered on the Company Branches form.",
            SETUP_NOT_ENTERED_TYPE,
        )
    return await entity_route(
        request, world, session=session, endpoint=endpoint, entity=entity, rest=parts[4:]
    )
