"""Fixtures of the sandbox conformance tests: a fresh default sandbox per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from tests.support.sandbox import Control, SandboxFactory, login, logout, running_sandbox

from acumatica_datasource.sandbox import Sandbox


@pytest.fixture
def make_sandbox() -> Iterator[SandboxFactory]:
    """Start sandboxes with config overrides; all are stopped after the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> Sandbox:
            return stack.enter_context(running_sandbox(**overrides))

        yield start


@pytest.fixture
def site(make_sandbox: SandboxFactory) -> Sandbox:
    """A sandbox with the built-in config."""
    return make_sandbox()


@pytest.fixture
def client(site: Sandbox) -> Iterator[httpx.Client]:
    """A raw httpx client on the default sandbox."""
    with httpx.Client(base_url=site.url, timeout=10.0) as http:
        yield http


@pytest.fixture
def control(site: Sandbox) -> Iterator[Control]:
    """The control API of the default sandbox; the test must leave no session open."""
    with Control(site.url) as ctl:
        yield ctl
        assert ctl.open_sessions() == 0, "the test left a session open"


@pytest.fixture
def session(client: httpx.Client, control: Control) -> Iterator[httpx.Client]:
    """The default client, signed in; signed out afterwards (``control`` checks none is left)."""
    assert login(client).status_code == 204
    yield client
    assert logout(client).status_code == 204
