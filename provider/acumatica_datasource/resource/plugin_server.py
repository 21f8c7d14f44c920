"""Serving the plugin: the SDK's provider servicer (``pulumi.provider.experimental``) on a
loopback port, printed on stdout for the engine, until the engine goes away.

Three things are added to the SDK's serving loop:

* errors reach the engine as their message alone: the SDK's servicer appends the Python
  stack to every error (and grpc logs it on stderr, which the engine shows), so each call is
  wrapped and a failure answers with the provider's message (ACUMATICA_DS_DEBUG=1 keeps the
  stack);
* warnings are the engine's diagnostics, attached to the resource (``Engine.Log``);
* the plugin exits when the engine goes away: it asks the engine's health service every
  :data:`HEALTH_INTERVAL` seconds (as the Go provider SDK does) and watches its parent
  process, and on SIGTERM or SIGINT it stops too. Operations in progress finish first, so
  every Acumatica login still ends with its logout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.resource.lifecycle import (
    DataSourceError,
    warn_on_stderr,
)
from acumatica_datasource.resource.package_schema import PLUGIN_VERSION
from acumatica_datasource.resource.plugin import PLUGIN, DataSourcePlugin

HEALTH_INTERVAL = 1.0
"""Seconds between two checks that the engine is still there."""
HEALTH_FAILURES = 3
"""Consecutive failed checks after which the engine counts as gone."""
HEALTH_METHOD = "/grpc.health.v1.Health/Check"

_SERVED = (
    "GetSchema",
    "CheckConfig",
    "DiffConfig",
    "Configure",
    "Check",
    "Diff",
    "Create",
    "Read",
    "Update",
    "Delete",
)


def _message(error: BaseException) -> str:
    """What the user sees of a failed call: the provider's own message, else a short line."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DataSourceError):
            return str(seen)
        seen = seen.__context__
    original = error.__context__ or error
    return (
        f"{PLUGIN} failed unexpectedly ({type(original).__name__}); run again with "
        f"{variables.DEBUG}=1 and report the output"
    )


def _clean_errors(name: str) -> Callable[..., Awaitable[Any]]:
    served = getattr(ProviderServicer, name)

    async def call(self: ProviderServicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await served(self, request, context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure answers with a message
            if os.environ.get(variables.DEBUG):
                traceback.print_exc()
            await context.abort(grpc.StatusCode.UNKNOWN, _message(exc))

    call.__name__ = name
    return call


CleanServicer = type(
    "CleanServicer", (ProviderServicer,), {name: _clean_errors(name) for name in _SERVED}
)
"""The SDK's servicer, answering failures with their message and no Python stack."""


class EngineLog:
    """Warnings as the engine's diagnostics (``Engine.Log``), attached to a resource."""

    def __init__(self, address: str) -> None:
        self._channel = grpc.insecure_channel(address, options=_GRPC_CHANNEL_OPTIONS)
        self._engine = engine_pb2_grpc.EngineStub(self._channel)

    def warn(self, urn: str, message: str) -> None:
        """Send a warning; print it on stderr when the engine cannot be reached."""
        request = engine_pb2.LogRequest(
            severity=engine_pb2.LogSeverity.WARNING, message=message, urn=urn
        )
        try:
            self._engine.Log(request, timeout=10)
        except grpc.RpcError:
            warn_on_stderr(message)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


async def engine_gone(address: str, parent: int, interval: float = HEALTH_INTERVAL) -> None:
    """Return once the engine is gone: its health service stops answering (an engine without
    one counts as alive while it answers at all), or this process's parent changed (or is
    init: the engine died before ``parent`` was taken)."""
    failures = 0
    async with grpc.aio.insecure_channel(address) as channel:
        check = channel.unary_unary(
            HEALTH_METHOD, request_serializer=lambda _: b"", response_deserializer=bytes
        )
        while failures < HEALTH_FAILURES:
            await asyncio.sleep(interval)
            now = os.getppid()
            if now != parent or now == 1:
                return
            try:
                await check(None, timeout=max(interval, 5.0))
            except grpc.aio.AioRpcError as exc:
                alive = exc.code() == grpc.StatusCode.UNIMPLEMENTED
                failures = 0 if alive else failures + 1
            else:
                failures = 0


async def serve(engine_address: str) -> None:
    """Serve the plugin until the engine goes away or a signal asks it to stop."""
    log = EngineLog(engine_address)
    plugin = DataSourcePlugin(engine_log=log.warn)
    server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
    servicer = CleanServicer(sys.argv[1:], PLUGIN_VERSION, plugin, engine_address=engine_address)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waits = {
        asyncio.ensure_future(engine_gone(engine_address, os.getppid())),
        asyncio.ensure_future(stop.wait()),
        asyncio.ensure_future(server.wait_for_termination()),
    }
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
        await server.stop(grace=None)
        await loop.shutdown_default_executor()  # operations in progress end (and log out)
        plugin.close()
        log.close()


def serve_plugin(argv: list[str] | None = None) -> None:
    """The plugin's ``main``: ``pulumi-resource-acumatica ENGINE_ADDRESS``."""
    parser = argparse.ArgumentParser(
        prog=PLUGIN,
        description="The Pulumi provider plugin of Acumatica data sources. The Pulumi engine "
        "runs it (found on PATH or through plugins.providers in Pulumi.yaml); it prints its "
        "port and serves the engine at ENGINE_ADDRESS until the engine goes away.",
    )
    parser.add_argument("engine", metavar="ENGINE_ADDRESS", help="the Pulumi engine's address")
    parser.add_argument("--version", action="version", version=PLUGIN_VERSION)
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(known.engine))
