"""The test control API under ``/_sandbox`` (loopback peers only; never logged or faulted).

* ``GET /_sandbox/state`` - open sessions, the sessions, the request log (oldest first;
  each entry has ``method``, ``path`` (no query), ``query`` (the raw query string, as sent),
  ``params`` (decoded), ``status`` and ``duration_ms``).
* ``GET|POST|DELETE /_sandbox/faults`` - list, add (see :mod:`.faults`), clear faults.
* ``POST /_sandbox/reset`` - forget sessions, tokens, codes, faults, the log, the rate
  window and the records written (PUT, DELETE); restore users and applications changed by
  PATCH.
* ``POST /_sandbox/sessions/expire`` - end every open session now.
* ``PATCH /_sandbox/tenants/{tenant}/users/{name}`` - ``password``, ``locked``,
  ``must_change_password``, ``denied_entities``; locking ends the user's sessions and grants.
* ``PATCH /_sandbox/tenants/{tenant}/apps/{client_id}`` - ``secrets``, ``redirect_uris``,
  ``flow``; changing the secrets or the flow ends the application's grants and sessions.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from urllib.parse import unquote

from aiohttp import web

from acumatica_datasource.sandbox.config import FLOWS, Flow
from acumatica_datasource.sandbox.faults import FaultSpecError, parse_fault
from acumatica_datasource.sandbox.responses import json_response
from acumatica_datasource.sandbox.state import World


def _is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> object:
    raw = await request.read()
    if not raw.strip():
        return {}
    return json.loads(raw)


async def control(request: web.Request, world: World, sub_path: str) -> web.Response:
    """Dispatch ``/_sandbox/...``; ``sub_path`` is the part after ``/_sandbox``."""
    if not _is_loopback(request.remote):
        return _error(403, "the control API answers loopback peers only")
    parts = [unquote(part) for part in sub_path.strip("/").split("/") if part]
    method = request.method
    try:
        body = await _json_body(request) if method in ("POST", "PATCH") else {}
    except ValueError:
        return _error(400, "the body must be JSON")
    if parts == ["state"] and method == "GET":
        return json_response(world.snapshot())
    if parts == ["faults"]:
        if method == "GET":
            return json_response({"faults": world.faults.describe()})
        if method == "DELETE":
            world.faults.clear()
            return json_response({"faults": []})
        if method == "POST":
            try:
                fault = parse_fault(body)
            except FaultSpecError as exc:
                return _error(400, str(exc))
            world.faults.add(fault)
            return json_response(fault.describe(), status=201)
    if parts == ["reset"] and method == "POST":
        world.reset()
        return json_response({"reset": True})
    if parts == ["sessions", "expire"] and method == "POST":
        return json_response({"expired": world.expire_all()})
    if len(parts) == 4 and parts[0] == "tenants" and method == "PATCH":
        if not isinstance(body, Mapping):
            return _error(400, "the body must be a JSON object")
        if parts[2] == "users":
            return _patch_user(world, parts[1], parts[3], body)
        if parts[2] == "apps":
            return _patch_app(world, parts[1], parts[3], body)
    known = (
        "GET state",
        "GET|POST|DELETE faults",
        "POST reset",
        "POST sessions/expire",
        "PATCH tenants/{tenant}/users/{name}",
        "PATCH tenants/{tenant}/apps/{client_id}",
    )
    return _error(
        404, f"no control route {method} /_sandbox/{'/'.join(parts)}; known: {'; '.join(known)}"
    )


def _string_list(value: object) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
        return list(value)
    return None


def _patch_user(world: World, tenant: str, name: str, body: Mapping[str, object]) -> web.Response:
    if world.tenant(tenant) is None:
        return _error(404, f"no tenant {tenant!r}")
    user = world.user(tenant, name)
    if user is None:
        return _error(404, f"no user {name!r} in tenant {tenant!r}")
    allowed = ("password", "locked", "must_change_password", "denied_entities")
    problems = [
        f"{key}: unknown key (allowed: {', '.join(allowed)})" for key in body if key not in allowed
    ]
    password = body.get("password", user.password)
    if not isinstance(password, str) or not password:
        problems.append("password: must be a non-empty string")
    locked = body.get("locked", user.locked)
    must_change = body.get("must_change_password", user.must_change_password)
    for key, value in (("locked", locked), ("must_change_password", must_change)):
        if not isinstance(value, bool):
            problems.append(f"{key}: must be true or false")
    denied = _string_list(body.get("denied_entities", user.denied_entities))
    if denied is None:
        problems.append("denied_entities: must be a list of entity names")
    if problems:
        return _error(400, "; ".join(problems))
    was_locked = user.locked
    user.password = str(password)
    user.locked = bool(locked)
    user.must_change_password = bool(must_change)
    user.denied_entities = denied or []
    if user.locked and not was_locked:
        world.end_user(tenant, user.name)
    return json_response(user.describe())


def _patch_app(
    world: World, tenant: str, client_id: str, body: Mapping[str, object]
) -> web.Response:
    app = world.app(client_id)
    if app is None or app.tenant.casefold() != tenant.casefold():
        return _error(404, f"no connected application {client_id!r} in tenant {tenant!r}")
    allowed = ("secrets", "redirect_uris", "flow")
    problems = [
        f"{key}: unknown key (allowed: {', '.join(allowed)})" for key in body if key not in allowed
    ]
    secrets = _string_list(body.get("secrets", app.secrets))
    if secrets is None:
        problems.append("secrets: must be a list of non-empty strings")
    redirect_uris = _string_list(body.get("redirect_uris", app.redirect_uris))
    if redirect_uris is None:
        problems.append("redirect_uris: must be a list of absolute URIs")
    flow = body.get("flow", app.flow)
    if flow not in FLOWS:
        problems.append(f"flow: must be one of {', '.join(FLOWS)}")
    if problems:
        return _error(400, "; ".join(problems))
    changed = (secrets or []) != app.secrets or flow != app.flow
    app.secrets = secrets or []
    app.redirect_uris = redirect_uris or []
    app.flow = _flow(flow)
    if changed:
        world.end_app(app.client_id)
    return json_response(app.describe())


def _flow(value: object) -> Flow:
    if value == "password":
        return "password"
    if value == "implicit":
        return "implicit"
    return "authorization_code"
