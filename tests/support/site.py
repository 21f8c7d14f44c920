"""Fixtures and helpers shared by the client tests (tests/acumatica) and the verification
tests (tests/verify). Both conftest files import the fixtures from here.

* ``site``: the shared built-in sandbox, reset before each test; after the test it must report
  ``open_sessions == 0`` (checked in the finalizer).
* ``make_site(**overrides)``: a dedicated sandbox with config overrides, same finalizer.
* ``leaks``: every test runs under it; at the end every log record is searched for every
  known secret value (the sandbox's passwords and client secrets, values the test added, and
  every token the sandboxes issued). Tests search reports and exceptions with it too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from tests.support.sandbox import (
    CODE_CLIENT_SECRET,
    PASSWORD,
    PASSWORD_CLIENT_SECRET,
    Control,
    running_sandbox,
)

from acumatica_datasource.acumatica import AcumaticaClient, DiscoveryCache, SessionGate
from acumatica_datasource.sandbox import Sandbox
from acumatica_datasource.sandbox.app import WORLD_KEY

LOGIN = "/entity/auth/login"
LOGOUT = "/entity/auth/logout"
TOKEN = "/identity/connect/token"
KNOWN_SECRETS = (PASSWORD, CODE_CLIENT_SECRET, PASSWORD_CLIENT_SECRET)


@dataclass
class Site:
    """A running sandbox with its control API."""

    sandbox: Sandbox
    control: Control
    tokens: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return self.sandbox.url

    def log(self) -> list[tuple[str, str, str, int | None]]:
        """``(method, path, query, status)`` of every request, oldest first."""
        return [(r["method"], r["path"], r["query"], r["status"]) for r in self.control.requests()]

    def paths(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request, oldest first."""
        return [(r["method"], r["path"]) for r in self.control.requests()]

    def open_sessions(self) -> int:
        return self.control.open_sessions()

    def collect_tokens(self) -> set[str]:
        """Every access and refresh token the site knows of (for leak checks)."""
        runner = getattr(self.sandbox, "_runner", None)
        if runner is not None:
            world = runner.app[WORLD_KEY]
            for _ in range(3):  # the dicts live on the sandbox's loop: retry a torn read
                try:
                    self.tokens.update(list(world.access_tokens), list(world.refresh_tokens))
                    break
                except RuntimeError:
                    continue
        return self.tokens

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the sandbox never reached the expected state")
            time.sleep(0.01)


SITES: list[Site] = []


class Leaks:
    """Known secret values and the checks that they appear nowhere a user can see."""

    def __init__(self) -> None:
        self.extra: set[str] = set()

    def add(self, *values: str) -> None:
        self.extra.update(values)

    @property
    def secrets(self) -> set[str]:
        values = set(KNOWN_SECRETS) | self.extra
        for site in SITES:
            values |= site.collect_tokens()
        return {value for value in values if len(value) >= 6}

    def check_text(self, text: str, where: str) -> None:
        hits = sorted(value for value in self.secrets if value in text)
        assert not hits, f"secret leaked into {where}: {len(hits)} value(s)"

    def check_exception(self, exc: BaseException) -> BaseException:
        self.check_text("".join(traceback.format_exception(exc)), "a traceback")
        seen: set[int] = set()
        todo = [exc]
        while todo:
            current = todo.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            self.check_text(str(current), f"str({type(current).__name__})")
            self.check_text(repr(current), f"repr({type(current).__name__})")
            for note in getattr(current, "__notes__", []):
                self.check_text(str(note), "an exception note")
            todo.extend(x for x in (current.__cause__, current.__context__) if x is not None)
        return exc

    def check_report(self, report: Any) -> Any:
        self.check_text(json.dumps(report.as_dict()), f"the report of {report.description}")
        self.check_text(repr(report), "repr(report)")
        return report

    def check_records(self, records: Iterable[logging.LogRecord]) -> None:
        formatter = logging.Formatter()
        for record in records:
            self.check_text(record.getMessage(), f"a log record of {record.name}")
            if record.exc_info:
                self.check_text(formatter.formatException(record.exc_info), "a logged exception")

    @contextlib.contextmanager
    def raises(self, expected: type[BaseException]) -> Iterator[pytest.ExceptionInfo[Any]]:
        with pytest.raises(expected) as info:
            yield info
        self.check_exception(info.value)


def _finish(site: Site) -> None:
    open_sessions = site.open_sessions()
    assert open_sessions == 0, f"the test left {open_sessions} session(s) open"


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def site(shared_sandbox: Sandbox) -> Iterator[Site]:
    """The shared built-in sandbox, reset; no session may be left open."""
    with Control(shared_sandbox.url) as control:
        control.reset()
        current = Site(shared_sandbox, control)
        SITES.append(current)
        try:
            yield current
            _finish(current)
        finally:
            current.collect_tokens()


@pytest.fixture
def make_site() -> Iterator[Callable[..., Site]]:
    """``make_site(**overrides)``: dedicated sandboxes, each checked for open sessions."""
    made: list[Site] = []
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> Site:
            sandbox = stack.enter_context(running_sandbox(**overrides))
            control = stack.enter_context(Control(sandbox.url))
            current = Site(sandbox, control)
            made.append(current)
            SITES.append(current)
            return current

        yield start
        for current in made:
            current.collect_tokens()
            _finish(current)


@pytest.fixture(autouse=True)
def leaks(caplog: pytest.LogCaptureFixture) -> Iterator[Leaks]:
    """Every log record of every test is searched for every known secret."""
    caplog.set_level(logging.DEBUG)
    guard = Leaks()
    yield guard
    guard.check_records(caplog.records)
    SITES.clear()


def make_client(url: str, *, timeout: float = 5.0, **kwargs: Any) -> AcumaticaClient:
    """A client with its own gate and no discovery cache (tests stay independent)."""
    kwargs.setdefault("gate", SessionGate())
    kwargs.setdefault("discovery", None)
    return AcumaticaClient(url, timeout=timeout, **kwargs)


class Recorder(httpx.HTTPTransport):
    """An httpx transport that keeps every request it sends (method, path, headers, body)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, str], bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sent.append((request.method, request.url.path, dict(request.headers), body))
        return super().handle_request(request)


class SessionSampler:
    """Samples the sandbox's ``open_sessions`` in a thread; ``peak`` is the highest seen."""

    def __init__(self, site: Site, interval: float = 0.005) -> None:
        self.site = site
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._sampling = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with Control(self.site.url) as control:
            while not self._stop.is_set():
                self.peak = max(self.peak, control.open_sessions())
                self.samples += 1
                self._sampling.set()
                time.sleep(self.interval)

    def __enter__(self) -> SessionSampler:
        # on a busy machine the thread may start late: sample once before the block runs
        self._thread.start()
        assert self._sampling.wait(timeout=30), "the session sampler did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fresh_discovery() -> DiscoveryCache:
    return DiscoveryCache()
