"""A hostile "Acumatica site" on loopback whose answers a test scripts.

Import as ``from tests.support.hostile import HostileSite, running_hostile_site``.

The site speaks just enough of Acumatica's REST and OAuth contract for the client to reach
the step under attack: ``GET /entity`` (one Default endpoint), session login and logout with a
session cookie, an empty page of any entity, the OpenID configuration and a token endpoint
that issues bearer tokens. It records every request body it receives and counts open sessions
(cookie and bearer), so tests can prove that a session was logged out after the attack.

A test replaces any route with :meth:`HostileSite.answer`: an ``async`` handler receiving the
aiohttp request and the raw body it sent. Helpers build the usual attacks: :func:`echo`
(answer the request body back), :func:`endless` (a body that never ends), :func:`huge`
(``Content-Length`` of gigabytes, body streamed from a small buffer), :func:`dribble` (one
byte per interval). The server runs on its own event loop in a thread and stops on exit.
:func:`verify_command` runs ``acumatica-ds verify`` in a process of its own and measures its
peak memory and wall time (for the tests and ``bench/hostile.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

ENDPOINT_VERSION = "24.200.001"
PAGE_PATH = f"/entity/Default/{ENDPOINT_VERSION}/UnitsOfMeasure"
LOGIN_PATH = "/entity/auth/login"
LOGOUT_PATH = "/entity/auth/logout"
TOKEN_PATH = "/identity/connect/token"
OPENID_PATH = "/identity/.well-known/openid-configuration"
COOKIE = "ASP.NET_SessionId"

Handler = Callable[["HostileSite", web.Request, bytes], Awaitable[web.StreamResponse]]
"""An answer: ``await handler(site, request, body)``."""


@dataclass
class Received:
    """One request the site received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HostileSite:
    """The site's state: scripted routes, received requests, open sessions."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list, repr=False)
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict, repr=False)
    sessions: set[str] = field(default_factory=set, repr=False)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open_sessions(self) -> int:
        return len(self.sessions)

    def answer(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` with ``handler`` from now on."""
        self.routes[(method.upper(), path)] = handler

    def bodies(self, path: str) -> list[bytes]:
        """The bodies received on ``path``, oldest first."""
        return [r.body for r in self.received if r.path == path]

    def open_session(self) -> str:
        token = f"hostile-session-{next(self._counter)}"
        self.sessions.add(token)
        return token

    # --- the default, well-behaved routes ----------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(
            Received(
                request.method, request.path, request.query_string, dict(request.headers), body
            )
        )
        key = (request.method, request.path)
        handler = self.routes.get(key) or DEFAULTS.get(key)
        if handler is None:
            entity = request.method == "GET" and request.path.startswith("/entity/Default/")
            handler = page if entity else not_found
        return await handler(self, request, body)


async def discovery(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
    return web.json_response(
        {
            "version": {"acumaticaBuildVersion": "24.210.0013", "databaseVersion": "24.210.0013"},
            "endpoints": [
                {
                    "name": "Default",
                    "version": ENDPOINT_VERSION,
                    "href": f"/entity/Default/{ENDPOINT_VERSION}/",
                }
            ],
        }
    )


async def login(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
    response = web.Response(status=204)
    response.set_cookie(COOKIE, site.open_session(), httponly=True)
    return response


async def logout(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
    site.sessions.discard(request.cookies.get(COOKIE, ""))
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
    site.sessions.discard(bearer)
    return web.Response(status=204)


async def not_found(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
    return web.json_response({"message": "not found"}, status=404)


async def page(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
    return web.json_response([])


async def openid(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
    return web.json_response(
        {
            "issuer": f"{site.url}/identity",
            "token_endpoint": f"{site.url}{TOKEN_PATH}",
            "grant_types_supported": ["authorization_code", "password", "refresh_token"],
        }
    )


async def token(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
    return web.json_response(
        {"access_token": site.open_session(), "token_type": "Bearer", "expires_in": 3600}
    )


DEFAULTS: dict[tuple[str, str], Handler] = {
    ("GET", "/entity"): discovery,
    ("POST", LOGIN_PATH): login,
    ("POST", LOGOUT_PATH): logout,
    ("GET", OPENID_PATH): openid,
    ("POST", TOKEN_PATH): token,
}


# --- attacks ----------------------------------------------------------------------------------


def echo(
    status: int = 500,
    content_type: str = "text/plain",
    wrap: Callable[[str], str] = lambda text: text,
) -> Handler:
    """Answer the request body back as text, passed through ``wrap`` first."""

    async def handler(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
        text = wrap(body.decode("utf-8"))
        return web.Response(
            status=status, body=text.encode("utf-8"), content_type=content_type, charset="utf-8"
        )

    return handler


def fixed(body: bytes, status: int = 200, content_type: str = "application/json") -> Handler:
    """Always the same answer."""

    async def handler(site: HostileSite, request: web.Request, _body: bytes) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type=content_type)

    return handler


CHUNK = b'{"id":"0","UnitID":{"value":"EA"}},' * 1024


async def _stream(
    request: web.Request, response: web.StreamResponse, total: int | None, chunk: bytes
) -> web.StreamResponse:
    await response.prepare(request)
    sent = 0
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        await response.write(b"[")
        while total is None or sent < total:
            piece = chunk if total is None else chunk[: total - sent]
            await response.write(piece)
            sent += len(piece)
    return response


def endless(chunk: bytes = CHUNK) -> Handler:
    """A chunked 200 JSON body that never ends (until the client goes away)."""

    async def handler(site: HostileSite, request: web.Request, _body: bytes) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        return await _stream(request, response, None, chunk)

    return handler


def huge(size: int, chunk: bytes = CHUNK) -> Handler:
    """A 200 JSON body announcing ``Content-Length: size`` and streaming it from ``chunk``."""

    async def handler(site: HostileSite, request: web.Request, _body: bytes) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = size
        return await _stream(request, response, size - 1, chunk)

    return handler


def dribble(interval: float = 1.0, body: bytes = b"[" + b" " * 100_000 + b"]") -> Handler:
    """A 200 whose body arrives one byte per ``interval`` seconds (slowloris)."""

    async def handler(site: HostileSite, request: web.Request, _body: bytes) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            for index in range(len(body)):
                await response.write(body[index : index + 1])
                await asyncio.sleep(interval)
        return response

    return handler


def json_text(value: Any) -> bytes:
    return json.dumps(value).encode()


@contextlib.contextmanager
def running_hostile_site(host: str = "127.0.0.1") -> Iterator[HostileSite]:
    """A started :class:`HostileSite` on a free port of ``host``; stopped on exit."""
    site = HostileSite(host=host)
    loop = asyncio.new_event_loop()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", site.dispatch)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        tcp = web.TCPSite(runner, host, 0)
        loop.run_until_complete(tcp.start())
        server = tcp._server
        assert server is not None and server.sockets
        site.port = int(server.sockets[0].getsockname()[1])
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="hostile-site", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the hostile site did not start")
    try:
        yield site
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


# --- the command under attack, measured ----------------------------------------------------


@dataclass
class Measured:
    """One ``acumatica-ds verify`` process: exit code, output, peak memory, wall time."""

    code: int
    out: str
    err: str
    peak_bytes: int
    seconds: float


PEAK_PROBE = """
import atexit, runpy, sys
path = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status:
        found = [line.split()[1] for line in status if line.startswith("VmHWM:")]
    with open(path, "w") as out:
        out.write(found[0])
atexit.register(peak)
sys.argv[0] = "acumatica-ds"
runpy.run_module("acumatica_datasource", run_name="__main__")
"""
"""Runs the command and writes its peak resident memory (``VmHWM``, KiB) at exit: the high
water mark of its own address space, which ``wait4``'s ``ru_maxrss`` is not (it keeps the
forking parent's, as the child had it before ``exec``)."""


def verify_command(
    tmp_path: Path,
    sources: list[dict[str, Any]],
    *,
    timeout: float = 120,
    environ: dict[str, str] | None = None,
) -> Measured:
    """``acumatica-ds verify --format json`` in a process of its own, with its peak memory."""
    document = {
        "environment": "dev",
        "callback_base_url": "https://bi.example.com",
        "data_sources": sources,
    }
    file = tmp_path / "dev.yaml"
    file.write_text(yaml.safe_dump(document, sort_keys=False))
    peak = tmp_path / "peak.txt"
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(peak), "verify", str(file), "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **(environ or {})},
        timeout=timeout,
        check=False,
    )
    return Measured(
        code=completed.returncode,
        out=completed.stdout,
        err=completed.stderr,
        peak_bytes=int(peak.read_text()) * 1024,
        seconds=time.monotonic() - started,
    )
