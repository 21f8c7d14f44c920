"""Fixtures for tests that run the real Pulumi engine (see tests/support/pulumi_engine.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.pulumi_engine import (
    EngineSandbox,
    collect_abandoned_programs,
    engine_sandbox,
    locate_cli,
)

from acumatica_datasource.cli.pulumi_cli import PulumiCli


@pytest.fixture(scope="session")
def pulumi_cli() -> PulumiCli:
    """The Pulumi CLI: on PATH, cached, or built once into the cache (minutes, first time)."""
    return locate_cli()


@pytest.fixture
def engine(pulumi_cli: PulumiCli, tmp_path: Path) -> EngineSandbox:
    """An isolated offline engine setup (file backend, PULUMI_HOME, work dir) in tmp_path."""
    return engine_sandbox(pulumi_cli, tmp_path)


@pytest.fixture(autouse=True)
def _collect_abandoned_programs() -> Iterator[None]:
    """Finalize inline programs abandoned by failed runs before the next test (see helper)."""
    yield
    collect_abandoned_programs()
