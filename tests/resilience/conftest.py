"""Fixtures of the resilience suite and its figures table.

* ``scenario(name, teams=..., **sandbox_overrides)`` starts a :class:`Scenario`: a sandbox
  (the built-in config with a fleet's users and application, plus the overrides), an OpenBao
  dev server holding the teams' secrets, and a state directory. At teardown its figures (runs,
  failures, leaked sessions, secret hits, seconds) go to the session's collector, and the test
  fails if a secret value was found or a session is still open.
* The collector is printed as a table at the end of the run (``pytest_terminal_summary``).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.resilience.support import (
    DEFAULT_TEAMS,
    Collector,
    Figures,
    Team,
    fleet_tenant,
    vault_secrets,
    wait_for_sessions,
)
from tests.support.e2e import World, running_world

from acumatica_datasource.tooling import PulumiCli

COLLECTOR = pytest.StashKey[Collector]()
PASSED = pytest.StashKey[bool]()


@dataclass
class Scenario:
    """A world and the figures of the scenario running in it."""

    world: World
    figures: Figures
    started: float = field(default_factory=time.monotonic)
    hits: list[str] | None = None

    def sessions_left(self, expected: int = 0) -> int:
        """Count the sessions a run left open as leaked; check it is ``expected``."""
        left = self.world.control.open_sessions()
        self.figures.leaked_sessions += left
        assert left == expected, f"{left} session(s) left open, expected {expected}"
        return left

    def secret_hits(self) -> list[str]:
        """Secret values in state, engine logs and output (computed once, at the end)."""
        if self.hits is None:
            self.hits = self.world.secret_hits()
        return self.hits

    def finish(self) -> None:
        """Record the figures."""
        self.figures.count_runs(self.world.runs)
        self.figures.secret_hits = len(self.secret_hits())
        self.figures.seconds = round(time.monotonic() - self.started, 1)


@pytest.fixture(scope="session")
def collector(request: pytest.FixtureRequest) -> Collector:
    return request.config.stash.setdefault(COLLECTOR, Collector())


ScenarioFactory = Callable[..., Scenario]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[PASSED] = report.passed
    return report


@pytest.fixture(autouse=True)
def _verdicts(request: pytest.FixtureRequest, collector: Collector) -> Iterator[None]:
    """Mark the figures a test recorded with whether the test passed (its verdict)."""
    before = len(collector.rows)
    yield
    for figures in collector.rows[before:]:
        figures.verdict_correct = request.node.stash.get(PASSED, False)


@pytest.fixture
def scenario(
    tmp_path: Path, pulumi_cli: PulumiCli, collector: Collector
) -> Iterator[ScenarioFactory]:
    scenarios: list[Scenario] = []
    with contextlib.ExitStack() as stack:

        def start(
            name: str, *, teams: Sequence[Team] = DEFAULT_TEAMS, **overrides: Any
        ) -> Scenario:
            root = tmp_path / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            root.mkdir()
            overrides.setdefault("tenant", fleet_tenant(teams))
            world = stack.enter_context(
                running_world(root, pulumi_cli, vault_secrets=vault_secrets(teams), **overrides)
            )
            started = Scenario(world, collector.scenario(name))
            scenarios.append(started)
            return started

        yield start
        for started in scenarios:
            started.finish()
        for started in scenarios:
            assert started.secret_hits() == [], "secret values found in state or output"
            still_open = wait_for_sessions(started.world, 0)
            assert still_open == 0, f"{still_open} Acumatica session(s) still open"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    found = config.stash.get(COLLECTOR, None)
    if found is None or not found.rows:
        return
    terminalreporter.section("resilience figures")
    for line in found.table():
        terminalreporter.write_line(line)
