"""Fixtures shared by every test directory: the Pulumi CLI and an offline engine setup."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.pulumi_engine import EngineSandbox, engine_sandbox, locate_cli

from acumatica_datasource.tooling import PulumiCli


@pytest.fixture(scope="session")
def pulumi_cli() -> PulumiCli:
    """The Pulumi CLI: on PATH, cached, or built once into the cache (minutes, first time)."""
    return locate_cli()


@pytest.fixture
def engine(pulumi_cli: PulumiCli, tmp_path: Path) -> EngineSandbox:
    """An isolated offline engine setup (file backend, PULUMI_HOME, work dir) in tmp_path."""
    return engine_sandbox(pulumi_cli, tmp_path)
