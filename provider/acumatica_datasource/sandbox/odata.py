"""The OData (v4) interface of Generic Inquiries under ``/t/{tenant}/api/odata/gi``.

* ``GET .../gi`` - the service document: one entity set per inquiry of the tenant's
  ``generic_inquiries`` (none by default, so clients that probe it find an empty list).
* ``GET .../gi/$metadata`` - the CSDL (XML): container ``Default``, one entity type per
  inquiry with its fields as ``Edm`` properties.
* ``GET .../gi/{Inquiry}`` - ``{"@odata.context", "value": [rows]}`` with ``$top``,
  ``$skip``, ``$select`` and ``$filter`` (the contract API's grammar, :mod:`.query`).

Callers authenticate with HTTP Basic (user and password of the tenant), a bearer token of
the tenant or a signed-in cookie session; these requests take no API-user slot. Without
credentials the answer is 401 with a ``WWW-Authenticate: Basic`` challenge; an inquiry the
tenant does not have answers 404.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from aiohttp import web

from acumatica_datasource.sandbox.config import InquiryConfig, TenantConfig
from acumatica_datasource.sandbox.model import Contract, EntityType
from acumatica_datasource.sandbox.query import EDM_TYPES, QueryError, parse_query
from acumatica_datasource.sandbox.responses import json_response
from acumatica_datasource.sandbox.state import World

_NO_CONTRACT: Final = Contract("odata", {}, {})
_TYPE_NAME_RE: Final = re.compile(r"[^A-Za-z0-9_]")


def _odata_error(status: int, message: str, code: str = "") -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status=status)


def _authorized(request: web.Request, world: World, tenant: TenantConfig) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.casefold() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user = user.split("@", 1)[0]
        return world.check_user(tenant.name, user, password) == "ok"
    if scheme.casefold() == "bearer":
        grant = world.bearer_grant(value.strip())
        return grant is not None and grant.tenant.casefold() == tenant.name.casefold()
    session = world.cookie_session(request.cookies.get(".ASPXAUTH"))
    return session is not None and session.tenant.casefold() == tenant.name.casefold()


def _type_name(inquiry: InquiryConfig) -> str:
    return _TYPE_NAME_RE.sub("_", inquiry.name)


def _metadata(tenant: TenantConfig) -> str:
    types = []
    sets = []
    for inquiry in tenant.generic_inquiries:
        name = _type_name(inquiry)
        properties = "".join(
            f"<Property Name={quoteattr(field)} Type={quoteattr(EDM_TYPES[kind])} />"
            for field, kind in inquiry.fields.items()
        )
        types.append(f"<EntityType Name={quoteattr(name)}>{properties}</EntityType>")
        kind = quoteattr(f"Default.{name}")
        sets.append(f"<EntitySet Name={quoteattr(inquiry.name)} EntityType={kind} />")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        "<edmx:DataServices>"
        '<Schema Namespace="Default" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        f"{''.join(types)}"
        f'<EntityContainer Name="Default">{"".join(sets)}</EntityContainer>'
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )


def _feed(request: web.Request, inquiry: InquiryConfig, context: str) -> web.Response:
    entity = EntityType(_type_name(inquiry), dict(inquiry.fields))
    params = {key: request.query.getone(key) for key in request.query}
    try:
        query = parse_query(params, entity, _NO_CONTRACT, {})
    except QueryError as exc:
        return _odata_error(400, exc.message)
    rows = [
        {name: row.get(name) for name in inquiry.fields}
        for row in inquiry.rows
        if query.predicate is None or query.predicate(row)
    ]
    end = None if query.top is None else query.skip + query.top
    selected = set(query.shape.fields)
    value = [
        {name: item[name] for name in inquiry.fields if name in selected}
        for item in rows[query.skip : end]
    ]
    return json_response({"@odata.context": f"{context}#{quote(inquiry.name)}", "value": value})


async def odata(
    request: web.Request, world: World, tenant_name: str, rest: list[str]
) -> web.Response:
    """Serve ``/t/{tenant_name}/api/odata/gi/{rest...}``."""
    tenant = world.login_tenant(tenant_name)
    if tenant is None:
        return _odata_error(404, f"The tenant '{tenant_name}' cannot be found.")
    if request.method not in ("GET", "HEAD"):
        return _odata_error(405, f"The HTTP method '{request.method}' is not allowed here.")
    if not _authorized(request, world, tenant):
        response = _odata_error(401, "Authorization has been denied for this request.")
        response.headers["WWW-Authenticate"] = f'Basic realm="{request.host}"'
        return response
    base = f"{request.scheme}://{request.host}{world.config.instance_path}"
    root = f"{base}/t/{quote(tenant_name)}/api/odata/gi"
    if not rest:
        sets = [
            {"name": inquiry.name, "kind": "EntitySet", "url": quote(inquiry.name)}
            for inquiry in tenant.generic_inquiries
        ]
        return json_response({"@odata.context": f"{root}/$metadata", "value": sets})
    if rest == ["$metadata"]:
        return web.Response(text=_metadata(tenant), content_type="application/xml", charset="utf-8")
    if len(rest) == 1:
        for inquiry in tenant.generic_inquiries:
            if inquiry.name.casefold() == rest[0].casefold():
                return _feed(request, inquiry, f"{root}/$metadata")
    return _odata_error(404, f"The resource '{'/'.join(rest)}' cannot be found.")
