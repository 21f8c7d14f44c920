"""Fixtures for tests that run the real Pulumi engine (see tests/support/pulumi_engine.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.pulumi_engine import (
    collect_abandoned_programs,
)


@pytest.fixture(autouse=True)
def _collect_abandoned_programs() -> Iterator[None]:
    """Finalize inline programs abandoned by failed runs before the next test (see helper)."""
    yield
    collect_abandoned_programs()
