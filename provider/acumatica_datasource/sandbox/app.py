"""The aiohttp application: one dispatcher that logs, injects faults, rate-limits and routes.

Order for every request outside ``/_sandbox``: log it; apply a ``when: before`` fault (delay,
drop or replace the answer); count it against ``requests_per_minute`` (logout excepted, as the
license documentation excepts sign-out requests) and answer 429 beyond it; run the handler;
apply a ``when: after`` fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from acumatica_datasource.sandbox.api import discovery, entity_request, login, logout
from acumatica_datasource.sandbox.config import SandboxConfig
from acumatica_datasource.sandbox.control import control
from acumatica_datasource.sandbox.faults import Fault
from acumatica_datasource.sandbox.identity import identity
from acumatica_datasource.sandbox.odata import odata
from acumatica_datasource.sandbox.pages import login_page
from acumatica_datasource.sandbox.responses import (
    aspnet_error,
    json_response,
    reason,
    retry_after_headers,
)
from acumatica_datasource.sandbox.state import RequestEntry, World


@dataclass(frozen=True)
class RequestEvent:
    """One answered request, for a request log (the command line prints these)."""

    method: str
    path: str
    query: str
    status: int | None
    duration_ms: float


RequestHook = Callable[[RequestEvent], None]

WORLD_KEY = web.AppKey("world", World)
HOOK_KEY = web.AppKey("on_request", object)


class _Dropped(Exception):
    """The fault asked for the connection to be aborted."""


def _site_path(path: str, instance_path: str) -> str | None:
    """The path inside the site, or None when ``path`` is outside the instance path."""
    if not instance_path:
        return path
    folded, prefix = path.casefold(), instance_path.casefold()
    if folded == prefix:
        return "/"
    if folded.startswith(prefix + "/"):
        return path[len(instance_path) :]
    return None


async def _route(request: web.Request, world: World, site_path: str) -> web.Response:
    trimmed = site_path.rstrip("/") or "/"
    folded = trimmed.casefold()
    if folded == "/entity":
        return await discovery(request, world)
    if folded == "/entity/auth/login":
        return await login(request, world)
    if folded == "/entity/auth/logout":
        return await logout(request, world)
    if folded.startswith("/entity/"):
        parts = [part for part in trimmed.split("/") if part]
        return await entity_request(request, world, parts)
    if folded == "/identity" or folded.startswith("/identity/"):
        return await identity(request, world, trimmed[len("/identity") :])
    if folded == "/frames/login.aspx":
        return login_page(request, world)
    parts = [part for part in trimmed.split("/") if part]
    if (
        len(parts) >= 5
        and parts[0] == "t"
        and [p.casefold() for p in parts[2:5]]
        == [
            "api",
            "odata",
            "gi",
        ]
    ):
        return await odata(request, world, unquote(parts[1]), [unquote(p) for p in parts[5:]])
    return web.Response(status=404, text="Not Found", content_type="text/plain")


def _fault_response(fault: Fault) -> web.Response:
    status = fault.status or 503
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
    if not fault.has_body:
        return web.Response(status=status, text=reason(status), headers=headers)
    if isinstance(fault.body, str):
        return web.Response(status=status, text=fault.body, headers=headers)
    return json_response(fault.body, status=status, headers=headers)


async def _apply(fault: Fault, request: web.Request) -> web.Response | None:
    """Delay, then drop or replace; None means pass the real answer through."""
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000.0)
    if fault.reset:
        raise _Dropped
    if fault.status is None:
        return None
    return _fault_response(fault)


async def _serve(request: web.Request, world: World, path: str, site_path: str) -> web.Response:
    fault = world.faults.take(request.method, (path, site_path))
    if fault is not None and fault.when == "before":
        replaced = await _apply(fault, request)
        if replaced is not None:
            return replaced
    world.purge()
    if site_path.rstrip("/").casefold() != "/entity/auth/logout" and world.rate_limited():
        response = aspnet_error(
            world.config.error_message_style,
            429,
            "The number of API requests per minute exceeds the limit of the license.",
            headers=retry_after_headers(world.config),
        )
    else:
        response = await _route(request, world, site_path)
    if fault is not None and fault.when == "after":
        replaced = await _apply(fault, request)
        if replaced is not None:
            return replaced
    return response


async def _dispatch(request: web.Request) -> web.StreamResponse:
    world = request.app[WORLD_KEY]
    path = request.path
    site_path = _site_path(path, world.config.instance_path)
    if site_path is not None and (site_path == "/_sandbox" or site_path.startswith("/_sandbox/")):
        return await control(request, world, site_path[len("/_sandbox") :])
    entry = RequestEntry(
        method=request.method,
        path=path,
        query=request.rel_url.raw_query_string,
        params=list(request.query.items()),
    )
    world.log.append(entry)
    started = time.perf_counter()
    try:
        if site_path is None:
            response = web.Response(status=404, text="Not Found", content_type="text/plain")
        else:
            response = await _serve(request, world, path, site_path)
        entry.status = response.status
        return response
    except _Dropped:
        entry.status = None
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError from None
    finally:
        entry.duration_ms = (time.perf_counter() - started) * 1000.0
        hook = request.app[HOOK_KEY]
        if callable(hook):
            event = RequestEvent(
                entry.method, entry.path, entry.query, entry.status, entry.duration_ms
            )
            # a broken log sink must not break the site
            with contextlib.suppress(Exception):
                hook(event)


def build_app(config: SandboxConfig, on_request: RequestHook | None = None) -> web.Application:
    """The aiohttp application serving ``config``; ``on_request`` sees every logged request."""
    app = web.Application(client_max_size=1024 * 1024)
    app[WORLD_KEY] = World(config)
    app[HOOK_KEY] = on_request
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app
