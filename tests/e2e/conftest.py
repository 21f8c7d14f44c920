"""End-to-end fixtures: the real Pulumi engine driven by ``acumatica-ds``, the sandbox and
OpenBao, each started on free loopback ports and stopped by process id.

The helpers live in :mod:`tests.support.e2e` (shared with tests/resilience)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.e2e import (
    CLIENT_ID,
    PASSPHRASE,
    SECRETS,
    Run,
    World,
    e2e_tenant,
    environment,
    running_world,
)
from tests.support.pulumi_engine import collect_abandoned_programs

from acumatica_datasource.tooling import PulumiCli

__all__ = ["CLIENT_ID", "PASSPHRASE", "SECRETS", "Run", "World", "environment"]


@pytest.fixture
def world(tmp_path: Path, pulumi_cli: PulumiCli) -> Iterator[World]:
    """Sandbox + OpenBao with the quickstart-like secrets; checks no session is left open."""
    with running_world(tmp_path, pulumi_cli, tenant=e2e_tenant()) as world:
        yield world
        assert world.control.open_sessions() == 0, "a scenario left an Acumatica session open"
    collect_abandoned_programs()
