"""Running the sandbox: in a background thread (:class:`Sandbox`) or blocking (:func:`serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from acumatica_datasource.sandbox.app import RequestHook, build_app
from acumatica_datasource.sandbox.config import SandboxConfig
from acumatica_datasource.sandbox.defaults import default_config

_SHUTDOWN_TIMEOUT_S = 1.0


def _url(host: str, port: int, instance_path: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{instance_path}"


async def _start(
    config: SandboxConfig, host: str, port: int, on_request: RequestHook | None
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(
        build_app(config, on_request), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=512)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, int(bound)


class Sandbox:
    """A sandbox site served from a background thread, for tests and benchmarks.

    ``with Sandbox(config) as sandbox: httpx.get(sandbox.url + "/entity")``. The site runs on
    its own asyncio event loop and serves many clients at once. Quiet unless ``on_request``
    is given.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        on_request: RequestHook | None = None,
    ) -> None:
        self.config = config if config is not None else default_config()
        self.host = host
        self.port = port
        self._on_request = on_request
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The site's base URL, e.g. ``http://127.0.0.1:53124`` (plus any instance path)."""
        if self._runner is None:
            raise RuntimeError("the sandbox is not running: call start() first")
        return _url(self.host, self.port, self.config.instance_path)

    def start(self) -> Sandbox:
        """Start serving; return once the socket listens (raise if it cannot)."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="acumatica-sandbox", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._runner, self.port = loop.run_until_complete(
                _start(self.config, self.host, self.port, self._on_request)
            )
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None
        self._loop = None
        self._runner = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
    on_request: RequestHook | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then return; ``on_ready(url)`` runs once listening."""
    asyncio.run(_serve(config or default_config(), host, port, on_ready, on_request))


async def _serve(
    config: SandboxConfig,
    host: str,
    port: int,
    on_ready: Callable[[str], None] | None,
    on_request: RequestHook | None,
) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stopping.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on POSIX
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stopping.set))
    runner, bound = await _start(config, host, port, on_request)
    try:
        if on_ready is not None:
            on_ready(_url(host, bound, config.instance_path))
        await stopping.wait()
    finally:
        await runner.cleanup()
        for signum in installed:
            loop.remove_signal_handler(signum)
